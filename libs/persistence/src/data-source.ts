import { Client } from 'pg';
import { DataSource, MigrationExecutor, type DataSourceOptions } from 'typeorm';
import type { DatabasePoolMode } from '@herald/platform';
import { ENTITIES } from './entities';
import { MIGRATIONS } from './migrations';
import { PG_UNDEFINED_DATABASE, PG_UNIQUE_VIOLATION, pgCode } from './pg-errors';

const PG_DUPLICATE_DATABASE = '42P04';

export interface DatabaseOptions {
  url: string;
  poolSize: number;
  applicationName: string;
  /** `transaction` when `url` is a pooler in transaction pooling (HERALD_DATABASE_POOL_MODE); default `session`. */
  poolMode?: DatabasePoolMode;
  /** statement_timeout of each session (0 or absent: none); session mode only, see {@link dataSourceOptions}. */
  statementTimeoutMs?: number;
  /** idle_in_transaction_session_timeout of each session (0 or absent: none); session mode only. */
  idleInTransactionTimeoutMs?: number;
}

/** The pool's config carries the pool mode, so every DataSource built from these options knows it ({@link poolModeOf}). */
const POOL_MODE = 'heraldPoolMode';

/** How statements must be run on this DataSource's pool: `transaction` means no named statements, no session state. */
export function poolModeOf(db: DataSource): DatabasePoolMode {
  return ((db.options as { extra?: Record<string, unknown> }).extra?.[POOL_MODE] as DatabasePoolMode | undefined) ?? 'session';
}

const MIGRATIONS_TABLE = 'herald_migrations';

/**
 * TypeORM's options for Herald's pool. In session mode the timeouts are startup parameters of each
 * connection: Postgres applies them for the session's life, at no cost per statement. A
 * transaction pooler refuses those parameters (PgBouncer: "unsupported startup parameter") and
 * hands each transaction a server connection other clients share, so no session setting of ours
 * would stay ours: there the pooler sets them for the app's entry (connect_query) or its role
 * (docs/operations.md), and {@link sessionSettingProblem} checks at start that it does.
 */
export function dataSourceOptions(options: DatabaseOptions): DataSourceOptions {
  const session = (options.poolMode ?? 'session') === 'session';
  return {
    type: 'postgres',
    url: options.url,
    entities: ENTITIES,
    migrations: MIGRATIONS,
    migrationsTableName: MIGRATIONS_TABLE,
    // Never synchronize: the schema changes only through reviewed migrations.
    synchronize: false,
    migrationsRun: false,
    logging: false,
    applicationName: options.applicationName,
    poolSize: options.poolSize,
    extra: {
      // Fail fast when Postgres is down, so intake answers 503 quickly instead of hanging.
      connectionTimeoutMillis: 3000,
      idleTimeoutMillis: 30_000,
      keepAlive: true,
      ...(session && options.statementTimeoutMs ? { statement_timeout: options.statementTimeoutMs } : {}),
      ...(session && options.idleInTransactionTimeoutMs ? { idle_in_transaction_session_timeout: options.idleInTransactionTimeoutMs } : {}),
      [POOL_MODE]: options.poolMode ?? 'session',
    },
  };
}

/**
 * Creates the database named in `url` when it does not exist yet (docs/contract.md §1.3). It asks the database
 * itself first: a pooler (PgBouncer) serves only the databases it lists, rarely the maintenance
 * one, and a managed server may keep Herald's role out of it.
 */
