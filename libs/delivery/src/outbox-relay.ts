import { Injectable, Logger, type OnModuleDestroy } from '@nestjs/common';
import { QUEUES } from '@herald/contracts';
import { OUTBOX_CHANNEL, OutboxRepository, PgListener, RELAY_STATEMENT_TIMEOUT_MS, pgCode, type LeasedWork } from '@herald/persistence';
import {
  HeraldConfig,
  SpanKind,
  failSpan,
  startSpan,
  traceparentOf,
  tracingEnabled,
  type LivenessSource,
  type TraceSpan,
  type WorkInProgress,
} from '@herald/platform';
import { HeraldQueues } from '@herald/queue';
import { OutboxMetrics } from './outbox-metrics';

/** Outbox rows per pass; a bigger backlog is worked through pass after pass. */
const BATCH = 500;
/** How long a pass owns its rows; a relay that died mid-pass gives them back after this. */
const LEASE_MS = 30_000;
/** A pass that could not queue its work leaves its rows alone this long before trying again. */
const RETRY_MS = 1000;
/** The backlog gauge counts at most this many rows (a count over millions would cost more than it tells). */
const BACKLOG_COUNT_CAP = 100_000;
/** Postgres' SQLSTATE for a statement cancelled by statement_timeout. */
const PG_QUERY_CANCELED = '57014';

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
 *
 * A pass takes a bounded time whatever the backlog (issue 10): through a long backlog the relay
 * keeps its position (the last id it leased) and each pass leases the next rows from there, so no
 * pass walks the entries of rows already relayed; once a pass finds fewer rows than it asked for,
 * the next starts from the beginning again (rows committed late with a lower id, rows given back).
 * Every statement has a statement_timeout; a pass cut off by it is retried with half as many rows
 * (back to {@link BATCH} as passes succeed), so even a slow fan-out always moves. The watchdog
 * follows the step a pass is on.
 */
@Injectable()
export class OutboxRelay implements OnModuleDestroy, LivenessSource {
  readonly name = 'outbox relay';
  private readonly logger = new Logger(OutboxRelay.name);
  private readonly listener: PgListener;
  private running: Promise<void> | null = null;
  private again = false;
  private timer?: NodeJS.Timeout;
  private stopped = false;
  private unsubscribe?: () => void;
  private lastFailureLog = 0;
  private sweeps = 0;
  /** The last outbox id leased by a full pass: the next pass goes on from there (null: from the start). */
  private cursor: string | null = null;
  /** Rows per pass: {@link BATCH}, halved after a pass the statement_timeout cut off. */
  private batch = BATCH;
  /** The step of the pass in progress, for the watchdog. */
  private current: { step: string; since: number } | null = null;
  /** statement_timeout of the relay's statements (tests shorten it); never above the worker's own. */
  statementTimeoutMs: number;

  constructor(
    private readonly outbox: OutboxRepository,
    private readonly queues: HeraldQueues,
    private readonly config: HeraldConfig,
    private readonly metrics: OutboxMetrics,
  ) {
    this.statementTimeoutMs = Math.min(RELAY_STATEMENT_TIMEOUT_MS, config.statementTimeoutMs || Infinity);
    // No LISTEN URL behind a pooler: the sweep alone starts passes.
    this.listener = new PgListener(
      config.databaseListenUrl,
      [OUTBOX_CHANNEL],
      { notification: () => this.kick(), listening: () => this.kick() },
      'herald-relay',
    );
  }

