import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Webhook } from 'standardwebhooks';
import {
  FakeReceiver,
  TcpProxy,
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

/**
 * The foundation's promises, end to end with the three apps as real processes (issue 2): an event
 * posted to the gateway reaches a custom webhook signed; 500, 500, 200 gives three attempts with
 * one webhook-id; Redis down keeps intake answering from the outbox; Postgres down answers 503 and
 * readiness recovers without a restart; a worker killed with -9 mid-burst loses nothing.
 *
 * Postgres and Redis are reached through TCP proxies so this file can take them away without
 * touching the servers other tests share.
 */
describe('Herald end to end', () => {
  let receiver: FakeReceiver;
  let pg: TcpProxy;
  let redis: TcpProxy;
  let env: Record<string, string>;
  let prefix: string;
  let gateway: RunningApp;
  let ingestion: RunningApp;
  let worker: RunningApp;
  let admin: TestClient;
  let secret: string;
  let webhookId: string;
  let dbName: string;

  beforeAll(async () => {
    receiver = await FakeReceiver.start();
    pg = await TcpProxy.start('127.0.0.1', 5432);
    redis = await TcpProxy.start('127.0.0.1', 6379);
    const dbUrl = pg.url(await createTestDatabase());
    dbName = new URL(dbUrl).pathname.slice(1);
    prefix = uniqueQueuePrefix();
    const [gatewayPort, ingestionPort] = [await freePort(), await freePort()];
    env = testEnv(dbUrl, prefix, {
      REDIS_URL: redis.url('redis://127.0.0.1:6379'),
      HERALD_INGESTION_URL: `http://127.0.0.1:${ingestionPort}`,
      HERALD_RETRY_SCHEDULE: '0s,300ms,300ms,300ms',
      HERALD_JOB_LOCK_MS: '2000',
      HERALD_STALLED_INTERVAL_MS: '1000',
    });
    [ingestion, gateway, worker] = await Promise.all([
      startApp('ingestion', env, ingestionPort),
      startApp('api-gateway', env, gatewayPort),
      startApp('delivery-worker', env, await freePort()),
    ]);
    admin = new TestClient(gateway.url, TEST_ADMIN_TOKEN);
    expect((await admin.post('/v1/projects', { key: 'e2e', name: 'End to end' })).status).toBe(201);
    const created = await admin.post('/v1/projects/e2e/webhooks', {
      name: 'receiver',
      type: 'custom',
      url: `${receiver.url}/hook`,
      events: ['bb.issue.create', 'incident.create'],
    });
    expect(created.status).toBe(201);
    secret = created.body.secret;
    webhookId = created.body.id;
  }, 60_000);

  afterAll(async () => {
    await Promise.all([gateway, ingestion, worker].filter(Boolean).map((app) => stopApp(app, 'SIGKILL')));
    await receiver?.stop();
    await pg?.down();
    await redis?.down();
    await deleteQueueKeys(prefix);
  });

  const requestsFor = (deliveryId: string) => receiver.requests.filter((r) => r.headers['webhook-id'] === deliveryId);

  it('delivers an event posted to the gateway to a custom webhook, signed, within a second', async () => {
    const before = receiver.requests.length;
    const started = Date.now();
    const posted = await admin.post('/v1/projects/e2e/events', {
      type: 'bb.issue.create',
      actor: { id: 7, name: 'Ann' },
      issue: { id: 42, name: 'Add index', status: 'OPEN' },
    });
    expect(posted.status).toBe(202);
    expect(posted.body).toEqual({ id: expect.any(String), type: 'bb.issue.create', duplicate: false });

    const [hit] = (await receiver.waitFor(before + 1, 5000)).slice(before);
    expect(hit.at - started).toBeLessThan(1000);
    const payload = new Webhook(secret).verify(hit.body, hit.headers as Record<string, string>) as Record<string, unknown>;
    expect(payload).toMatchObject({ event_id: posted.body.id, activity_type: 'bb.issue.create', title: 'Issue created', creator_id: 7 });

    const deliveries = await admin.get(`/v1/projects/e2e/deliveries?webhookId=${webhookId}`);
    const delivery = deliveries.body.items.find((d: { eventId: string }) => d.eventId === posted.body.id);
    expect(hit.headers['webhook-id']).toBe(delivery.id);
    await eventually(async () => (await admin.get(`/v1/projects/e2e/deliveries/${delivery.id}`)).body.status === 'succeeded');
  });

  it("delivers the README walk-through's event to npm run receiver, which shows the request and verifies its signature", async () => {
    const entry = join(__dirname, '..', '..', 'dist', 'tools', 'receiver', 'receiver.js');
    expect(existsSync(entry)).toBe(true);
    // As in the README: create the webhook, then start the receiver with the secret it answered.
    const start = async (port: number, secret: string) => {
      const child = spawn(process.execPath, [entry, '--port', String(port), '--secret', secret], { stdio: ['ignore', 'pipe', 'pipe'] });
      const output: string[] = [];
      child.stdout.on('data', (d: Buffer) => output.push(d.toString()));
      child.stderr.on('data', (d: Buffer) => output.push(d.toString()));
      await eventually(() => output.join('').includes('receiving webhooks at'), 5000, 'the receiver listens');
      return { child, text: () => output.join('') };
    };
    const hook = async (name: string, port: number) =>
      (await admin.post('/v1/projects/e2e/webhooks', { name, type: 'custom', url: `http://127.0.0.1:${port}/hooks/herald`, events: ['bb.pipeline.completed'] }))
        .body;
    const [goodPort, wrongPort] = [await freePort(), await freePort()];
    const good = await hook('walk-through', goodPort);
    const wrong = await hook('wrong-secret', wrongPort);
    const goodReceiver = await start(goodPort, good.secret);
    const wrongReceiver = await start(wrongPort, 'whsec_' + Buffer.alloc(32, 9).toString('base64'));
    try {
      const posted = await admin.post('/v1/projects/e2e/events', { type: 'bb.pipeline.completed', title: 'walk-through' });
      await eventually(() => goodReceiver.text().includes(posted.body.id), 10_000, 'the receiver prints the delivery');
      expect(goodReceiver.text()).toMatch(/webhook-signature +v1,\S+\nsignature +✓ verified/);
      expect(goodReceiver.text()).toContain('POST /hooks/herald');
      expect(goodReceiver.text()).toContain('"activity_type": "bb.pipeline.completed"');
      // A receiver with another secret refuses the request (401), so the delivery fails at once.
      await eventually(() => wrongReceiver.text().includes('✗ does not verify'), 10_000, 'the other receiver refuses it');
      await eventually(
        async () => (await admin.get(`/v1/projects/e2e/deliveries?webhookId=${wrong.id}`)).body.items[0]?.status === 'failed',
        10_000,
        'failed delivery',
      );
      await eventually(
        async () => (await admin.get(`/v1/projects/e2e/deliveries?webhookId=${good.id}`)).body.items[0]?.status === 'succeeded',
        10_000,
        'delivered',
      );
    } finally {
      goodReceiver.child.kill();
      wrongReceiver.child.kill();
      for (const id of [good.id, wrong.id]) await admin.delete(`/v1/projects/e2e/webhooks/${id}`);
    }
  });

  it('names each app in Postgres (application_name)', async () => {
    const rows = await withPg((c) => c.query('SELECT DISTINCT application_name FROM pg_stat_activity WHERE datname = $1', [dbName]));
    expect(rows.rows.map((r: { application_name: string }) => r.application_name)).toEqual(
      expect.arrayContaining(['herald-api-gateway', 'herald-ingestion', 'herald-delivery-worker']),
    );
  });

  it('stops at boot with a message naming an unreachable Postgres and how to start it, without echoing its password', async () => {
    const closed = await freePort();
    const failed = startApp('ingestion', { ...env, DATABASE_URL: `postgres://postgres:hunter2@127.0.0.1:${closed}/herald` }, await freePort());
    const message = await failed.then(
      () => 'started',
      (err: Error) => err.message,
    );
    expect(message).toContain(`cannot open Postgres at postgres://***@127.0.0.1:${closed}/herald: connect ECONNREFUSED`);
    expect(message).toContain('pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start');
    expect(message).not.toContain('hunter2');
  });

  it('retries 500, 500 then 200 with the same webhook-id and shows every attempt', async () => {
    receiver.enqueue({ status: 500, body: 'boom' }, { status: 500, body: 'boom again' });
    const posted = await admin.post('/v1/projects/e2e/events', { type: 'bb.issue.create', title: 'flaky receiver' });
    expect(posted.status).toBe(202);
    const event = await eventually(
      async () => {
        const e = await admin.get(`/v1/projects/e2e/events/${posted.body.id}`);
        return e.body.deliveries?.[0]?.status === 'succeeded' ? e.body : undefined;
      },
      10_000,
      'delivery succeeded',
    );
    const deliveryId = event.deliveries[0].id;
    const detail = await admin.get(`/v1/projects/e2e/deliveries/${deliveryId}`);
    expect(detail.body).toMatchObject({ status: 'succeeded', attemptCount: 3, lastError: null });
    expect(detail.body.attempts.map((a: { number: number; statusCode: number; outcome: string }) => [a.number, a.statusCode, a.outcome])).toEqual([
      [1, 500, 'retryable'],
      [2, 500, 'retryable'],
      [3, 200, 'delivered'],
    ]);
    expect(detail.body.attempts[0].responseBody).toBe('boom');
    expect(requestsFor(deliveryId)).toHaveLength(3);
  });

  it('keeps accepting while Redis is down and delivers once it is back', async () => {
    await redis.down();
    // Intake needs Postgres only: it stays ready through a Redis outage.
    const ready = await fetch(`${ingestion.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ status: 'ok', info: { postgres: { status: 'up' } } });
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      const res = await admin.post('/v1/projects/e2e/events', { type: 'incident.create', title: `during outage ${i}` });
      expect(res.status).toBe(202);
      ids.push(res.body.id);
    }
    await new Promise((r) => setTimeout(r, 500));
    await redis.up();
    await eventually(() => ids.every((id) => receiver.requests.some((r) => r.body.includes(id))), 20_000, 'events accepted during the outage delivered');
  }, 40_000);

  it('starts ready and accepts events with Redis unreachable: ingestion loads no queue and probes Postgres only', async () => {
    const closed = await freePort(); // nothing listens there
    const alone = await startApp('ingestion', { ...env, REDIS_URL: `redis://127.0.0.1:${closed}` }, await freePort());
    try {
      // startApp returned once /readyz answered 200; it names Postgres alone.
      const ready = await fetch(`${alone.url}/readyz`);
      expect(ready.status).toBe(200);
      const readiness = (await ready.json()) as { info: Record<string, unknown> };
      expect(Object.keys(readiness.info)).toEqual(['postgres']);
      const res = await new TestClient(alone.url, TEST_ADMIN_TOKEN).post('/v1/projects/e2e/events', {
        type: 'incident.create',
        title: 'accepted without Redis',
      });
      expect(res.status).toBe(202);
      // The worker (whose Redis is up) delivers it: the outbox carried it.
      await eventually(() => receiver.requests.some((r) => r.body.includes(res.body.id)), 10_000, 'the event accepted without Redis delivered');
      // Nothing in ingestion tried Redis (ioredis would log its refused connections as errors).
      expect(alone.output.join('')).not.toMatch(/ECONNREFUSED|redis/i);
    } finally {
      await stopApp(alone);
    }
  }, 40_000);

  it('answers 503 with Retry-After while Postgres is down, and is ready again when it returns', async () => {
    await pg.down();
    const res = await admin.post('/v1/projects/e2e/events', { type: 'bb.issue.create' });
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBeTruthy();
    const ready = await fetch(`${ingestion.url}/readyz`);
    expect(ready.status).toBe(503);
    // The answer is public: it names the dependency, not its error (which names addresses).
    const readiness = (await ready.json()) as { error: unknown };
    expect(readiness.error).toEqual({ postgres: { status: 'down' } });
    expect(JSON.stringify(readiness)).not.toMatch(/ECONN|127\.0\.0\.1|terminated|timeout|\d{4,5}/i);
    await pg.up();
    await eventually(async () => (await fetch(`${ingestion.url}/readyz`)).status === 200, 15_000, 'ingestion ready again');
    expect((await admin.post('/v1/projects/e2e/events', { type: 'bb.issue.create', title: 'after the outage' })).status).toBe(202);
  }, 40_000);

  it('loses nothing when the worker is killed with -9 during a burst of 1000 events', async () => {
    const accepted: string[] = [];
    let next = 0;
    const send = async () => {
      while (next < 1000) {
        next++;
        const res = await admin.post('/v1/projects/e2e/events', { type: 'incident.create', title: 'burst' });
        if (res.status === 202) accepted.push(res.body.id);
      }
    };
    const burst = Promise.all(Array.from({ length: 10 }, send));
    await eventually(() => receiver.requests.length > 50, 20_000, 'burst under way');
    await stopApp(worker, 'SIGKILL');
    await burst;
    worker = await startApp('delivery-worker', env, await freePort());
    expect(accepted).toHaveLength(1000);

    const seen = () => new Set(receiver.requests.map((r) => (JSON.parse(r.body) as { event_id: string }).event_id));
    await eventually(
      () => {
        const delivered = seen();
        return accepted.every((id) => delivered.has(id));
      },
      60_000,
      'every accepted event delivered',
    );
    const perEvent = new Map<string, number>();
    for (const r of receiver.requests) {
      const id = (JSON.parse(r.body) as { event_id: string }).event_id;
      if (accepted.includes(id)) perEvent.set(id, (perEvent.get(id) ?? 0) + 1);
    }
    const duplicates = [...perEvent.values()].reduce((n, c) => n + c - 1, 0);
    // At least once: only what was in flight when the worker died may arrive twice.
    expect(duplicates).toBeLessThanOrEqual(Number(env.HERALD_WORKER_CONCURRENCY));
  }, 120_000);

  it('stops once, with exit code 0, when Ctrl-C and SIGTERM arrive together (as under npm start)', async () => {
    for (const name of ['delivery-worker', 'ingestion'] as const) {
      const app = await startApp(name, env, await freePort());
      const exited = new Promise<number | null>((resolve) => app.process.once('exit', (code) => resolve(code)));
      app.process.kill('SIGINT');
      app.process.kill('SIGTERM');
      expect([name, await exited, app.output.join('').match(/error during shutdown.*|.*more than once.*/)?.[0] ?? null]).toEqual([name, 0, null]);
    }
  }, 60_000);

  it('stops gracefully on SIGTERM', async () => {
    const code = await stopApp(worker, 'SIGTERM', 25_000);
    expect(code).toBe(0);
  }, 30_000);
});
