/* eslint-disable @nx/enforce-module-boundaries -- Jest loads global setup/teardown outside moduleNameMapper, so @herald/* aliases do not resolve here; these imports are relative. */
import { createHash, randomBytes } from 'node:crypto';
import IORedis from 'ioredis';
import { DataSource } from 'typeorm';
import { dataSourceOptions, runMigrations } from '../../libs/persistence/src/data-source';
import { MIGRATIONS } from '../../libs/persistence/src/migrations';
import { TEST_PG_URL, TEST_REDIS_URL, databaseUrl, withPg } from '../../libs/testing/src/services';

/**
 * Before any spec: check that Postgres and Redis answer (with a message that says how to start
 * them), and migrate one template database that every test database is cloned from.
 */
export default async function globalSetup(): Promise<void> {
  try {
    await withPg((c) => c.query('SELECT 1'));
  } catch (err) {
    throw new Error(
      `Postgres is not reachable at ${TEST_PG_URL} (${(err as Error).message}). Start it: ` +
        'pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start',
    );
  }
  const redis = new IORedis(TEST_REDIS_URL, { maxRetriesPerRequest: 1, lazyConnect: true, retryStrategy: () => null });
  try {
    await redis.connect();
    await redis.ping();
  } catch (err) {
    throw new Error(
      `Redis is not reachable at ${TEST_REDIS_URL} (${(err as Error).message}). Start it: ` +
        'redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no',
    );
  } finally {
    redis.disconnect();
  }

  // The template is keyed by the migration list, so a new migration gets a new template.
  const digest = createHash('sha256')
    .update(MIGRATIONS.map((m) => m.name).join(','))
    .digest('hex')
    .slice(0, 12);
  const template = `herald_test_tpl_${digest}`;
  // The run id starts with the time, so a later run can tell databases left by killed runs.
  const run = `${Math.floor(Date.now() / 1000)}_${randomBytes(3).toString('hex')}`;
  process.env.HERALD_TEST_TEMPLATE = template;
  process.env.HERALD_TEST_RUN = run;

  await withPg(async (c) => {
    // Serialise concurrent test runs on this machine while the template is built.
    await c.query('SELECT pg_advisory_lock(7243001)');
    try {
      const exists = await c.query('SELECT 1 FROM pg_database WHERE datname = $1', [template]);
      if (exists.rowCount === 0) {
        await c.query(`CREATE DATABASE "${template}_wip"`);
        const ds = new DataSource({ ...dataSourceOptions({ url: databaseUrl(`${template}_wip`), poolSize: 2, applicationName: 'herald-test-setup' }) });
        await ds.initialize();
        await runMigrations(ds);
        await ds.destroy();
        await c.query(`ALTER DATABASE "${template}_wip" RENAME TO "${template}"`);
      }
    } finally {
      await c.query('SELECT pg_advisory_unlock(7243001)');
    }
    // Databases left by runs killed before their teardown (older than 6 hours; concurrent runs are younger).
    const { rows } = await c.query(`SELECT datname FROM pg_database WHERE datname ~ '^herald_test_[0-9]+_'`);
    const cutoff = Date.now() / 1000 - 6 * 3600;
    for (const { datname } of rows as Array<{ datname: string }>) {
      const started = Number(/^herald_test_(\d+)_/.exec(datname)?.[1]);
      if (started < cutoff) await c.query(`DROP DATABASE IF EXISTS "${datname}" WITH (FORCE)`).catch(() => undefined);
    }
  });
}
