import { Injectable } from '@nestjs/common';
import type { PoolClient } from 'pg';
import { DataSource } from 'typeorm';
import { boundedTransaction } from '../prepared';

/** The tables whose removed rows a purge counts (the metric's `table` label). */
export const RETENTION_TABLES = [
  'events',
  'deliveries',
  'delivery_attempts',
  'idempotency_keys',
  'devlake_deployments',
  'devlake_deployment_commits',
  'devlake_issues',
  'devlake_pull_requests',
] as const;
export type RetentionTable = (typeof RETENTION_TABLES)[number];
export type Removed = Partial<Record<RetentionTable, number>>;

/**
 * Every purge statement is cancelled after this long. A batch takes milliseconds (see
 * docs/benchmarks.md); the bound is for a plan or a lock gone wrong, so a batch never holds its
 * row locks, or its snapshot, for long.
 */
export const PURGE_STATEMENT_TIMEOUT_MS = 5000;
/**
 * How long a batch waits for a row lock held by intake or delivery (a replay, a claim) before it
 * gives up; the purge retries later, so the hot path never waits behind it for longer than a batch.
 */
export const PURGE_LOCK_TIMEOUT_MS = 500;

/** Idempotency keys answer repeats for 24 h (docs/contract.md §5.1); intake re-uses an older key's row. */
const IDEMPOTENCY_WINDOW_MS = 24 * 3600 * 1000;

/** What one batch of the events walk did. */
export interface EventBatch {
  /** Events looked at (the batch's size unless the walk reached its end). */
  examined: number;
  /** The highest event id looked at: where the next batch goes on from (null when none). */
  last: string | null;
  removed: Removed;
}

/**
 * One batch of the events walk, in one statement (so it commits whole or not at all):
 *
 * - `picked`: the next $3 events after $1 whose id is below $2, the UUIDv7 of the cutoff — one
 *   range of the primary key, which is in time order;
 * - `held`: every delivery of those events, locked (`FOR UPDATE`, in id order) and read as last
 *   committed: a replay or recover that turned one back to `pending` after this statement began
 *   is seen, and one that comes later waits for this batch and then finds the delivery gone
 *   (its API answers 404);
 * - an event is removed when it was received before the cutoff ($4), has no outbox row (its
 *   fan-out is done; $5 lists the old events still in the outbox), and every delivery of it is
 *   finished and unchanged since the cutoff (a delivery replayed inside the window keeps its event,
 *   which its next attempt reads). Its deliveries go with it (ON DELETE CASCADE), and with them
 *   their attempts and direct-message ledgers.
 *
 * A new delivery cannot appear for a picked event meanwhile: deliveries are created by the fan-out
 * of an event's outbox row, and such events are not removed.
 */
const EVENTS_BATCH_SQL = `
  WITH picked AS MATERIALIZED (
    SELECT id, received_at FROM events
     WHERE id > $1::uuid AND id < $2::uuid
     ORDER BY id LIMIT $3
  ), held AS MATERIALIZED (
    SELECT d.event_id, d.status, d.updated_at, d.attempt_count FROM deliveries d
     WHERE d.event_id = ANY (ARRAY(SELECT id FROM picked))
     ORDER BY d.id
     FOR UPDATE
  ), kept AS MATERIALIZED (
    SELECT ARRAY(
      SELECT event_id FROM held WHERE status NOT IN ('succeeded', 'failed', 'dead') OR updated_at >= $4::timestamptz
      UNION SELECT id FROM picked WHERE received_at >= $4::timestamptz
      UNION SELECT unnest($5::uuid[])) AS ids
  ), removed AS (
    DELETE FROM events
     WHERE id = ANY (ARRAY(SELECT id FROM picked WHERE NOT (id = ANY ((SELECT ids FROM kept)::uuid[]))))
    RETURNING id
  ), gone AS (
    SELECT count(*)::int AS deliveries, coalesce(sum(h.attempt_count), 0)::int AS attempts FROM held h JOIN removed r ON r.id = h.event_id
  )
  SELECT (SELECT count(*) FROM picked)::int AS examined,
         (SELECT id FROM picked ORDER BY id DESC LIMIT 1) AS last,
         (SELECT count(*) FROM removed)::int AS events,
         gone.deliveries, gone.attempts
    FROM gone`;

/**
 * Idempotency keys older than 24 h, oldest first. Rows intake is re-using this moment are skipped
 * (SKIP LOCKED), and a row it renewed after this statement began no longer qualifies when locked.
 */
