import { randomUUID } from 'node:crypto';
import type { HeraldConfig } from '@herald/platform';
import { pgCode } from '../pg-errors';
import {
  DEVLAKE_RETENTION_TABLES,
  FIRST_UUID,
  RETENTION_TABLES,
  RetentionRepository,
  uuidV7Bound,
  type DevLakeRetentionTable,
  type Removed,
  type RetentionTable,
} from './retention.repository';

export interface RetentionSettings {
  /** Finished events, deliveries and attempts older than this many days go; null keeps them. */
  days: number | null;
  /** DevLake deployments (with their commits), issues and pull requests; null keeps them. */
  devLakeDays: number | null;
  /** Events examined (or other rows removed) per batch. */
  batch: number;
  /** Pause between batches, so the purge takes a bounded share of Postgres. */
  pauseMs: number;
}

/** The settings of HERALD_RETENTION_DAYS, HERALD_DEVLAKE_RETENTION_DAYS, HERALD_RETENTION_BATCH and HERALD_RETENTION_PAUSE_MS. */
export function retentionSettings(config: HeraldConfig): RetentionSettings {
  return { days: config.retentionDays, devLakeDays: config.devLakeRetentionDays, batch: config.retentionBatch, pauseMs: config.retentionPauseMs };
}

/** The steps of a purge, in order. */
export type RetentionPhase = 'events' | 'idempotency_keys' | DevLakeRetentionTable;

export interface PurgeHooks {
  /** Stops the purge between batches (a shutdown); the batch in flight finishes or is cancelled whole. */
  signal?: AbortSignal;
  /** The moment retention is measured from; Postgres' clock when absent (tests pin it). */
  now?: Date;
  /** After each committed batch. */
  onBatch?: (phase: RetentionPhase, removed: Removed, ms: number) => void;
  /** A batch was cancelled (statement or lock timeout, deadlock) and will be retried (smaller after a statement timeout). */
  onRetry?: (phase: RetentionPhase, error: Error, nextBatch: number) => void;
}

export type PurgeOutcome =
  /** Everything past its retention is gone (what blocks removal, unfinished work, stays). */
  | 'done'
  /** Stopped by the signal; the next purge goes on with what is left. */
  | 'stopped'
  /** Another process holds the purge lease; nothing was done. */
  | 'busy'
  /** The lease expired under this purge (Postgres slower than the lease): it stopped for the new holder. */
  | 'lease-lost';

export interface PurgeReport {
  outcome: PurgeOutcome;
  removed: Record<RetentionTable, number>;
  batches: number;
  /** Batches cancelled (statement or lock timeout, deadlock) and retried. */
  retries: number;
  ms: number;
  /** The cutoffs used (null: that retention is off). */
  cutoff: Date | null;
  devLakeCutoff: Date | null;
}

/** The lease the purge runs under (table maintenance_leases). */
export const PURGE_LEASE = 'retention';
/**
 * How long the lease outlives its holder's last batch: well above a batch (5 s statement timeout)
 * plus the longest pause, so a live purge never loses it; a dead one frees it within a minute.
 */
export const PURGE_LEASE_MS = 60_000;
/** Cancelled batches in a row before a purge gives up until its next run. */
const MAX_RETRIES_IN_A_ROW = 5;
/**
 * The old events still in the outbox that a purge keeps by listing them; beyond this many (a
 * relay down for the whole retention), the walk stops at the first one not listed.
 */
const OUTBOX_KEEP_LIMIT = 10_000;
/** statement_timeout fired (query_canceled). */
const PG_QUERY_CANCELED = '57014';
/** Postgres errors after which the batch, again or smaller, may well succeed. */
const RETRYABLE = new Set([
  PG_QUERY_CANCELED,
  '55P03', // lock_not_available: lock_timeout
  '40P01', // deadlock_detected
  '40001', // serialization_failure
]);

const DAY_MS = 86_400_000;

/**
 * Removes what is past its retention (docs/operations.md#retention), in small batches with a pause
 * between them, under a lease so one process purges at a time. Safe to stop at any point (each
 * batch commits whole) and to run again: it finds what is left. Never removes an unfinished
 * delivery, its event, an event not fanned out yet, or a delivery replayed inside the window.
 * One run at a time per instance (its lease owner id is the instance's).
 */
export class RetentionPurge {
  /** This purger's lease owner id (one per process). */
  readonly owner = randomUUID();
  /** The batch size in use: the setting, halved for the rest of a phase after each batch the statement timeout cut off. */
  private size = 0;

  constructor(
    private readonly repo: RetentionRepository,
    private readonly settings: RetentionSettings,
  ) {}

