import { spawn, spawnSync } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { DataSource } from 'typeorm';
import { JOBS, QUEUES } from '@herald/contracts';
import { MIGRATIONS, dataSourceOptions } from '@herald/persistence';
import {
  FakeReceiver,
  TEST_ADMIN_TOKEN,
  TEST_REDIS_URL,
  TestClient,
  appEntry,
  createTestDatabase,
  databaseUrl,
  deleteQueueKeys,
  eventually,
  freePort,
  startApp,
  stopApp,
  testEnv,
  uniqueQueuePrefix,
  withPg,
  type AppName,
  type RunningApp,
} from '@herald/testing';

/**
 * HERALD_MIGRATE_ON_START=false (docs/contract.md §1.3, issue 12 item 3): migrations run elsewhere (the
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
    const child = spawn(process.execPath, [appEntry(name)], {
      env: { ...process.env, ...env, [portVar]: String(port), HOST: '127.0.0.1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const output: string[] = [];
    child.stdout.on('data', (d: Buffer) => output.push(d.toString()));
    child.stderr.on('data', (d: Buffer) => output.push(d.toString()));
    const app: RunningApp = { name, process: child, port, output, url: `http://127.0.0.1:${port}` };
    running.push(app);
    await eventually(
      async () => {
        if (child.exitCode !== null) throw new Error(`${name} exited with ${child.exitCode}: ${output.join('')}`);
        return (await fetch(`${app.url}/healthz`)).status === 200;
      },
      30_000,
      `${name} to listen`,
    );
    return app;
  };

  const readiness = async (app: RunningApp) => {
    const res = await fetch(`${app.url}/readyz`);
    return { status: res.status, body: (await res.json()) as { error?: Record<string, { message: string }> } };
  };
  const postgresUp = async (app: RunningApp) =>
    /^herald_dependency_up\{dependency="postgres"\} (\d)$/m.exec(await (await fetch(`${app.url}/metrics`)).text())?.[1];

  afterAll(async () => {
    await Promise.all(running.map((app) => stopApp(app, 'SIGKILL')));
    for (const name of created) await withPg((c) => c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`));
    await deleteQueueKeys(prefix);
  });

  it('stops at boot when the database does not exist, saying the migrations create it', async () => {
    const name = fresh();
    const env = testEnv(databaseUrl(name), prefix, { HERALD_MIGRATE_ON_START: 'false' });
    const out = spawnSync(process.execPath, [appEntry('ingestion')], {
      env: { ...process.env, ...env, INGESTION_PORT: String(await freePort()), HOST: '127.0.0.1' },
      encoding: 'utf8',
      timeout: 30_000,
    });
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

  it('a worker whose schema lacks the last migration takes no job and relays nothing until it is applied, then starts by itself', async () => {
    const url = await createTestDatabase();
    const receiver = await FakeReceiver.start();
    // A queue of its own: the workers the tests above started take every job of theirs.
    const ownPrefix = uniqueQueuePrefix();
    const queue = new Queue(QUEUES.deliver, { connection: { url: TEST_REDIS_URL }, prefix: ownPrefix });
    try {
      // A project and a webhook, made while the schema is whole.
      const ingestionPort = await freePort();
      const env = testEnv(url, ownPrefix, { HERALD_INGESTION_URL: `http://127.0.0.1:${ingestionPort}` });
      running.push(...(await Promise.all([startApp('api-gateway', env, await freePort()), startApp('ingestion', env, ingestionPort)])));
      const gateway = running[running.length - 2];
      const admin = new TestClient(gateway.url, TEST_ADMIN_TOKEN);
      expect((await admin.post('/v1/projects', { key: 'gated', name: 'Gated' })).status).toBe(201);
      expect(
        (await admin.post('/v1/projects/gated/webhooks', { name: 'r', type: 'custom', url: `${receiver.url}/hook`, events: ['bb.issue.create'] })).status,
      ).toBe(201);

      // The database goes back one migration: a new release's worker started before its migrations Job ran.
      const last = MIGRATIONS[MIGRATIONS.length - 1].name;
      const db = new DataSource(dataSourceOptions({ url, poolSize: 2, applicationName: 'herald-test' }));
      await db.initialize();
      await db.undoLastMigration({ transaction: 'each' });
      await db.destroy();
      expect((await withPg((c) => c.query('SELECT 1 FROM herald_migrations WHERE name = $1', [last]), url)).rowCount).toBe(0);

      // Work waiting for it: an event in the outbox, and a job in the queue.
      expect((await admin.post('/v1/projects/gated/events', { type: 'bb.issue.create', title: 'waits for the schema' })).status).toBe(202);
      const jobId = randomUUID();
      await queue.add(JOBS.deliver, { v: 1, deliveryId: jobId }, { jobId });

      const worker = await boot('delivery-worker', { ...env, HERALD_MIGRATE_ON_START: 'false', HERALD_LOG_LEVEL: 'info' });
      await eventually(
        () => worker.output.join('').includes(`not taking jobs: the database schema lacks migration ${last}`),
        10_000,
        'the worker to say what it waits for',
      );
      // Several of its schema checks and relay sweeps later, nothing moved.
      await new Promise((r) => setTimeout(r, 3 * 2000));
      expect(await queue.getJobState(jobId)).toBe('waiting');
      expect(receiver.requests).toHaveLength(0);
      expect((await withPg((c) => c.query('SELECT count(*)::int AS n FROM outbox'), url)).rows[0].n).toBe(1);
      expect((await withPg((c) => c.query('SELECT count(*)::int AS n FROM deliveries'), url)).rows[0].n).toBe(0);
      const ready = await readiness(worker);
      expect(ready.status).toBe(503);
      expect(ready.body.error?.postgres.message).toContain(`migration ${last} not applied`);

      const migrate = spawnSync(process.execPath, [join('dist', 'tools', 'migrate.js')], { env: { ...process.env, ...env }, encoding: 'utf8' });
      expect(migrate.status).toBe(0);
      await receiver.waitFor(1, 15_000);
      await eventually(async () => (await queue.getJobState(jobId)) === 'completed', 10_000, 'the queued job to run');
      expect(worker.output.join('')).toContain('the database schema is current now: starting the relay and the workers');
      expect((await readiness(worker)).status).toBe(200);
    } finally {
      await queue.close();
      await receiver.stop();
      await deleteQueueKeys(ownPrefix);
    }
  }, 90_000);
});