  /**
   * Starts relaying. The delivery worker calls it once the database schema is current (a relay on
   * a schema behind its release would fail every pass, or worse, half-work).
   */
  async start(): Promise<void> {
    if (this.stopped) return;
    this.unsubscribe = this.queues.onReady(this.onRedisReady);
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
      if (!this.queues.redisReady) return;
      let result: { full: boolean; failed: boolean };
      let fromCursor: boolean;
      do {
        fromCursor = this.cursor !== null;
        result = await this.pass();
        if (result.failed) return;
        // A full pass goes on from its position; a short one from a position looks once more from
        // the start, for rows behind it.
      } while (!this.stopped && (result.full || fromCursor));
    } while (this.again && !this.stopped);
  }

  /** Work in progress for the watchdog: the step of the pass under way, if any. */
  inProgress(): WorkInProgress[] {
    return this.current ? [{ waitingOn: `outbox relay: ${this.current.step}`, since: this.current.since }] : [];
  }

  private at(step: string): void {
    this.current = { step, since: Date.now() };
  }

  /** One pass: whether it leased as many rows as it asked for, and whether it failed (its rows wait for a later pass). */
  private async pass(): Promise<{ full: boolean; failed: boolean }> {
    const started = performance.now();
    const traced = tracingEnabled();
    const startedAt = traced ? Date.now() : 0;
    let leased: string[] = [];
    let spans: RelaySpans | null = null;
    try {
      this.at(`lease statement (${this.batch} rows${this.cursor ? ` after outbox id ${this.cursor}` : ''})`);
      const work = await this.outbox.leaseAndFanOut(this.batch, LEASE_MS, { after: this.cursor, timeoutMs: this.statementTimeoutMs, traced });
      leased = work.outboxIds;
      const full = leased.length >= this.batch;
      this.cursor = full ? work.lastId : null;
      if (leased.length === 0) return { full: false, failed: false };
      spans = work.traces?.length ? relaySpans(work, startedAt) : null;
      this.at(`queueing ${work.deliveries.length} delivery jobs in Redis`);
      await this.queues.enqueueDeliveries(spans ? spans.jobs : work.deliveries);
      this.at(`deleting ${leased.length} relayed outbox rows`);
      await this.outbox.delete(leased, this.statementTimeoutMs);
      spans?.end();
      this.metrics.outboxRelayed.inc({ kind: 'event' }, work.events);
      this.metrics.outboxRelayed.inc({ kind: 'delivery' }, work.deliveries.length);
      if (work.filteredOut) this.metrics.filteredOut.inc(work.filteredOut);
      this.metrics.outboxPassDuration.observe({ outcome: 'ok' }, (performance.now() - started) / 1000);
      this.batch = Math.min(BATCH, this.batch * 2);
      return { full, failed: false };
    } catch (err) {
      spans?.end(err);
      this.cursor = null;
      if (pgCode(err) === PG_QUERY_CANCELED) {
        this.batch = Math.max(1, Math.floor(this.batch / 2));
        this.lastFailureLog = 0;
      }
      this.metrics.outboxPassDuration.observe({ outcome: 'failed' }, (performance.now() - started) / 1000);
      this.reportFailure(err);
      if (leased.length) {
        this.at(`giving back ${leased.length} outbox rows`);
        await this.outbox.release(leased, RETRY_MS, this.statementTimeoutMs).catch(() => undefined);
      }
      return { full: false, failed: true };
    } finally {
      this.current = null;
    }
  }

  private reportFailure(err: unknown): void {
    // Expected while Redis or Postgres is down; log once every 10 s rather than every pass.
    if (Date.now() - this.lastFailureLog > 10_000) {
      this.lastFailureLog = Date.now();
      const cancelled = pgCode(err) === PG_QUERY_CANCELED;
      this.logger.warn(
        cancelled
          ? `outbox relay statement cancelled after ${this.statementTimeoutMs} ms (statement_timeout); the next passes lease ${this.batch} rows at a time`
          : `outbox relay paused, rows stay in Postgres until the next pass: ${(err as Error).message}`,
      );
    }
  }

  /** Stops before the queues and the database close (they close in onApplicationShutdown). */
  async onModuleDestroy(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    this.unsubscribe?.();
    await this.listener.stop();
    await this.running;
  }
}

interface RelaySpans {
  /** The pass's delivery jobs, each of a traced row carrying its span's context. */
  jobs: LeasedWork['deliveries'] & Array<{ traceparent?: string }>;
  /** Ends the spans (with the pass's error, if it failed: its rows go to a later pass, and a new span). */
  end(err?: unknown): void;
}

/**
 * A span per leased row that carried a trace context (an event's fan-out, or a replay), child of
 * the span that wrote the row; each of its delivery jobs carries the span's context on to the
 * attempts.
 */
function relaySpans(work: LeasedWork, startTime: number): RelaySpans {
  const byRef = new Map<string, { span: TraceSpan; traceparent: string; jobs: number }>();
  for (const row of work.traces ?? []) {
    const span = startSpan('herald.outbox.relay', {
      kind: SpanKind.PRODUCER,
      parent: row.traceparent,
      startTime,
      attributes: {
        [row.kind === 'event' ? 'herald.event.id' : 'herald.delivery.id']: row.ref,
        'messaging.system': 'bullmq',
        'messaging.destination.name': QUEUES.deliver,
      },
    });
    byRef.set(row.ref, { span, traceparent: traceparentOf(span), jobs: 0 });
  }
  const jobs = work.deliveries.map((d) => {
    const traced = byRef.get(d.eventId ?? d.deliveryId);
    if (!traced) return d;
    traced.jobs++;
    return { ...d, traceparent: traced.traceparent };
  });
  return {
    jobs,
    end(err?: unknown) {
      for (const { span, jobs: n } of byRef.values()) {
        span.setAttribute('herald.delivery.count', n);
        if (err !== undefined) failSpan(span, err);
        span.end();
      }
      byRef.clear();
    },
  };
}
