import type { Socket } from 'node:net';
import type { Pool, PoolClient } from 'pg';
import type { DataSource } from 'typeorm';
import { poolModeOf } from './data-source';

function poolOf(db: DataSource): Pool {
  return (db.driver as unknown as { master: Pool }).master;
}

/**
 * Runs one of the hot path's statements as a named prepared statement on TypeORM's own pool.
 * Postgres then plans it once per connection instead of on every call: for these CTE statements
 * planning cost more than executing (about 0.4–0.5 ms against 0.2–0.3 ms, measured with EXPLAIN
 * ANALYZE). Errors are pg's own, which `isDependencyDown` and `pgCode` read as well as TypeORM's.
 *
 * Behind a transaction pooler (HERALD_DATABASE_POOL_MODE=transaction) the statement is unnamed:
 * consecutive statements of one client may run on different server connections, and a name
 * prepared on one does not exist on another (PgBouncer before 1.21 cannot carry them), so each run
 * is planned anew (`npm run bench -- --only=poolmode` measures the cost).
 *
 * Only for statements whose plan cannot go wrong as tables grow (a few rows by primary key):
 * after five runs Postgres may keep a generic plan made while the tables were small.
 */
export async function preparedQuery<T>(db: DataSource, name: string, text: string, values: unknown[]): Promise<T[]> {
  const result = await poolOf(db).query(poolModeOf(db) === 'transaction' ? { text, values } : { name, text, values });
  return result.rows as T[];
}

/**
 * Runs an UPDATE or DELETE and returns how many rows it changed. (TypeORM's `query` answers
 * `[rows, count]` for these commands, so `rows.length` would always be 2.)
 */
export async function changedRows(db: DataSource, text: string, values: unknown[]): Promise<number> {
  const result = await poolOf(db).query(text, values);
  return result.rowCount ?? 0;
}

/** Statement settings of a {@link boundedTransaction}. */
export interface BoundedOptions {
  /** Postgres cancels any statement running longer (statement_timeout, lock waits included). */
  timeoutMs: number;
  /**
   * Plan with index scans and nested loops only (no sequential scan, hash or merge join): for
   * statements that touch a few hundred rows of large tables, whose row estimates may be stale.
   */
  indexOnly?: boolean;
}

/** How long past its statement_timeout a silent connection (a dead peer) is given before it is cut. */
const SILENT_CONNECTION_GRACE_MS = 5000;

/**
 * Runs `work` in one transaction whose every statement is bounded in time, whatever the plan:
 * Postgres cancels a statement after `timeoutMs` (SET LOCAL, so it also works through PgBouncer in
 * transaction mode), and a connection that does not answer at all (a dead peer that TCP has not
 * noticed) is destroyed shortly after, failing the call. Statements inside run unprepared, so
 * each is planned for its own parameters and the tables as they are now.
 */
export async function boundedTransaction<T>(db: DataSource, options: BoundedOptions, work: (client: PoolClient) => Promise<T>): Promise<T> {
  const client = await poolOf(db).connect();
  let failure: Error | undefined;
  let cut = false;
  // A checked-out client reports a broken connection as an 'error' event too; without a listener
  // that would crash the process. The failing query rejects as well, which is what callers see.
  const onError = (err: Error) => (failure ??= err);
  client.on('error', onError);
  const graceMs = options.timeoutMs + SILENT_CONNECTION_GRACE_MS;
  const backstop = setTimeout(() => {
    cut = true;
    (client as unknown as { connection: { stream: Socket } }).connection.stream.destroy();
  }, graceMs);
  backstop.unref();
  const timeout = Math.max(1, Math.round(options.timeoutMs));
  try {
    await client.query(
      `BEGIN; SET LOCAL statement_timeout = ${timeout}` +
        (options.indexOnly ? '; SET LOCAL enable_seqscan = off; SET LOCAL enable_hashjoin = off; SET LOCAL enable_mergejoin = off' : ''),
    );
    const result = await work(client);
    await client.query('COMMIT');
    return result;
  } catch (err) {
    failure ??= err as Error;
    if (cut) throw new Error(`Postgres did not answer within ${graceMs} ms; the connection was closed (${(err as Error).message})`, { cause: err });
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    clearTimeout(backstop);
    client.off('error', onError);
    // A connection that failed mid-transaction is not given back to the pool.
    client.release(failure);
  }
}
