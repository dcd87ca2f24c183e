import { v7 } from 'uuid';
import {
  FakeReceiver,
  TestClient,
  TEST_ADMIN_TOKEN,
  createTestDatabase,
  deleteQueueKeys,
  eventually,
  freePort,
  startApp,
  stopApp,
  testEnv,
  uniqueQueuePrefix,
  withPg,
  type RunningApp,
} from '@herald/testing';

const DAY = 86_400_000;

/**
 * Retention end to end (issue 13, item 6): a worker purges 20 000 finished events past
 * HERALD_RETENTION_DAYS in small batches on its schedule while events are posted and delivered;
 * intake and delivery go on meanwhile, the purge counts what it removed in /metrics, keeps what
 * is unfinished or replayed inside the window, and a removed delivery answers 404 to a replay.
 */
describe('retention purge while intake and delivery run', () => {
  const OLD = 20_000;
  const NEW = 100;
  const prefix = uniqueQueuePrefix();
  let receiver: FakeReceiver;
  let apps: RunningApp[] = [];
  let url: string;
  let admin: TestClient;
  let seeded: { deliveries: string[] };

  const oldLeft = () =>
    withPg(async (c) => Number((await c.query(`SELECT count(*) AS n FROM events WHERE received_at < now() - interval '31 days'`)).rows[0].n), url);

  beforeAll(async () => {
    receiver = await FakeReceiver.start();
    url = await createTestDatabase();
    const ingestionPort = await freePort();
    const env = testEnv(url, prefix, {
      HERALD_INGESTION_URL: `http://127.0.0.1:${ingestionPort}`,
      HERALD_RETENTION_EVERY_MS: '1000',
      HERALD_RETENTION_BATCH: '50',
      HERALD_RETENTION_PAUSE_MS: '20',
    });
    apps = await Promise.all([startApp('api-gateway', env, await freePort()), startApp('ingestion', env, ingestionPort)]);
    admin = new TestClient(apps[0].url, TEST_ADMIN_TOKEN);
    expect((await admin.post('/v1/projects', { key: 'ret', name: 'Retention' })).status).toBe(201);
    const hook = await admin.post<{ id: string }>('/v1/projects/ret/webhooks', {
      name: 'r',
      type: 'custom',
      url: `${receiver.url}/hook`,
      events: ['bb.issue.create'],
    });
    expect(hook.status).toBe(201);
    // 40 days of history, as intake, the relay and the worker left it: ids carry the time received.
    const at = Array.from({ length: OLD + 2 }, (_, i) => Date.now() - 40 * DAY + i);
    const events = at.map((t) => v7({ msecs: t }));
    const deliveries = at.map((t) => v7({ msecs: t + 1000 }));
    await withPg(async (c) => {
      const [{ id: project }] = (await c.query(`SELECT id FROM projects WHERE key = 'ret'`)).rows;
      await c.query(
        `INSERT INTO events (id, project_id, type, level, title, source, body, occurred_at, received_at)
         SELECT e, $1, 'bb.issue.create', 'INFO', 'old', 'api', '{}', to_timestamp(t / 1000.0), to_timestamp(t / 1000.0) FROM unnest($2::uuid[], $3::double precision[]) AS x(e, t)`,
        [project, events, at],
      );
      // The last two: one still pending (its retries go on), one replayed yesterday.
      await c.query(
        `INSERT INTO deliveries (id, project_id, event_id, webhook_id, event_type, status, attempt_count, next_attempt_at, created_at, updated_at)
         SELECT d, $1, e, $2, 'bb.issue.create', CASE WHEN i = $5 + 1 THEN 'pending' ELSE 'succeeded' END, 2,
                CASE WHEN i = $5 + 1 THEN now() + interval '1 hour' END, to_timestamp(t / 1000.0),
                CASE WHEN i = $5 + 2 THEN now() - interval '1 day' ELSE to_timestamp(t / 1000.0) END
           FROM unnest($3::uuid[], $4::uuid[], $6::double precision[]) WITH ORDINALITY AS x(d, e, t, i)`,
        [project, hook.body.id, deliveries, events, OLD, at],
      );
      await c.query(
        `INSERT INTO delivery_attempts (delivery_id, number, started_at, duration_ms, status_code, outcome)
         SELECT d, k, now(), 5, 200, 'delivered' FROM unnest($1::uuid[]) d CROSS JOIN generate_series(1, 2) k`,
        [deliveries],
      );
    }, url);
    seeded = { deliveries };
    apps.push(await startApp('delivery-worker', env, await freePort()));
  }, 120_000);

  afterAll(async () => {
    await Promise.all(apps.map((app) => stopApp(app)));
    await receiver?.stop();
    await deleteQueueKeys(prefix);
  });

  it('accepts and delivers events while the purge removes the old ones beside them, and keeps what is unfinished', async () => {
    const { deliveries } = seeded;
    // The worker's schedule starts the purge within a second or so.
    await eventually(async () => (await oldLeft()) < OLD + 2, 20_000, 'the purge to start');
    const before = await oldLeft();
    for (let i = 0; i < NEW; i++) {
      expect((await admin.post('/v1/projects/ret/events', { type: 'bb.issue.create', title: `new ${i}` })).status).toBe(202);
      await new Promise((r) => setTimeout(r, 20));
    }
    await receiver.waitFor(NEW, 30_000);
    const after = await oldLeft();
    // The purge ran while these were accepted and delivered.
    expect(after).toBeLessThan(before);
    expect(before - after).toBeGreaterThan(0);
    expect(receiver.requests.every((r) => r.path === '/hook')).toBe(true);

    await eventually(async () => (await oldLeft()) === 2, 60_000, 'the purge to finish');
    const metrics = await (await fetch(`${apps[2].url}/metrics`)).text();
    const removed = (table: string) => Number(new RegExp(`^herald_retention_removed_total\\{table="${table}"\\} (\\d+)$`, 'm').exec(metrics)?.[1]);
    expect([removed('events'), removed('deliveries'), removed('delivery_attempts')]).toEqual([OLD, OLD, 2 * OLD]);

    // A removed delivery is gone for good; the kept ones answer as before.
    expect((await admin.post(`/v1/projects/ret/deliveries/${deliveries[0]}/replay`, {})).status).toBe(404);
    expect((await admin.post(`/v1/projects/ret/deliveries/${deliveries[OLD]}/replay`, {})).status).toBe(409);
    expect((await admin.post(`/v1/projects/ret/deliveries/${deliveries[OLD + 1]}/replay`, {})).status).toBe(202);
    // Nothing of today was touched: every new event is there with its delivered delivery.
    const today = await withPg(
      async (c) =>
        (
          await c.query(`SELECT count(DISTINCT e.id)::int AS events, count(d.id) FILTER (WHERE d.status = 'succeeded')::int AS delivered
                          FROM events e LEFT JOIN deliveries d ON d.event_id = e.id WHERE e.received_at > now() - interval '1 hour'`)
        ).rows[0],
      url,
    );
    expect(today).toEqual({ events: NEW, delivered: NEW });
  }, 120_000);
});
