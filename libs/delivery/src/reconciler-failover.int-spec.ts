import { DataSource } from 'typeorm';
import { deliverJobId } from '@herald/contracts';
import { DeliveryRepository, dataSourceOptions } from '@herald/persistence';
import { MetricsRegistry, type HeraldConfig } from '@herald/platform';
import { HeraldQueues, WorkerCoordination } from '@herald/queue';
import { DeliveryMetrics } from './delivery-metrics';
import { RedisServer, TcpProxy, createTestDatabase, eventually, testConfig, uniqueQueuePrefix } from '@herald/testing';
import { Reconciler } from './reconciler';

/**
 * Issue 13, item 2: when Redis comes back as another server (a Sentinel failover to a replica that
 * was behind, a restart without persistence), the delivery jobs it never had must come back at
 * once, not HERALD_RECONCILE_AFTER_MS (5 min) later. A reconnect to the same server must not
 * trigger that walk.
 */
describe('reconciler when Redis is replaced by another server', () => {
  let server: RedisServer;
  let proxy: TcpProxy;
  let db: DataSource;
  let config: HeraldConfig;
  let queues: HeraldQueues;
  let metrics: DeliveryMetrics;
  let reconciler: Reconciler;
  let project: { id: number; webhook: string };

  beforeAll(async () => {
    server = await RedisServer.start();
    proxy = await TcpProxy.start('127.0.0.1', server.node.port);
    const url = await createTestDatabase();
    db = new DataSource(dataSourceOptions({ url, poolSize: 4, applicationName: 'reconciler-failover-int-spec' }));
    await db.initialize();
    // The production defaults: a pass a minute, deliveries unchanged for 5 minutes.
    config = testConfig(url, uniqueQueuePrefix(), {
      REDIS_URL: proxy.url(server.url),
      HERALD_RECONCILE_EVERY_MS: '60000',
      HERALD_RECONCILE_AFTER_MS: '300000',
      // The longest attempt (2 × this + 5 s) decides when the second walk after a change runs.
      HERALD_DELIVERY_TIMEOUT_MS: '1000',
    });
    queues = new HeraldQueues(config);
    metrics = new DeliveryMetrics(new MetricsRegistry());
    reconciler = new Reconciler(new DeliveryRepository(db), queues, new WorkerCoordination(queues, config), config, metrics);
    const [{ id }] = await db.query(`INSERT INTO projects (key, name) VALUES ('p', 'p') RETURNING id`);
    const [{ id: webhook }] = await db.query(
      `INSERT INTO webhooks (project_id, name, type, url_encrypted, url_masked, events) VALUES ($1, 'h', 'custom', 'x', 'x', '{bb.issue.create}') RETURNING id`,
      [id],
    );
    project = { id, webhook };
    await queues.ready(5000);
    await reconciler.start();
  }, 60_000);

  afterAll(async () => {
    await reconciler?.onApplicationShutdown();
    await queues?.onApplicationShutdown();
    await db?.destroy();
    await proxy?.down();
    await server?.stop();
  });

  /** `n` pending deliveries created just now (far from stale for the regular passes), next attempt `nextIn` away. */
  const fresh = async (n: number, nextIn = '0 seconds'): Promise<string[]> => {
    const rows: Array<{ id: string }> = await db.query(
      `WITH e AS (
         INSERT INTO events (project_id, type, level, title, source, body, occurred_at)
         SELECT $1, 'bb.issue.create', 'INFO', 'r', 'api', '{}', now() FROM generate_series(1, $3::integer) RETURNING id)
       INSERT INTO deliveries (project_id, event_id, webhook_id, event_type, next_attempt_at)
       SELECT $1, e.id, $2, 'bb.issue.create', now() + $4::interval FROM e RETURNING id`,
      [project.id, project.webhook, n, nextIn],
    );
    return rows.map((r) => r.id);
  };
  const jobsExist = async (ids: string[]) => {
    const missing = await queues.missingDeliveryJobs(ids.map((id) => deliverJobId(id, 0)));
    return ids.map((id) => !missing.includes(deliverJobId(id, 0)));
  };
  const reconciled = async () => (await metrics.reconciled.get()).values.reduce((sum, v) => sum + v.value, 0);

  it('re-queues at once the deliveries whose jobs the new server does not hold', async () => {
    // Waiting for a retry an hour away, their jobs delayed until then.
    const ids = await fresh(20, '1 hour');
    await queues.enqueueDeliveries(ids.map((deliveryId) => ({ deliveryId, replay: 0, resume: { attemptsUsed: 1, delayMs: 3_600_000 } })));
    expect((await jobsExist(ids)).every(Boolean)).toBe(true);

    await server.restart();
    await queues.ready(10_000);
    const started = Date.now();
    // The walk counts its re-queued jobs after Redis took them: wait for the count, not the jobs.
    await eventually(async () => ((await reconciled()) >= 20 ? true : undefined), 10_000, 'every lost job back');
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(await jobsExist(ids)).toEqual(ids.map(() => true));
    expect(await reconciled()).toBe(20);
    // Each keeps its chain's retry time (an hour away), as a regular re-queue does.
    const job = await queues.deliver.getJob(deliverJobId(ids[0], 0));
    expect(job?.opts.delay).toBeGreaterThan(3_000_000);

    // An attempt in flight at the change gives its claim back after the first walk (its rate-limit
    // check failed with the old server): its delivery changed after the change, its job is gone.
    // The second walk, once every attempt in flight at the change has ended, re-queues it.
    const givenBack = await fresh(4);
    await db.query(`UPDATE deliveries SET updated_at = now() WHERE id = ANY($1)`, [givenBack]);
    expect(await jobsExist(givenBack)).toEqual([false, false, false, false]);
    await eventually(async () => ((await reconciled()) >= 24 ? true : undefined), 15_000, 'the given-back deliveries re-queued by the second walk');
    expect(Date.now() - started).toBeGreaterThanOrEqual(2 * 1000 + 5000 - 1000);
    expect(await jobsExist(givenBack)).toEqual([true, true, true, true]);
    expect(await reconciled()).toBe(24);
  }, 40_000);

  it('does not walk again when the connection comes back to the same server', async () => {
    const before = await reconciled();
    // Deliveries without jobs, changed a moment ago: a walk would re-queue them, a regular pass would not.
    const ids = await fresh(3);
    await proxy.down();
    await proxy.up();
    await queues.ready(10_000);
    await new Promise((r) => setTimeout(r, 2000));
    expect(await jobsExist(ids)).toEqual([false, false, false]);
    expect(await reconciled()).toBe(before);
  }, 30_000);
});