export async function ensureDatabase(url: string): Promise<void> {
  const probe = new Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  try {
    await probe.connect();
    await probe.end();
    return;
  } catch (err) {
    await probe.end().catch(() => undefined);
    if (pgCode(err) !== PG_UNDEFINED_DATABASE) throw err;
  }
  const target = new URL(url);
  const name = decodeURIComponent(target.pathname.replace(/^\//, '')) || 'postgres';
  const maintenance = new URL(url);
  maintenance.pathname = '/postgres';
  const client = new Client({ connectionString: maintenance.toString(), connectionTimeoutMillis: 5000 });
  await client.connect();
  try {
    const found = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (found.rowCount === 0) {
      try {
        await client.query(`CREATE DATABASE "${name.replace(/"/g, '""')}"`);
      } catch (err) {
        // Another app created it at the same moment: Postgres says 42P04 if that creation had
        // committed when ours began, 23505 (pg_database_datname_index) if both were in flight.
        const code = pgCode(err);
        if (code !== PG_DUPLICATE_DATABASE && code !== PG_UNIQUE_VIOLATION) throw err;
      }
    }
  } finally {
    await client.end();
  }
}

export const MIGRATION_LOCK = 0x48455241; // "HERA": one migrator at a time across apps and replicas

/**
 * Runs pending migrations, once, however many apps start together: all of them in one
 * transaction that first takes a transaction-level advisory lock, so the others wait for it and
 * then find nothing pending. A transaction-level lock (not a session one) works through a
 * transaction pooler too: it belongs to the transaction, on whichever server connection that runs,
 * and ends with it; a session lock would stay on a pooled connection that other clients then share.
 * The transaction lifts the app's statement_timeout: a migration, or the wait for another app's,
 * may take longer than any request should.
 */
export async function runMigrations(dataSource: DataSource): Promise<string[]> {
  const runner = dataSource.createQueryRunner();
  try {
    await runner.startTransaction();
    await runner.query('SET LOCAL statement_timeout = 0');
    await runner.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
    const executor = new MigrationExecutor(dataSource, runner);
    // "all": inside the transaction already open on this runner, which it neither commits nor rolls back.
    executor.transaction = 'all';
    const applied = await executor.executePendingMigrations();
    await runner.commitTransaction();
    return applied.map((m) => m.name);
  } catch (err) {
    if (runner.isTransactionActive) await runner.rollbackTransaction().catch(() => undefined);
    throw err;
  } finally {
    await runner.release();
  }
}

/**
 * Connects, creating the database if needed and migrating. With `migrate: false` (migrations run by
 * a separate Job, HERALD_MIGRATE_ON_START=false) it only connects: the database and the schema are
 * the Job's work, and readiness reports what is missing ({@link pendingMigrations}).
 */
export async function openDatabase(options: DatabaseOptions, { migrate = true }: { migrate?: boolean } = {}): Promise<DataSource> {
  if (migrate) await ensureDatabase(options.url);
  const dataSource = new DataSource(dataSourceOptions(options));
  await dataSource.initialize();
  if (!migrate) return dataSource;
  try {
    await runMigrations(dataSource);
  } catch (err) {
    await dataSource.destroy();
    throw err;
  }
  return dataSource;
}

const PG_UNDEFINED_TABLE = '42P01';

/** Names of the migrations this build knows that the database has not applied, oldest first. */
export async function pendingMigrations(dataSource: DataSource): Promise<string[]> {
  let applied: Set<string>;
  try {
    const rows: Array<{ name: string }> = await dataSource.query(`SELECT name FROM ${MIGRATIONS_TABLE}`);
    applied = new Set(rows.map((r) => r.name));
  } catch (err) {
    // A database no migration has touched yet has no migrations table.
    if (pgCode(err) !== PG_UNDEFINED_TABLE) throw err;
    applied = new Set();
  }
  return MIGRATIONS.map((m) => m.name).filter((name) => !applied.has(name));
}

/** The session settings Herald wants, and the variables that set them. */
const SESSION_TIMEOUTS = [
  ['statement_timeout', 'statementTimeoutMs', 'HERALD_DATABASE_STATEMENT_TIMEOUT_MS'],
  ['idle_in_transaction_session_timeout', 'idleInTransactionTimeoutMs', 'HERALD_DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_MS'],
] as const;

/**
 * Behind a transaction pooler Herald cannot set its timeouts (see {@link dataSourceOptions}): the
 * pooler or the role must. Compares what a pooled connection has with what the app wants, and
 * says what to set when they differ (null when they agree).
 */
export async function sessionSettingProblem(
  db: DataSource,
  wanted: { statementTimeoutMs: number; idleInTransactionTimeoutMs: number },
): Promise<string | null> {
  const rows: Array<{ name: string; setting: string }> = await db.query(`SELECT name, setting FROM pg_settings WHERE name = ANY ($1)`, [
    SESSION_TIMEOUTS.map(([name]) => name),
  ]);
  const actual = new Map(rows.map((r) => [r.name, Number(r.setting)]));
  const wrong = SESSION_TIMEOUTS.filter(([name, field]) => actual.get(name) !== wanted[field]);
  if (wrong.length === 0) return null;
  const sets = SESSION_TIMEOUTS.map(([name, field]) => `SET ${name} = ${wanted[field]}`);
  return (
    wrong
      .map(([name, field, variable]) => `${name} is ${actual.get(name)} ms on the pooled connections, expected ${wanted[field]} ms (${variable})`)
      .join('; ') +
    `. Behind a transaction pooler Herald cannot set them per session: set them for this app's pooler entry (PgBouncer: connect_query='${sets.join('; ')}') ` +
    `or its role (${sets.map((set) => `ALTER ROLE … ${set.slice(4)}`).join('; ')}); see docs/operations.md`
  );
}