const IDEMPOTENCY_BATCH_SQL = `
  WITH victims AS (
    SELECT project_id, key FROM idempotency_keys WHERE created_at < $1::timestamptz
     ORDER BY created_at LIMIT $2
     FOR UPDATE SKIP LOCKED
  )
  DELETE FROM idempotency_keys k USING victims v WHERE k.project_id = v.project_id AND k.key = v.key`;

/**
 * DevLake rows whose own latest date is before the cutoff: what DORA reads them by. A deployment
 * goes with its commits (ON DELETE CASCADE). An unresolved incident stays whatever its age: closing
 * it later must find it, and DORA's time to restore reads it then. Each batch is one range of the
 * index on that date (migration 1733200000000); rows DevLake is re-posting are skipped, and one it
 * moved into the window meanwhile no longer qualifies when locked.
 */
const DEVLAKE_BATCH_SQL: Record<'devlake_deployments' | 'devlake_issues' | 'devlake_pull_requests', string> = {
  devlake_deployments: `
    WITH victims AS (
      SELECT connection_id, id FROM devlake_deployments WHERE finished_date < $1::timestamptz
       ORDER BY finished_date LIMIT $2
       FOR UPDATE SKIP LOCKED
    ), commits AS (
      SELECT count(*)::int AS n FROM devlake_deployment_commits c JOIN victims v ON c.connection_id = v.connection_id AND c.deployment_id = v.id
    ), removed AS (
      DELETE FROM devlake_deployments t USING victims v WHERE t.connection_id = v.connection_id AND t.id = v.id RETURNING 1
    )
    SELECT (SELECT count(*) FROM removed)::int AS rows, (SELECT n FROM commits) AS commits`,
  devlake_issues: `
    WITH victims AS (
      SELECT connection_id, issue_key FROM devlake_issues
       WHERE greatest(created_date, resolution_date, updated_date) < $1::timestamptz
         AND (type IS DISTINCT FROM 'INCIDENT' OR resolution_date IS NOT NULL)
       ORDER BY greatest(created_date, resolution_date, updated_date) LIMIT $2
       FOR UPDATE SKIP LOCKED
    ), removed AS (
      DELETE FROM devlake_issues t USING victims v WHERE t.connection_id = v.connection_id AND t.issue_key = v.issue_key RETURNING 1
    )
    SELECT (SELECT count(*) FROM removed)::int AS rows, 0 AS commits`,
  devlake_pull_requests: `
    WITH victims AS (
      SELECT connection_id, pull_request_key FROM devlake_pull_requests
       WHERE greatest(created_date, merged_date, closed_date) < $1::timestamptz
       ORDER BY greatest(created_date, merged_date, closed_date) LIMIT $2
       FOR UPDATE SKIP LOCKED
    ), removed AS (
      DELETE FROM devlake_pull_requests t USING victims v WHERE t.connection_id = v.connection_id AND t.pull_request_key = v.pull_request_key RETURNING 1
    )
    SELECT (SELECT count(*) FROM removed)::int AS rows, 0 AS commits`,
};
export type DevLakeRetentionTable = keyof typeof DEVLAKE_BATCH_SQL;
export const DEVLAKE_RETENTION_TABLES = Object.keys(DEVLAKE_BATCH_SQL) as DevLakeRetentionTable[];

/**
 * The UUIDv7 bound of a moment: every id made before `ms` (its first 48 bits are the Unix time in
 * milliseconds) sorts below it, every id made at or after it does not.
 */