  async run(hooks: PurgeHooks = {}): Promise<PurgeReport> {
    const started = Date.now();
    const report: PurgeReport = {
      outcome: 'done',
      removed: Object.fromEntries(RETENTION_TABLES.map((t) => [t, 0])) as Record<RetentionTable, number>,
      batches: 0,
      retries: 0,
      ms: 0,
      cutoff: null,
      devLakeCutoff: null,
    };
    if (!(await this.repo.lease(PURGE_LEASE, this.owner, PURGE_LEASE_MS))) return { ...report, outcome: 'busy' };
    try {
      const now = hooks.now ?? (await this.repo.now());
      const { days, devLakeDays } = this.settings;
      report.cutoff = days === null ? null : new Date(now.getTime() - days * DAY_MS);
      report.devLakeCutoff = devLakeDays === null ? null : new Date(now.getTime() - devLakeDays * DAY_MS);

      const steps: Array<[RetentionPhase, () => Promise<Step>]> = [];
      if (report.cutoff) steps.push(['events', await this.eventsWalk(report.cutoff)]);
      steps.push(['idempotency_keys', async () => this.counted('idempotency_keys', await this.repo.purgeIdempotencyKeys(now, this.size))]);
      const devLakeCutoff = report.devLakeCutoff;
      if (devLakeCutoff) {
        for (const table of DEVLAKE_RETENTION_TABLES) {
          steps.push([
            table,
            async () => {
              const removed = await this.repo.purgeDevLake(table, devLakeCutoff, this.size);
              return { removed, more: (removed[table] ?? 0) >= this.size };
            },
          ]);
        }
      }
      for (const [phase, step] of steps) {
        report.outcome = await this.phase(phase, step, report, hooks);
        if (report.outcome !== 'done') break;
      }
      return report;
    } finally {
      report.ms = Date.now() - started;
      if (report.outcome !== 'lease-lost') await this.repo.release(PURGE_LEASE, this.owner).catch(() => undefined);
    }
  }

  /**
   * The events walk: from the lowest id up to the cutoff's UUIDv7, each batch going on from the
   * last id the previous one examined, so no batch walks again what an earlier one kept.
   */
  private async eventsWalk(cutoff: Date): Promise<() => Promise<Step>> {
    const bound = uuidV7Bound(cutoff.getTime());
    const inOutbox = await this.repo.eventsInOutbox(bound, OUTBOX_KEEP_LIMIT + 1);
    const keep = inOutbox.slice(0, OUTBOX_KEEP_LIMIT);
    // Past the listed ones, the walk stops at the first old event still waiting in the outbox
    // (UUIDs compare as their lowercase hex text does).
    const before = inOutbox.length > OUTBOX_KEEP_LIMIT ? inOutbox[OUTBOX_KEEP_LIMIT] : bound;
    let after = FIRST_UUID;
    return async () => {
      const batch = await this.repo.purgeEvents(after, before, cutoff, this.size, keep);
      after = batch.last ?? after;
      return { removed: batch.removed, more: batch.examined >= this.size };
    };
  }

  private counted(table: RetentionTable, n: number): Step {
    return { removed: { [table]: n }, more: n >= this.size };
  }

  private async phase(phase: RetentionPhase, step: () => Promise<Step>, report: PurgeReport, hooks: PurgeHooks): Promise<PurgeOutcome> {
    this.size = this.settings.batch;
    let failures = 0;
    for (;;) {
      if (hooks.signal?.aborted) return 'stopped';
      if (!(await this.repo.lease(PURGE_LEASE, this.owner, PURGE_LEASE_MS))) return 'lease-lost';
      const started = Date.now();
      let result: Step;
      try {
        result = await step();
      } catch (err) {
        const code = pgCode(err) ?? '';
        if (!RETRYABLE.has(code) || ++failures > MAX_RETRIES_IN_A_ROW) throw err;
        report.retries++;
        // Too slow for the statement timeout: smaller from now on in this purge (growing back would
        // only run into it again). A lock wait or a deadlock says nothing about the size.
        if (code === PG_QUERY_CANCELED) this.size = Math.max(1, Math.floor(this.size / 2));
        hooks.onRetry?.(phase, err as Error, this.size);
        await pause(Math.max(this.settings.pauseMs, 100), hooks.signal);
        continue;
      }
      failures = 0;
      report.batches++;
      for (const [table, n] of Object.entries(result.removed) as Array<[RetentionTable, number]>) report.removed[table] += n;
      hooks.onBatch?.(phase, result.removed, Date.now() - started);
      if (!result.more) return 'done';
      await pause(this.settings.pauseMs, hooks.signal);
    }
  }
}

interface Step {
  removed: Removed;
  /** A full batch: there may be more. */
  more: boolean;
}

function pause(ms: number, signal?: AbortSignal): Promise<void> {
  if (ms <= 0 || signal?.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}
