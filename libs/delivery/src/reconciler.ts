import { Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { QUEUES, deliverJobId } from '@herald/contracts';
import { DeliveryRepository } from '@herald/persistence';
import { HeraldConfig, Metrics } from '@herald/platform';
import { HeraldQueues } from '@herald/queue';

/** Rows looked at per pass; a bigger backlog is worked through over the next passes. */
const PASS_LIMIT = 1000;

/**
 * Postgres is the record; Redis only holds work in progress. When Redis loses data (a restart
 * without persistence, a failover to a replica that was behind), delivery jobs vanish while
 * Postgres still says the deliveries are due. (Fan-out cannot be lost that way: an event keeps its
 * outbox row until its deliveries exist in Postgres.) Every `HERALD_RECONCILE_EVERY_MS` one worker
 * (a Redis lock elects it) re-queues deliveries pending or delivering for more than
 * `HERALD_RECONCILE_AFTER_MS` whose BullMQ job no longer exists. Re-queueing is safe when the job
 * was not lost after all: a delivery job keeps its id, and a job that finds its delivery final
 * does nothing.
 */
@Injectable()
export class Reconciler implements OnApplicationShutdown {
  private readonly logger = new Logger('Reconciler');
  private readonly owner = randomUUID();
  private timer?: NodeJS.Timeout;
  private running?: Promise<unknown>;

  constructor(
    private readonly deliveries: DeliveryRepository,
    private readonly queues: HeraldQueues,
    private readonly config: HeraldConfig,
    private readonly metrics: Metrics,
  ) {}

  start(): void {
    this.timer = setInterval(() => {
      this.running ??= this.pass()
        .catch((err: unknown) => this.logger.warn(`reconcile pass skipped: ${(err as Error).message}`))
        .finally(() => (this.running = undefined));
    }, this.config.reconcileEveryMs);
    this.timer.unref();
  }

  /** One pass; returns how many delivery jobs it re-queued (0 when another worker holds the lock). */
  async pass(): Promise<{ deliveries: number }> {
    const redis = this.queues.connection;
    const lock = `${this.config.queuePrefix}:reconciler:lock`;
    await this.queues.ready();
    if ((await redis.set(lock, this.owner, 'PX', this.config.reconcileEveryMs, 'NX')) !== 'OK') return { deliveries: 0 };

    const unfinished = await this.deliveries.unfinishedSince(this.config.reconcileAfterMs, PASS_LIMIT);
    const pipeline = redis.pipeline();
    for (const d of unfinished) pipeline.exists(`${this.config.queuePrefix}:${QUEUES.deliver}:${deliverJobId(d.id, d.replay)}`);
    const exists = unfinished.length ? ((await pipeline.exec()) ?? []) : [];
    const lost = unfinished.filter((_, i) => exists[i]?.[1] === 0);
    await this.queues.enqueueDeliveries(lost.map((d) => ({ deliveryId: d.id, replay: d.replay })));

    if (lost.length) {
      this.metrics.reconciled.inc({ kind: 'delivery' }, lost.length);
      this.logger.warn({ deliveries: lost.length }, 're-queued delivery jobs that Redis no longer held');
    }
    return { deliveries: lost.length };
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }
}
