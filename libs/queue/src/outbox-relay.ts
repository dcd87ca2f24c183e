import { Injectable, Logger, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { OutboxRepository, type OutboxRow } from '@herald/persistence';
import { HeraldConfig, MicroBatcher, Metrics } from '@herald/platform';
import { HeraldQueues } from './herald-queues';

const BATCH = 500;
/** The sweeper leaves younger rows to the fast path that is publishing them right now. */
const SWEEP_GRACE_MS = 2000;

/**
 * Moves committed outbox rows to BullMQ, three ways:
 *
 * - `publishCommitted(rows)`: the writer already knows the rows it just committed, so they are
 *   enqueued at once without reading them back, and deleted afterwards in batches. This is the
 *   events API's path: one INSERT, one Redis round trip, one shared DELETE per batch.
 * - `kick()`: a pass over the whole outbox, for writers that only know they committed something.
 * - the sweeper: every `HERALD_OUTBOX_SWEEP_MS`, a pass over rows older than a couple of seconds:
 *   rows left because Redis was down, or because a process died between commit and publish.
 *
 * A pass locks rows with SKIP LOCKED and deletes them in the same transaction once they are in
 * Redis, so any number of relays may run. Publishing the same row twice is harmless: fan-out is
 * idempotent and delivery jobs have stable ids.
 */
@Injectable()
export class OutboxRelay implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(OutboxRelay.name);
  private running: Promise<void> | null = null;
  private again = false;
  private timer?: NodeJS.Timeout;
  private stopped = false;
  private lastFailureLog = 0;
  private readonly fast = new MicroBatcher<OutboxRow, void>(async (rows) => {
    await this.publish(rows);
    void this.deletes.submit(rows.map((r) => r.id)).catch((err: unknown) => this.reportFailure(err));
    return rows.map(() => undefined);
  }, { maxBatch: BATCH, maxConcurrent: 2 });
  private readonly deletes = new MicroBatcher<string[], void>(async (batches) => {
    await this.outbox.delete(batches.flat());
    return batches.map(() => undefined);
  }, { maxBatch: 50, maxConcurrent: 1 });

  constructor(
    private readonly outbox: OutboxRepository,
    private readonly queues: HeraldQueues,
    private readonly config: HeraldConfig,
    private readonly metrics: Metrics,
  ) {}

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => this.startPass(SWEEP_GRACE_MS), this.config.outboxSweepMs);
    this.timer.unref();
    this.startPass(0);
  }

  /**
   * Enqueues rows the caller has just committed. Never throws: if Redis is away the rows stay in
   * the outbox and the sweeper moves them later.
   */
  publishCommitted(rows: OutboxRow[]): void {
    if (this.stopped) return;
    for (const row of rows) void this.fast.submit(row).catch((err: unknown) => this.reportFailure(err));
  }

  /** Starts a pass over the whole outbox, or asks the running one to go again; kicks coalesce. */
  kick(): void {
    this.startPass(0);
  }

  /** Resolves when the outbox is empty as far as this relay can tell (used by tests). */
  async flush(): Promise<void> {
    this.kick();
    while (this.running) await this.running;
  }

  private startPass(olderThanMs: number): void {
    if (this.stopped) return;
    if (this.running) {
      if (olderThanMs === 0) this.again = true;
      return;
    }
    this.running = this.passes(olderThanMs).finally(() => {
      this.running = null;
    });
  }

  private async passes(olderThanMs: number): Promise<void> {
    do {
      this.again = false;
      try {
        let moved: number;
        do {
          moved = await this.outbox.drain(BATCH, olderThanMs, (rows) => this.publish(rows));
        } while (moved === BATCH && !this.stopped);
      } catch (err) {
        this.reportFailure(err);
        return;
      }
      olderThanMs = 0;
    } while (this.again && !this.stopped);
  }

  private async publish(rows: OutboxRow[]): Promise<void> {
    const events = rows.filter((r) => r.kind === 'event').map((r) => r.ref);
    const deliveries = rows.filter((r) => r.kind === 'delivery').map((r) => ({ deliveryId: r.ref, replay: r.replay }));
    await Promise.all([this.queues.enqueueFanout(events), this.queues.enqueueDeliveries(deliveries)]);
    if (events.length) this.metrics.outboxRelayed.inc({ kind: 'event' }, events.length);
    if (deliveries.length) this.metrics.outboxRelayed.inc({ kind: 'delivery' }, deliveries.length);
  }

  private reportFailure(err: unknown): void {
    // Expected while Redis or Postgres is down; log once every 10 s rather than every pass.
    if (Date.now() - this.lastFailureLog > 10_000) {
      this.lastFailureLog = Date.now();
      this.logger.warn(`outbox relay paused, rows stay in Postgres until the next pass: ${(err as Error).message}`);
    }
  }

  /** Stops before the queues and the database close (they close in onApplicationShutdown). */
  async onModuleDestroy(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await this.running;
  }
}
