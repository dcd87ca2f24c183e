import { Injectable, Logger, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { OUTBOX_CHANNEL, OutboxRepository, PgListener } from '@herald/persistence';
import { HeraldConfig, Metrics } from '@herald/platform';
import { HeraldQueues } from './herald-queues';

/** Outbox rows per pass; a bigger backlog is worked through pass after pass. */
const BATCH = 500;
/** How long a pass owns its rows; a relay that died mid-pass gives them back after this. */
const LEASE_MS = 30_000;
/** A pass that could not queue its work leaves its rows alone this long before trying again. */
const RETRY_MS = 1000;
/** The backlog gauge counts at most this many rows (a count over millions would cost more than it tells). */
const BACKLOG_COUNT_CAP = 100_000;

/**
 * The delivery worker's relay: it turns committed outbox rows into delivery jobs. For an event it
 * also does the fan-out (one delivery per subscribed, enabled webhook) in the same statement that
 * leases the row, so an event goes from Postgres to its delivery jobs without a queue in between,
 * and nothing about it is only in Redis until its deliveries exist in Postgres.
 *
 * A pass leases up to {@link BATCH} free rows (SKIP LOCKED, so any number of relays share the
 * work), queues their delivery jobs (job id = delivery id, so queuing twice is harmless), then
 * deletes the rows. If Redis refuses, the rows are released and retried; if this process dies,
 * their lease runs out and another relay takes them. Passes start:
 *
 * - when a writer commits outbox rows (a trigger sends NOTIFY `herald_outbox`), so latency is a
 *   notification, not a poll;
 * - every `HERALD_OUTBOX_SWEEP_MS` (a notification missed while the LISTEN connection was away,
 *   rows whose lease ran out, rows released after a failure);
 * - when the LISTEN connection or Redis comes back.
 * Requests to start a pass while one runs coalesce into one more pass.
 */
@Injectable()
export class OutboxRelay implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(OutboxRelay.name);
  private readonly listener: PgListener;
  private running: Promise<void> | null = null;
  private again = false;
  private timer?: NodeJS.Timeout;
  private stopped = false;
  private lastFailureLog = 0;
  private sweeps = 0;

  constructor(
    private readonly outbox: OutboxRepository,
    private readonly queues: HeraldQueues,
    private readonly config: HeraldConfig,
    private readonly metrics: Metrics,
  ) {
    this.listener = new PgListener(config.databaseUrl, [OUTBOX_CHANNEL], { notification: () => this.kick(), listening: () => this.kick() }, 'herald-relay');
  }

  async onApplicationBootstrap(): Promise<void> {
    this.queues.connection.on('ready', this.onRedisReady);
    this.timer = setInterval(() => this.sweep(), this.config.outboxSweepMs);
    this.timer.unref();
    await this.listener.start();
    this.kick();
  }

  private readonly onRedisReady = () => this.kick();

  /** Starts a pass, or asks the running one to go again. */
  kick(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.passes().finally(() => {
      this.running = null;
    });
  }

  /** Resolves when the outbox holds nothing this relay could take right now (used by tests). */
  async flush(): Promise<void> {
    this.kick();
    while (this.running) await this.running;
  }

  private sweep(): void {
    this.kick();
    // The backlog gauge every tenth sweep: a number for dashboards, not worth a count every second.
    if (this.sweeps++ % 10 === 0) {
      this.outbox.backlog(BACKLOG_COUNT_CAP).then(
        (n) => this.metrics.outboxBacklog.set(n),
        () => undefined,
      );
    }
  }

  private async passes(): Promise<void> {
    do {
      this.again = false;
      // While Redis is away there is nothing to queue to: leave the rows (Redis' return kicks).
      if (this.queues.connection.status !== 'ready') return;
      let moved: number;
      do {
        moved = await this.pass();
      } while (moved === BATCH && !this.stopped);
      if (moved < 0) return;
    } while (this.again && !this.stopped);
  }

  /** One pass; returns the rows it moved, or -1 when it failed (its rows wait for a later pass). */
  private async pass(): Promise<number> {
    let leased: string[] = [];
    try {
      const work = await this.outbox.leaseAndFanOut(BATCH, LEASE_MS);
      leased = work.outboxIds;
      if (leased.length === 0) return 0;
      await this.queues.enqueueDeliveries(work.deliveries);
      await this.outbox.delete(leased);
      this.metrics.outboxRelayed.inc({ kind: 'event' }, work.events);
      this.metrics.outboxRelayed.inc({ kind: 'delivery' }, work.deliveries.length);
      return leased.length;
    } catch (err) {
      this.reportFailure(err);
      if (leased.length) await this.outbox.release(leased, RETRY_MS).catch(() => undefined);
      return -1;
    }
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
    this.queues.connection.off('ready', this.onRedisReady);
    await this.listener.stop();
    await this.running;
  }
}
