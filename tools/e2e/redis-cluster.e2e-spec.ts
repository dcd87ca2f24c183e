import { Queue } from 'bullmq';
import IORedis, { Cluster } from 'ioredis';
import { QUEUES, type DeliverJobV1 } from '@herald/contracts';
import {
  FakeReceiver,
  RedisClusterServers,
  TestClient,
  TEST_ADMIN_TOKEN,
  createTestDatabase,
  eventually,
  freePort,
  metricSum,
  startApp,
  startHerald,
  stopApp,
  testEnv,
  type RunningApp,
} from '@herald/testing';

/**
 * Issue 13, item 1, end to end: the three apps (two workers) on a real Redis Cluster of three
 * masters with a password, which this spec starts and stops, `HERALD_REDIS_CLUSTER_NODES` in place
 * of REDIS_URL and the default prefix `{herald}`. Deliveries flow; one webhook's limit holds across
 * both workers at the receiver; the queue metrics count the cluster's queue; and when the cluster
 * loses its data, the reconciler puts the lost delivery back.
 */
describe('Herald on a Redis Cluster, end to end', () => {
  let servers: RedisClusterServers;
  const apps: RunningApp[] = [];
  const receivers: FakeReceiver[] = [];
  let admin: TestClient;
  let workers: RunningApp[];
  let connection: Cluster;
  let queue: Queue<DeliverJobV1>;

  beforeAll(async () => {
    servers = await RedisClusterServers.start({ password: 'cluster-secret-0123' });
    const env = testEnv(await createTestDatabase(), '', {
      ...servers.env(),
      HERALD_RETRY_SCHEDULE: '0s,2s,2s',
      HERALD_RECONCILE_EVERY_MS: '300',
      HERALD_RECONCILE_AFTER_MS: '1000',
      HERALD_WORKER_CONCURRENCY: '5',
    });
    apps.push(...(await startHerald(env, 2)));
    workers = apps.slice(2);
    admin = new TestClient(apps[1].url, TEST_ADMIN_TOKEN);
    expect((await admin.post('/v1/projects', { key: 'cluster', name: 'Cluster' })).status).toBe(201);
    connection = new Cluster(
      servers.nodes.map((n) => ({ host: '127.0.0.1', port: n.port })),
      { redisOptions: { password: servers.password ?? undefined, maxRetriesPerRequest: 3 } },
    );
    queue = new Queue<DeliverJobV1>(QUEUES.deliver, { connection, prefix: '{herald}' });
  }, 90_000);

  afterAll(async () => {
    await Promise.all(apps.map((app) => stopApp(app, 'SIGKILL')));
    await queue?.close();
    connection?.disconnect();
    await Promise.all(receivers.map((r) => r.stop()));
    await servers?.stop();
  });

  let hooks = 0;
  const webhook = async (type: string, extra: Record<string, unknown> = {}) => {
    const r = await FakeReceiver.start();
    receivers.push(r);
    const res = await admin.post('/v1/projects/cluster/webhooks', { name: `hook-${++hooks}`, type: 'custom', url: `${r.url}/hook`, events: [type], ...extra });
    expect(res.status).toBe(201);
    return Object.assign(r, { webhookId: res.body.id as string });
  };
  const send = async (type: string, n: number): Promise<string[]> => {
    const res = await admin.post(
      '/v1/projects/cluster/events/batch',
      Array.from({ length: n }, (_, i) => ({ type, title: `${type} #${i}` })),
    );
    expect(res.status).toBe(202);
    return (res.body.items as Array<{ id: string }>).map((e) => e.id);
  };
  const eventIds = (r: FakeReceiver) => r.requests.map((q) => JSON.parse(q.body).event_id as string);
  const metric = (app: RunningApp, name: string, labels: string) => metricSum(app.url, name, labels);

  it('delivers every event, with the queue in the {herald} hash slot', async () => {
    const r = await webhook('bb.issue.create');
    const ids = await send('bb.issue.create', 40);
    await r.waitFor(40, 15_000);
    expect(new Set(eventIds(r))).toEqual(new Set(ids));
    const slot = await servers.nodes[0].client((c) => c.cluster('KEYSLOT', '{herald}'));
    const owner = await servers.nodeOf('{herald}');
    expect(await owner.client((c) => c.cluster('COUNTKEYSINSLOT', slot))).toBeGreaterThan(0);
  });

  it('holds a webhook limited to 5 per second across both workers: no sliding second at the receiver holds more than 5', async () => {
    const before = await Promise.all(workers.map((w) => metric(w, 'herald_deliveries_total', 'outcome="delivered"')));
    const r = await webhook('bb.issue.comment.create', { rateLimit: { count: 5, perSeconds: 1 } });
    await send('bb.issue.comment.create', 25);
    const got = await r.waitFor(25, 20_000);
    const times = got.map((q) => q.at).sort((a, b) => a - b);
    // Any 6 consecutive arrivals span at least a second.
    const shortest = Math.min(...times.slice(5).map((t, i) => t - times[i]));
    expect(shortest).toBeGreaterThanOrEqual(1000);
    // The limit is used, not just respected: 25 at 5/s take about 4 s.
    expect(times[times.length - 1] - times[0]).toBeLessThan(6500);
    const sent = await eventually(async () => {
      const after = await Promise.all(workers.map((w) => metric(w, 'herald_deliveries_total', 'outcome="delivered"')));
      const each = after.map((n, i) => n - before[i]);
      return each[0] + each[1] >= 25 ? each : undefined;
    }, 5000);
    expect(sent[0]).toBeGreaterThan(0);
    expect(sent[1]).toBeGreaterThan(0);
  });

  it('reports the queue backlog and depth of the cluster queue (paused: every job waits), and 0 once it drains', async () => {
    const r = await webhook('bb.issue.field.update');
    await queue.pause();
    try {
      await send('bb.issue.field.update', 7);
      await eventually(async () => (await queue.getWaitingCount()) === 7, 15_000, 'seven waiting jobs');
      for (const w of workers) {
        await eventually(async () => (await metric(w, 'herald_queue_backlog', `queue="${QUEUES.deliver}"`)) === 7, 15_000, 'herald_queue_backlog to read 7');
        await eventually(async () => (await metric(w, 'herald_queue_jobs', 'state="waiting"')) === 7, 15_000, 'herald_queue_jobs{state="waiting"} to read 7');
      }
      expect(r.requests).toHaveLength(0);
    } finally {
      await queue.resume();
    }
    await r.waitFor(7, 10_000);
    for (const w of workers)
      await eventually(async () => (await metric(w, 'herald_queue_backlog', `queue="${QUEUES.deliver}"`)) === 0, 15_000, 'herald_queue_backlog back to 0');
  });

  it('gives the claim back when the limiter check fails before the send: the next try goes at once, not after the abandoned-attempt window', async () => {
    const r = await webhook('bb.pipeline.failed', { rateLimit: { count: 100, perSeconds: 1 } });
    // A limiter log of the wrong type: the limiter's script fails for this webhook (as a command does while Redis fails over).
    const log = `herald:rl:{${r.webhookId}}:log`;
    await connection.set(log, 'not a list');
    await send('bb.pipeline.failed', 1);
    await new Promise((res) => setTimeout(res, 1000));
    expect(r.requests).toHaveLength(0);
    await connection.del(log);
    const fixed = Date.now();
    await r.waitFor(1, 15_000);
    // The retry waits its backoff (2 s), not until the failed attempt counts as abandoned (2 × 3 s + 5 s).
    expect(Date.now() - fixed).toBeLessThan(5000);
  });

  it('re-queues a delivery whose job the cluster lost (every master flushed while it waited for its retry)', async () => {
    const r = await webhook('incident.create');
    r.enqueue({ status: 503 });
    const [id] = await send('incident.create', 1);
    await r.waitFor(1, 10_000);
    // The retry waits 2 s in the delayed set; the cluster loses everything meanwhile.
    await eventually(async () => (await queue.getDelayedCount()) === 1, 5000, 'the retry to be scheduled');
    await servers.flushAll();
    expect(await queue.getDelayedCount()).toBe(0);
    const got = await r.waitFor(2, 15_000);
    expect(eventIds(r)).toEqual([id, id]);
    expect(got[1].headers['webhook-id']).toBe(got[0].headers['webhook-id']);
    const reconciled = await Promise.all(workers.map((w) => metric(w, 'herald_reconciled_total', 'kind="delivery"')));
    expect(reconciled[0] + reconciled[1]).toBeGreaterThanOrEqual(1);
  });
});

