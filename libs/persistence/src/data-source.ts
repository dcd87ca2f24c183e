import { Client } from 'pg';
import { DataSource, type DataSourceOptions } from 'typeorm';
import { ENTITIES } from './entities';
import { MIGRATIONS } from './migrations';
import { PG_UNIQUE_VIOLATION, pgCode } from './pg-errors';

const PG_DUPLICATE_DATABASE = '42P04';

export interface DatabaseOptions {
  url: string;
  poolSize: number;
  applicationName: string;
}

const MIGRATIONS_TABLE = 'herald_migrations';

export function dataSourceOptions(options: DatabaseOptions): DataSourceOptions {
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
    },
  };
}

/** Creates the database named in `url` when it does not exist yet (SPEC §1). */
export async function ensureDatabase(url: string): Promise<void> {
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

const MIGRATION_LOCK = 0x48455241; // "HERA": one migrator at a time across apps and replicas

/** Runs pending migrations under an advisory lock, so several apps starting together do not race. */
export async function runMigrations(dataSource: DataSource): Promise<string[]> {
  const runner = dataSource.createQueryRunner();
  await runner.connect();
  try {
    await runner.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
    const applied = await dataSource.runMigrations({ transaction: 'each' });
    return applied.map((m) => m.name);
  } finally {
    await runner.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]).catch(() => undefined);
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
