import { Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import { createHash, randomUUID } from 'node:crypto';
import { deliverJobId } from '@herald/contracts';
import { isUuid } from '@herald/domain';
import { DeliveryRepository, type UnfinishedCursor } from '@herald/persistence';
import { HeraldConfig } from '@herald/platform';
import { HeraldQueues, WorkerCoordination } from '@herald/queue';
import { longestAttemptMs } from './deliver.gate';
import { DeliveryMetrics } from './delivery-metrics';

/**
 * Unfinished deliveries examined per pass. Only the stale ones (unchanged for
 * HERALD_RECONCILE_AFTER_MS) cost a Redis lookup; the rest only an index entry and a heap fetch.
 */
export const RECONCILE_SCAN_LIMIT = 10_000;

/** The lease that elects the worker running a pass, and the scan position it leaves for the next (keys under the queue prefix). */
const LOCK = 'reconciler:lock';
const CURSOR = 'reconciler:cursor';

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
 * A loss that comes with another server (its `run_id` changed: a failover, a restart without
 * persistence) does not wait for HERALD_RECONCILE_AFTER_MS: one worker walks every unfinished
 * delivery at once, and again once the attempts in flight at the change have ended (see `recover`).
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
  /** The wait before the second walk after a server change (a stop ends it at once). */
  private settle?: { timer: NodeJS.Timeout; wake: () => void };
  private running?: Promise<unknown>;
  private stopped = false;
  private unsubscribe?: () => void;
  /** The Redis server last seen (its run_id); null until the first look. */
  private server: string | null = null;
  /** A walk owed since Redis came back as another server: deliveries unchanged since `since` may have lost their jobs. */
  private recovery: { since: number; server: string } | null = null;

  constructor(
    private readonly deliveries: DeliveryRepository,
    private readonly queues: HeraldQueues,
    private readonly shared: WorkerCoordination,
    private readonly config: HeraldConfig,
    private readonly metrics: DeliveryMetrics,
  ) {}

  /** Starts the passes; resolves once it knows which Redis server it talks to (if Redis answers). */
  async start(): Promise<void> {
    this.timer = setInterval(() => {
      // A master replaced inside a cluster keeps the connection up: look at every pass too.
      void this.watchServer();
      this.run();
    }, this.config.reconcileEveryMs);
    this.timer.unref();
    this.unsubscribe = this.queues.onReady(this.onRedisReady);
    await this.watchServer();
  }

  private readonly onRedisReady = () => {
    void this.watchServer();
    // A walk that failed while Redis was away goes again now.
    if (this.recovery) this.run();
  };

  /**
   * A reconnect may reach another server: a Sentinel failover to a replica that was behind, a
   * restart without persistence. Its `run_id` tells. Then the jobs it lacks are looked for at
   * once, rather than after HERALD_RECONCILE_AFTER_MS.
   */
  private async watchServer(): Promise<void> {
    let server: string;
    try {
      server = await this.queues.serverIdentity();
    } catch {
      return; // Redis away: the next 'ready' looks again
    }
    if (this.server !== null && server !== this.server) {
      this.recovery = { since: Date.now(), server };
      this.logger.warn('Redis is another server than before (a failover or a restart): looking now for the delivery jobs it lacks');
      this.run();
    }
    this.server = server;
  }

  /** Runs the walk owed after a server change, or else a regular pass, unless one runs already. */
  private run(): void {
    if (this.stopped || this.running) return;
    const recovery = this.recovery;
    this.recovery = null;
    this.running = (recovery ? this.recover(recovery) : this.pass())
      .catch((err: unknown) => {
        // A walk that failed is owed still (the next pass or Redis' return starts it).
        if (recovery) this.recovery ??= recovery;
        this.logger.warn(`reconcile pass skipped: ${(err as Error).message}`);
      })
      .finally(() => {
        this.running = undefined;
        // A server change seen during a regular pass: walk now.
        if (this.recovery && !recovery) this.run();
      });
  }

  /**
   * One pass (`scanLimit` is for tests); returns how many delivery jobs it re-queued and how many
   * unfinished deliveries it examined (0 and 0 when another worker holds the lock).
   */
  async pass(scanLimit = RECONCILE_SCAN_LIMIT): Promise<{ deliveries: number; examined: number; wrapped: boolean }> {
    if (!(await this.shared.lease(LOCK, this.owner, this.config.reconcileEveryMs))) return { deliveries: 0, examined: 0, wrapped: false };

    const after = parseCursor(await this.shared.mark(CURSOR));
    const result = await this.examine(after, this.config.reconcileAfterMs, scanLimit);
    // Fewer than a full scan: the walk reached the end; the next pass starts from the beginning.
    if (result.wrapped || !result.last) await this.shared.clearMark(CURSOR);
    else await this.shared.setMark(CURSOR, `${result.last.projectId}:${result.last.id}`, CURSOR_TTL_MS);

    if (result.deliveries) this.logger.warn({ deliveries: result.deliveries, examined: result.examined }, 're-queued delivery jobs that Redis no longer held');
    return { deliveries: result.deliveries, examined: result.examined, wrapped: result.wrapped };
  }

  /**
   * After Redis came back as another server, one worker (a lock per new server) walks every
   * unfinished delivery at once, pass after pass, and re-queues those whose job the server lacks,
   * whenever they last changed: an attempt that was in flight at the change may give its claim back
   * (its rate-limit check failed with the old server) after the change was seen, and its job lived
   * only on the old server. (Queueing one twice is harmless: same job id; a job the relay is about
   * to add gets the same options from either.)
   *
   * The same worker walks once more when every attempt in flight at the change has ended, recorded
   * or given back (the longest attempt later): a delivery given back after the first walk looked at
   * it has no job either.
   */
  private async recover({ since, server }: { since: number; server: string }): Promise<void> {
    const lock = `reconciler:recovery:${createHash('sha256').update(server).digest('hex').slice(0, 16)}`;
    if (!(await this.shared.lease(lock, this.owner, this.config.reconcileAfterMs))) return;
    const first = await this.walkAll();
    this.logger.warn(first, 'Redis was replaced (a failover or a restart): re-queued the delivery jobs it lacked');
    const settleMs = since + longestAttemptMs(this.config) - Date.now();
    if (settleMs > 0)
      await new Promise<void>((resolve) => {
        this.settle = { timer: setTimeout(resolve, settleMs), wake: resolve };
        this.settle.timer.unref();
      });
    this.settle = undefined;
    if (this.stopped) return;
    const second = await this.walkAll();
    this.logger.warn(second, 'attempts in flight at the Redis server change have ended: re-queued the delivery jobs still missing');
  }

  /** Every unfinished delivery, pass after pass, whatever its age; re-queues those whose job Redis lacks. */
  private async walkAll(): Promise<{ deliveries: number; examined: number }> {
    let after: UnfinishedCursor | null = null;
    let deliveries = 0;
    let examined = 0;
    for (;;) {
      const result = await this.examine(after, 0, RECONCILE_SCAN_LIMIT);
      deliveries += result.deliveries;
      examined += result.examined;
      if (result.wrapped || !result.last || this.stopped) break;
      after = result.last;
    }
    return { deliveries, examined };
  }

  /** Examines up to `limit` unfinished deliveries after `after`; re-queues those unchanged for `olderThanMs` whose job Redis lacks. */
  private async examine(
    after: UnfinishedCursor | null,
    olderThanMs: number,
    limit: number,
  ): Promise<{ deliveries: number; examined: number; last: UnfinishedCursor | null; wrapped: boolean }> {
    const examined = await this.deliveries.unfinishedAfter(after, olderThanMs, limit);
    const stale = examined.filter((d) => d.stale);
    const missing = new Set(await this.queues.missingDeliveryJobs(stale.map((d) => deliverJobId(d.id, d.replay))));
    const lost = stale.filter((d) => missing.has(deliverJobId(d.id, d.replay)));
    await this.queues.enqueueDeliveries(
      lost.map((d) => ({ deliveryId: d.id, replay: d.replay, resume: { attemptsUsed: d.chainAttempts, delayMs: d.dueInMs } })),
    );
    if (lost.length) this.metrics.reconciled.inc({ kind: 'delivery' }, lost.length);
    const last = examined[examined.length - 1];
    return {
      deliveries: lost.length,
      examined: examined.length,
      last: last ? { projectId: last.projectId, id: last.id } : null,
      wrapped: examined.length < limit,
    };
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    if (this.settle) {
      clearTimeout(this.settle.timer);
      this.settle.wake();
    }
    this.unsubscribe?.();
    await this.running;
  }
}

function parseCursor(raw: string | null): UnfinishedCursor | null {
  const match = raw ? /^(\d+):(.+)$/.exec(raw) : null;
  return match && isUuid(match[2]) ? { projectId: Number(match[1]), id: match[2] } : null;
}