/**
 * The managed-cluster settings (in-transit encryption and an AUTH password): the cluster listens
 * for TLS only, on every node and its bus, with a certificate from a throwaway CA that the apps
 * trust through NODE_EXTRA_CA_CERTS, as docs/operations.md says for a private CA.
 */
describe('Herald on a Redis Cluster with TLS', () => {
  let servers: RedisClusterServers;
  let receiver: FakeReceiver;
  const apps: RunningApp[] = [];

  beforeAll(async () => {
    servers = await RedisClusterServers.start({ password: 'cluster-secret-0123', tls: true });
    receiver = await FakeReceiver.start();
    const ingestionPort = await freePort();
    const env = testEnv(await createTestDatabase(), '', { ...servers.env(), HERALD_INGESTION_URL: `http://127.0.0.1:${ingestionPort}` });
    expect(env.HERALD_REDIS_TLS).toBe('true');
    apps.push(
      ...(await Promise.all([
        startApp('ingestion', env, ingestionPort),
        startApp('api-gateway', env, await freePort()),
        startApp('delivery-worker', env, await freePort()),
      ])),
    );
  }, 90_000);

  afterAll(async () => {
    await Promise.all(apps.map((app) => stopApp(app, 'SIGKILL')));
    await receiver?.stop();
    await servers?.stop();
  });

  it('is ready and delivers, every connection encrypted and authenticated', async () => {
    const admin = new TestClient(apps[1].url, TEST_ADMIN_TOKEN);
    expect((await admin.post('/v1/projects', { key: 'tls', name: 'TLS' })).status).toBe(201);
    expect(
      (await admin.post('/v1/projects/tls/webhooks', { name: 'r', type: 'custom', url: `${receiver.url}/hook`, events: ['deployment.create'] })).status,
    ).toBe(201);
    const res = await admin.post(
      '/v1/projects/tls/events/batch',
      Array.from({ length: 5 }, (_, i) => ({ type: 'deployment.create', title: `deploy ${i}` })),
    );
    expect(res.status).toBe(202);
    await receiver.waitFor(5, 15_000);
    for (const app of apps) expect((await fetch(`${app.url}/readyz`)).status).toBe(200);
    // The nodes speak TLS only: a plain-text client gets nowhere (so the apps did use TLS).
    const plain = new IORedis({
      port: servers.nodes[0].port,
      password: 'cluster-secret-0123',
      lazyConnect: true,
      retryStrategy: () => null,
      maxRetriesPerRequest: 0,
      connectTimeout: 2000,
    });
    plain.on('error', () => undefined);
    await expect(plain.connect().then(() => plain.ping())).rejects.toThrow();
    plain.disconnect();
  });
});
