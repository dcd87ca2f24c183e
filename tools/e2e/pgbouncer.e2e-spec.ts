import { randomBytes } from 'node:crypto';
import { MIGRATIONS, openDatabase } from '@herald/persistence';
import {
  FakeReceiver,
  TestClient,
  TEST_ADMIN_TOKEN,
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
import { PrivatePgBouncer } from '../support/pgbouncer';

/**
 * Herald behind PgBouncer in transaction pooling (issue 13 item 3; docs/contract.md §1.3), with Debian's
 * pgbouncer 1.18, which cannot carry protocol-level prepared statements from one server
 * connection to another. Every app reaches Postgres only through the pooler (a few server
 * connections shared by all of them); with `HERALD_DATABASE_POOL_MODE=transaction` they must use
 * no named statement and nothing else that needs a session.
 *
 * The pooler lists the database three times, as docs/operations.md tells users to: one entry per
 * app whose `connect_query` sets that app's statement_timeout and
 * idle_in_transaction_session_timeout (PgBouncer refuses them as startup parameters), and one
 * plain entry. The gateway and the first ingestion process have a direct
 * `HERALD_DATABASE_LISTEN_URL` (LISTEN/NOTIFY: caches invalidated at once); the second ingestion
 * process and the worker have none, so the worker's relay works from its sweep and the second
 * ingestion process keeps cache entries only for the short lifetime.
 */
const CACHE_LIFETIME_MS = 5000;

describe('behind PgBouncer in transaction pooling', () => {
  let bouncer: PrivatePgBouncer;
  let directUrl: string;
  let prefix: string;
  const apps: Partial<Record<'gateway' | 'ingestion' | 'timedIngestion' | 'worker', RunningApp>> = {};
  const receivers: FakeReceiver[] = [];
  let admin: TestClient;

  const app = (name: keyof typeof apps) => apps[name] as RunningApp;
  const output = (name: keyof typeof apps) => app(name).output.join('');

  /** An empty database (no migration yet), for the migrations race. */
  const fresh = `herald_test_${process.env.HERALD_TEST_RUN ?? 'adhoc'}_pooled_${randomBytes(4).toString('hex')}`;

  beforeAll(async () => {
    directUrl = await createTestDatabase();
    await withPg((c) => c.query(`CREATE DATABASE "${fresh}"`));
    prefix = uniqueQueuePrefix();
    const timeouts = (statementMs: number) => `SET statement_timeout = ${statementMs}; SET idle_in_transaction_session_timeout = 30000`;
    bouncer = await PrivatePgBouncer.start({
      poolMode: 'transaction',
      // Fewer server connections than the apps have clients, so clients keep trading them.
      poolSize: 3,
      databases: {
        herald_gateway: { target: directUrl, connectQuery: timeouts(30_000) },
        herald_ingestion: { target: directUrl, connectQuery: timeouts(10_000) },
        herald_worker: { target: directUrl, connectQuery: timeouts(15_000) },
        herald: { target: directUrl },
        herald_fresh: { target: databaseUrl(fresh) },
      },
    });
    const [gatewayPort, ingestionPort] = [await freePort(), await freePort()];
    // One environment (one encryption key) for every app; only the pooler entry and the LISTEN URL differ.
    const shared = testEnv(directUrl, prefix, {
      HERALD_DATABASE_POOL_MODE: 'transaction',
      HERALD_INGESTION_URL: `http://127.0.0.1:${ingestionPort}`,
      HERALD_RETRY_SCHEDULE: '0s,200ms,200ms',
      HERALD_LOG_LEVEL: 'info',
    });
    const env = (database: string, extra: Record<string, string> = {}) => ({ ...shared, DATABASE_URL: bouncer.url(database), ...extra });
    const start = (name: AppName, e: Record<string, string>, port?: number) => (port ? Promise.resolve(port) : freePort()).then((p) => startApp(name, e, p));
    [apps.gateway, apps.ingestion, apps.timedIngestion, apps.worker] = await Promise.all([
      start('api-gateway', env('herald_gateway', { HERALD_DATABASE_LISTEN_URL: directUrl }), gatewayPort),
      start('ingestion', env('herald_ingestion', { HERALD_DATABASE_LISTEN_URL: directUrl }), ingestionPort),
      start('ingestion', env('herald')),
      start('delivery-worker', env('herald_worker')),
    ]);
    admin = new TestClient(app('gateway').url, TEST_ADMIN_TOKEN);
    expect((await admin.post('/v1/projects', { key: 'pooled', name: 'Pooled' })).status).toBe(201);
  }, 90_000);

  afterAll(async () => {
    await Promise.all(Object.values(apps).map((a) => a && stopApp(a, 'SIGKILL')));
    await Promise.all(receivers.map((r) => r.stop()));
    await bouncer?.stop();
    await deleteQueueKeys(prefix);
    await withPg((c) => c.query(`DROP DATABASE IF EXISTS "${fresh}" WITH (FORCE)`));
  });

  const receiver = async () => {
    const r = await FakeReceiver.start();
    receivers.push(r);
    return r;
  };

  it('accepts events on both ingestion processes and delivers every one, retries included, through the pooler only', async () => {
    const r = await receiver();
    // The first two requests fail: their deliveries are claimed and recorded again.
    r.enqueue({ status: 500 }, { status: 503 });
    const hook = await admin.post('/v1/projects/pooled/webhooks', { name: 'pooled', type: 'custom', url: `${r.url}/hook`, events: ['incident.create'] });
    expect(hook.status).toBe(201);
    const statsBefore = await xacts();

    const ingestions = [new TestClient(app('ingestion').url, TEST_ADMIN_TOKEN), new TestClient(app('timedIngestion').url, TEST_ADMIN_TOKEN)];
    const singles = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        ingestions[i % 2].post(
          '/v1/projects/pooled/events',
          { type: 'incident.create', title: `single ${i}` },
          i % 4 === 0 ? { 'idempotency-key': `k-${i}` } : {},
        ),
      ),
    );
    expect(singles.map((s) => s.status)).toEqual(singles.map(() => 202));
    // A repeated idempotency key (a transaction through the pooler) answers the first answer again.
    const repeat = await ingestions[1].post('/v1/projects/pooled/events', { type: 'incident.create', title: 'single 0' }, { 'idempotency-key': 'k-0' });
    expect([repeat.status, repeat.body.id]).toEqual([202, singles[0].body.id]);
    const batch = await ingestions[0].post(
      '/v1/projects/pooled/events/batch',
      Array.from({ length: 30 }, (_, i) => ({ type: 'incident.create', title: `batch ${i}` })),
    );
    expect(batch.status).toBe(202);

    const received = await r.waitFor(72, 30_000);
    const ids = new Set(received.map((q) => JSON.parse(q.body).event_id));
    expect(ids.size).toBe(70);
    await eventually(
      async () => {
        const items = (await admin.get(`/v1/projects/pooled/deliveries?webhookId=${hook.body.id}&limit=100`)).body.items as Array<{
          status: string;
          attemptCount: number;
        }>;
        return items.length === 70 && items.every((d) => d.status === 'succeeded') && items.filter((d) => d.attemptCount === 2).length === 2;
      },
      10_000,
      '70 deliveries succeeded, two after a retry',
    );

    // It all went through the pooler: each app's entry carried transactions.
    const statsAfter = await xacts();
    for (const db of ['herald_gateway', 'herald_ingestion', 'herald_worker', 'herald']) expect(statsAfter[db] ?? 0).toBeGreaterThan(statsBefore[db] ?? 0);
    for (const name of Object.keys(apps) as Array<keyof typeof apps>) expect(output(name)).not.toMatch(/prepared statement/i);
  }, 60_000);

  it('stops a revoked API key at once where a LISTEN URL is set, and within the cache lifetime where it is not', async () => {
    const created = await admin.post('/v1/projects/pooled/api-keys', { name: 'short-lived' });
    expect(created.status).toBe(201);
    const direct = new TestClient(app('ingestion').url, created.body.key);
    const timed = new TestClient(app('timedIngestion').url, created.body.key);
    const post = (c: TestClient) => c.post('/v1/projects/pooled/events', { type: 'incident.create', title: 'by key' }).then((res) => res.status);
    // Both processes now hold the key in their cache.
    expect([await post(direct), await post(timed)]).toEqual([202, 202]);

    expect((await admin.delete(`/v1/projects/pooled/api-keys/${created.body.id}`)).status).toBe(204);
    const revokedAt = Date.now();
    await eventually(async () => (await post(direct)) === 401, 2000, 'the revoked key refused by the ingestion process that listens');
    expect(Date.now() - revokedAt).toBeLessThan(1000);
    await eventually(
      async () => (await post(timed)) === 401,
      CACHE_LIFETIME_MS + 2000,
      'the revoked key refused by the ingestion process without a LISTEN URL',
    );
    expect(Date.now() - revokedAt).toBeLessThanOrEqual(CACHE_LIFETIME_MS + 500);
    // A deleted project is a cache entry too: gone at once where notifications arrive.
  }, 30_000);

  it('answers the DORA metrics from deployments posted through the pooler', async () => {
    const deploy = (sha: string, end: string) =>
      admin.post('/plugins/webhook/projects/pooled/deployments', { commit_sha: sha, repo_url: 'https://git/pooled', end_time: end });
    expect((await deploy('c1', '2024-03-04T10:00:00Z')).status).toBe(200);
    expect((await deploy('c2', '2024-03-12T10:00:00Z')).status).toBe(200);
    const res = await admin.get('/v1/projects/pooled/dora?from=2024-03-01T00:00:00Z&to=2024-03-31T00:00:00Z');
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      project: 'pooled',
      deploymentFrequency: { deployments: 2, deploymentDays: 2 },
      changeFailureRate: { deployments: 2, failedDeployments: 0 },
    });
  });

  it("applies each app's timeouts through its pooler entry, and warns where the pooler sets none", async () => {
    const settings = async (database: string) =>
      withPg(
        async (c) => (await c.query(`SELECT current_setting('statement_timeout') AS s, current_setting('idle_in_transaction_session_timeout') AS i`)).rows[0],
        bouncer.url(database),
      );
    expect(await settings('herald_worker')).toEqual({ s: '15s', i: '30s' });
    for (const name of ['gateway', 'ingestion', 'worker'] as const) expect(output(name)).not.toMatch(/statement_timeout/);
    // The plain entry leaves Postgres' defaults (no limit); that ingestion process says what to set.
    expect(output('timedIngestion')).toMatch(/statement_timeout is 0 .*expected 10000 ms.*connect_query/);
    // Without a LISTEN URL it says what it gives up.
    expect(output('timedIngestion')).toMatch(/HERALD_DATABASE_LISTEN_URL is not set.*5 s/);
  });

  it('migrates a fresh database through the pooler once, however many apps start together, and leaves no lock behind', async () => {
    const opened = await Promise.allSettled(
      [1, 2, 3, 4].map((i) => openDatabase({ url: bouncer.url('herald_fresh'), poolSize: 2, applicationName: `herald-race-${i}`, poolMode: 'transaction' })),
    );
    try {
      expect(opened.map((r) => (r.status === 'rejected' ? String(r.reason) : 'ok'))).toEqual(['ok', 'ok', 'ok', 'ok']);
      const direct = databaseUrl(fresh);
      const applied = await withPg(async (c) => (await c.query('SELECT name FROM herald_migrations ORDER BY name')).rows.map((r) => r.name), direct);
      expect(applied).toEqual(MIGRATIONS.map((m) => m.name).sort());
      // A session-level lock taken through the pooler would stay on a pooled server connection.
      const locks = await withPg(
        async (c) =>
          (
            await c.query(
              `SELECT count(*)::int AS n FROM pg_locks l JOIN pg_database d ON d.oid = l.database WHERE l.locktype = 'advisory' AND d.datname = $1`,
              [fresh],
            )
          ).rows[0].n,
        direct,
      );
      expect(locks).toBe(0);
    } finally {
      for (const r of opened) if (r.status === 'fulfilled') await r.value.destroy();
    }
  });

  /** Transactions each pooler entry carried so far (pgbouncer's SHOW STATS). */
  const xacts = async () =>
    Object.fromEntries(
      (await bouncer.admin<{ database: string; total_xact_count: string }>('SHOW STATS')).map((row) => [row.database, Number(row.total_xact_count)]),
    );
});
