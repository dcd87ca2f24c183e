import { Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { deliverJobId } from '@herald/contracts';
import { DeliveryRepository, type UnfinishedCursor } from '@herald/persistence';
import { HeraldConfig, Metrics } from '@herald/platform';
import { HeraldQueues } from '@herald/queue';

/**
 * Unfinished deliveries examined per pass. Only the stale ones (unchanged for
 * HERALD_RECONCILE_AFTER_MS) cost a Redis lookup; the rest only an index entry and a heap fetch.
 */
export const RECONCILE_SCAN_LIMIT = 10_000;

/** How long the scan position is kept in Redis without a pass (a day: longer than any pause between passes). */
const CURSOR_TTL_MS = 24 * 3600 * 1000;

/**
 * Postgres is the record; Redis only holds work in progress. When Redis loses data (a restart
 * without persistence, a failover to a replica that was behind), delivery jobs vanish while
 * Postgres still says the deliveries are due. (Fan-out cannot be lost that way: an event keeps its
 * outbox row until its deliveries exist in Postgres.) Every `HERALD_RECONCILE_EVERY_MS` one worker
 * (a Redis lock elects it) examines the next {@link RECONCILE_SCAN_LIMIT} unfinished deliveries
 * and re-queues those unchanged for more than `HERALD_RECONCILE_AFTER_MS` whose BullMQ job no
 * longer exists.
 *
 * The scan is a keyset walk in (project, delivery id) order whose position is kept in Redis, so
 * whichever worker is elected next goes on where the last pass stopped, and every unfinished
 * delivery is examined within ceil(unfinished / limit) passes whatever the backlog: a project with
 * thousands of deliveries waiting for their next retry cannot hide lost ones behind them. (If
 * Redis loses the position with the rest of its data, the walk starts again from the beginning.)
 *
 * A re-queued job continues its chain: it gets the attempts the schedule has left and waits for
 * the retry time the delivery holds. Re-queueing is safe when the job was not lost after all: a
 * delivery job keeps its id, and the claim lets only one attempt run at a time.
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

  private key(name: 'lock' | 'cursor'): string {
    return `${this.config.queuePrefix}:reconciler:${name}`;
  }

  /**
   * One pass (`scanLimit` is for tests); returns how many delivery jobs it re-queued and how many
   * unfinished deliveries it examined (0 and 0 when another worker holds the lock).
   */
  async pass(scanLimit = RECONCILE_SCAN_LIMIT): Promise<{ deliveries: number; examined: number; wrapped: boolean }> {
    const redis = this.queues.connection;
    await this.queues.ready();
    if ((await redis.set(this.key('lock'), this.owner, 'PX', this.config.reconcileEveryMs, 'NX')) !== 'OK') return { deliveries: 0, examined: 0, wrapped: false };

    const after = parseCursor(await redis.get(this.key('cursor')));
    const examined = await this.deliveries.unfinishedAfter(after, this.config.reconcileAfterMs, scanLimit);
    const stale = examined.filter((d) => d.stale);
    const exists = await this.queues.deliveryJobsExist(stale.map((d) => deliverJobId(d.id, d.replay)));
    const lost = stale.filter((_, i) => !exists[i]);
    await this.queues.enqueueDeliveries(
      lost.map((d) => ({ deliveryId: d.id, replay: d.replay, resume: { attemptsUsed: d.chainAttempts, delayMs: d.dueInMs } })),
    );

    // Fewer than a full scan: the walk reached the end; the next pass starts from the beginning.
    const wrapped = examined.length < scanLimit;
    const last = examined[examined.length - 1];
    if (wrapped) await redis.del(this.key('cursor'));
    else await redis.set(this.key('cursor'), `${last.projectId}:${last.id}`, 'PX', CURSOR_TTL_MS);

    if (lost.length) {
      this.metrics.reconciled.inc({ kind: 'delivery' }, lost.length);
      this.logger.warn({ deliveries: lost.length, examined: examined.length }, 're-queued delivery jobs that Redis no longer held');
    }
    return { deliveries: lost.length, examined: examined.length, wrapped };
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }
}

function parseCursor(raw: string | null): UnfinishedCursor | null {
  const match = raw ? /^(\d+):([0-9a-f-]{36})$/.exec(raw) : null;
  return match ? { projectId: Number(match[1]), id: match[2] } : null;
}
