import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { MIGRATIONS } from '@herald/persistence';
import {
  appEntry,
  createTestDatabase,
  databaseUrl,
  deleteQueueKeys,
  eventually,
  freePort,
  stopApp,
  testEnv,
  uniqueQueuePrefix,
  withPg,
  type AppName,
  type RunningApp,
} from '@herald/testing';

/**
 * HERALD_MIGRATE_ON_START=false (SPEC §9, issue 12 item 3): migrations run elsewhere (the
 * Kubernetes Job); an app whose schema is behind stays up but not ready, and its /readyz names the
 * missing migrations, until they are applied, without a restart.
 */
describe('HERALD_MIGRATE_ON_START=false', () => {
  const prefix = uniqueQueuePrefix();
  const running: RunningApp[] = [];
  const fresh = () => `herald_test_${process.env.HERALD_TEST_RUN ?? 'adhoc'}_nomigrate_${randomBytes(4).toString('hex')}`;
  const created: string[] = [];

  /** Starts an app and waits for it to listen (/healthz), not for readiness. */
  const boot = async (name: AppName, env: Record<string, string>): Promise<RunningApp> => {
    const port = await freePort();
    const portVar = { 'api-gateway': 'GATEWAY_PORT', ingestion: 'INGESTION_PORT', 'delivery-worker': 'WORKER_PORT' }[name];
    const child = spawn(process.execPath, [appEntry(name)], { env: { ...process.env, ...env, [portVar]: String(port), HOST: '127.0.0.1' }, stdio: ['ignore', 'pipe', 'pipe'] });
    const output: string[] = [];
    child.stdout.on('data', (d: Buffer) => output.push(d.toString()));
    child.stderr.on('data', (d: Buffer) => output.push(d.toString()));
    const app: RunningApp = { name, process: child, port, output, url: `http://127.0.0.1:${port}` };
    running.push(app);
    await eventually(async () => {
      if (child.exitCode !== null) throw new Error(`${name} exited with ${child.exitCode}: ${output.join('')}`);
      return (await fetch(`${app.url}/healthz`)).status === 200;
    }, 30_000, `${name} to listen`);
    return app;
  };

  const readiness = async (app: RunningApp) => {
    const res = await fetch(`${app.url}/readyz`);
    return { status: res.status, body: (await res.json()) as { error?: Record<string, { message: string }> } };
  };
  const postgresUp = async (app: RunningApp) => /^herald_dependency_up\{dependency="postgres"\} (\d)$/m.exec(await (await fetch(`${app.url}/metrics`)).text())?.[1];

  afterAll(async () => {
    await Promise.all(running.map((app) => stopApp(app, 'SIGKILL')));
    for (const name of created) await withPg((c) => c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`));
    await deleteQueueKeys(prefix);
  });

  it('stops at boot when the database does not exist, saying the migrations create it', async () => {
    const name = fresh();
    const env = testEnv(databaseUrl(name), prefix, { HERALD_MIGRATE_ON_START: 'false' });
    const out = spawnSync(process.execPath, [appEntry('ingestion')], { env: { ...process.env, ...env, INGESTION_PORT: String(await freePort()), HOST: '127.0.0.1' }, encoding: 'utf8', timeout: 30_000 });
    expect(out.status).not.toBe(0);
    expect(out.stdout + out.stderr).toMatch(new RegExp(`database "${name}" does not exist.*HERALD_MIGRATE_ON_START=false the migrations .*create it`));
    // It did not create it either.
    expect((await withPg((c) => c.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]))).rowCount).toBe(0);
  });

  it('stays not ready on an unmigrated database, naming every missing migration, and becomes ready once the migrate command ran', async () => {
    const name = fresh();
    created.push(name);
    await withPg((c) => c.query(`CREATE DATABASE "${name}"`));
    const env = testEnv(databaseUrl(name), prefix, { HERALD_MIGRATE_ON_START: 'false' });
    const [ingestion, worker] = await Promise.all([boot('ingestion', env), boot('delivery-worker', env)]);

    for (const app of [ingestion, worker]) {
      const ready = await readiness(app);
      expect(ready.status).toBe(503);
      expect(ready.body.error?.postgres.message).toContain(`migrations ${MIGRATIONS.map((m) => m.name).join(', ')} not applied`);
      expect(ready.body.error?.postgres.message).toContain('run it');
      expect(await postgresUp(app)).toBe('0');
    }
    // Nothing migrated behind the Job's back.
    expect((await withPg((c) => c.query(`SELECT to_regclass('herald_migrations') AS t`), databaseUrl(name))).rows[0].t).toBeNull();

    const migrate = spawnSync(process.execPath, [join('dist', 'tools', 'migrate.js')], { env: { ...process.env, ...env }, encoding: 'utf8' });
    expect(migrate.status).toBe(0);
    for (const app of [ingestion, worker]) {
      await eventually(async () => (await readiness(app)).status === 200, 10_000, `${app.name} ready after the migrations`);
      expect(await postgresUp(app)).toBe('1');
    }
  });

  it('names the one migration a database lacks (a new release before its Job ran)', async () => {
    const url = await createTestDatabase();
    const last = MIGRATIONS[MIGRATIONS.length - 1].name;
    await withPg((c) => c.query('DELETE FROM herald_migrations WHERE name = $1', [last]), url);
    const gateway = await boot('api-gateway', testEnv(url, prefix, { HERALD_MIGRATE_ON_START: 'false' }));
    const ready = await readiness(gateway);
    expect(ready.status).toBe(503);
    expect(ready.body.error?.postgres.message).toMatch(new RegExp(`: migration ${last} not applied\\. `));
  });
});