export function uuidV7Bound(ms: number): string {
  const hex = Math.max(0, Math.floor(ms)).toString(16).padStart(12, '0');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-0000-0000-000000000000`;
}

/** The lowest UUID: where a walk of the events starts. */
export const FIRST_UUID = '00000000-0000-0000-0000-000000000000';

/**
 * The statements of the retention purge (docs/operations.md#retention). Each batch is one
 * statement in its own short transaction, bounded by statement_timeout and lock_timeout, so it
 * commits (or is cancelled) whole: a purge stopped at any point leaves no half-removed event, and
 * the next purge simply finds what is left.
 */
@Injectable()
export class RetentionRepository {
  constructor(private readonly db: DataSource) {}

  /** Postgres' clock: cutoffs are computed from it, as every timestamp the rows hold was. */
  async now(): Promise<Date> {
    const [{ now }]: Array<{ now: Date }> = await this.db.query('SELECT now() AS now');
    return now;
  }

  /**
   * Events received before `before` that still have an outbox row (not fanned out yet), lowest
   * first, at most `limit`. Read once per purge: a row written later always references a new event
   * (intake writes outbox rows for the events it stores now, replays for deliveries), so the list
   * cannot miss an old one. The outbox has no index on `ref` (it would cost intake a write per
   * event) and holds only work not yet relayed, so this is one short scan.
   */
  async eventsInOutbox(before: string, limit: number): Promise<string[]> {
    const rows: Array<{ ref: string }> = await this.bounded(
      (c) => c.query(`SELECT ref FROM outbox WHERE kind = 'event' AND ref < $1::uuid ORDER BY ref LIMIT $2`, [before, limit]),
      { scan: true },
    );
    return rows.map((r) => r.ref);
  }

  /**
   * One batch of the events walk (see EVENTS_BATCH_SQL): up to `limit` events with ids after
   * `after` and below `before` (at most the cutoff's UUIDv7), keeping those listed in `keep`.
   */
  async purgeEvents(after: string, before: string, cutoff: Date, limit: number, keep: string[]): Promise<EventBatch> {
    const [row] = await this.bounded<{ examined: number; last: string | null; events: number; deliveries: number; attempts: number }>((c) =>
      c.query(EVENTS_BATCH_SQL, [after, before, limit, cutoff, keep]),
    );
    return { examined: row.examined, last: row.last, removed: { events: row.events, deliveries: row.deliveries, delivery_attempts: row.attempts } };
  }

  /** Up to `limit` idempotency keys past their 24 h; returns how many went. */
  async purgeIdempotencyKeys(now: Date, limit: number): Promise<number> {
    const result = await this.boundedResult((c) => c.query(IDEMPOTENCY_BATCH_SQL, [new Date(now.getTime() - IDEMPOTENCY_WINDOW_MS), limit]));
    return result.rowCount ?? 0;
  }

  /** Up to `limit` rows of one DevLake table older than `cutoff` (a deployment's commits go with it). */
  async purgeDevLake(table: DevLakeRetentionTable, cutoff: Date, limit: number): Promise<Removed> {
    const [row] = await this.bounded<{ rows: number; commits: number }>((c) => c.query(DEVLAKE_BATCH_SQL[table], [cutoff, limit]));
    return table === 'devlake_deployments' ? { devlake_deployments: row.rows, devlake_deployment_commits: row.commits } : { [table]: row.rows };
  }

  /**
   * Takes or renews the lease `name` for `ttlMs` when it is free, expired, or already `owner`'s;
   * returns whether `owner` holds it now. One statement: no session state, so it works through a
   * transaction-pooling PgBouncer.
   */
  async lease(name: string, owner: string, ttlMs: number): Promise<boolean> {
    const rows: unknown[] = await this.db.query(
      `INSERT INTO maintenance_leases AS l (name, owner, leased_until) VALUES ($1, $2, now() + make_interval(secs => $3::double precision / 1000))
       ON CONFLICT (name) DO UPDATE SET owner = EXCLUDED.owner, leased_until = EXCLUDED.leased_until
        WHERE l.owner = EXCLUDED.owner OR l.leased_until < now()
       RETURNING name`,
      [name, owner, ttlMs],
    );
    return rows.length > 0;
  }

  /** Gives the lease back (if `owner` still holds it), so the next purge need not wait for it to expire. */
  async release(name: string, owner: string): Promise<void> {
    await this.db.query(`UPDATE maintenance_leases SET owner = NULL, leased_until = '-infinity' WHERE name = $1 AND owner = $2`, [name, owner]);
  }

  /** Who holds the lease `name`, and until when (null when nobody does). */
  async leaseHolder(name: string): Promise<{ owner: string; until: Date } | null> {
    const [row]: Array<{ owner: string; leased_until: Date }> = await this.db.query(
      `SELECT owner, leased_until FROM maintenance_leases WHERE name = $1 AND owner IS NOT NULL AND leased_until >= now()`,
      [name],
    );
    return row ? { owner: row.owner, until: row.leased_until } : null;
  }

  private async bounded<T>(work: (client: PoolClient) => Promise<{ rows: unknown[] }>, options: { scan?: boolean } = {}): Promise<T[]> {
    return (await this.boundedResult(work, options)).rows as T[];
  }

  /**
   * A short transaction: statement_timeout and lock_timeout (SET LOCAL, so they also hold through
   * PgBouncer in transaction mode), and, unless `scan` says a sequential scan is the plan, no
   * sequential scan of a large table on a stale estimate.
   */
  private boundedResult<R>(work: (client: PoolClient) => Promise<R>, options: { scan?: boolean } = {}): Promise<R> {
    return boundedTransaction(this.db, { timeoutMs: PURGE_STATEMENT_TIMEOUT_MS }, async (client) => {
      await client.query(`SET LOCAL lock_timeout = ${PURGE_LOCK_TIMEOUT_MS}${options.scan ? '' : '; SET LOCAL enable_seqscan = off'}`);
      return work(client);
    });
  }
}
