import { DataSource } from 'typeorm';
import { QUEUES, deliverJobId } from '@herald/contracts';
import { DeliveryRepository, dataSourceOptions } from '@herald/persistence';
import { MetricsRegistry, type HeraldConfig } from '@herald/platform';
import { HeraldQueues, WorkerCoordination } from '@herald/queue';
import { DeliveryMetrics } from './delivery-metrics';
import { createTestDatabase, deleteQueueKeys, testConfig, uniqueQueuePrefix } from '@herald/testing';
import { Reconciler } from './reconciler';

/**
 * Issue 10, item 1: the reconciler must not starve. One project holds 1 200 deliveries waiting
 * for a late retry whose jobs exist (a dead endpoint on its 2 h / 5 h / 10 h delays); jobs Redis
 * lost sit behind them in that project and in another one. Every lost job must be re-queued within
 * a bounded number of passes, continuing its chain's retry budget.
 */
describe('reconciler against Postgres and Redis', () => {
  let db: DataSource;
  let config: HeraldConfig;
  let queues: HeraldQueues;
  let reconcilers: Reconciler[];
  const prefix = uniqueQueuePrefix();
  const LIVE = 1200;
  const SCAN = 500;

  beforeAll(async () => {
    const url = await createTestDatabase();
    db = new DataSource(dataSourceOptions({ url, poolSize: 4, applicationName: 'reconciler-int-spec' }));
    await db.initialize();
    config = testConfig(url, prefix, {
      HERALD_RECONCILE_EVERY_MS: '100',
      HERALD_RECONCILE_AFTER_MS: '60000',
      HERALD_RETRY_SCHEDULE: '0s,5s,5m,30m,2h,5h,10h,10h',
    });
    queues = new HeraldQueues(config);
    // Two workers: whichever is elected goes on where the other stopped.
    reconcilers = [0, 1].map(
      () => new Reconciler(new DeliveryRepository(db), queues, new WorkerCoordination(queues, config), config, new DeliveryMetrics(new MetricsRegistry())),
    );
  });
  afterAll(async () => {
    await queues.deliver.obliterate({ force: true }).catch(() => undefined);
    await queues.onApplicationShutdown();
    await db.destroy();
    await deleteQueueKeys(prefix);
  });

  /** `n` pending deliveries of a new event each, last changed `age` ago, attempts used as given; returns their ids in creation order. */
  const deliveries = async (project: number, webhook: string, n: number, age: string, chainAttempts = 0, nextIn = '0 seconds'): Promise<string[]> => {
    const rows: Array<{ id: string }> = await db.query(
      `WITH e AS (
         INSERT INTO events (project_id, type, level, title, source, body, occurred_at)
         SELECT $1, 'bb.issue.create', 'INFO', 'r', 'api', '{}', now() FROM generate_series(1, $3::integer) RETURNING id)
       INSERT INTO deliveries (project_id, event_id, webhook_id, event_type, attempt_count, chain_attempts, next_attempt_at, updated_at)
       SELECT $1, e.id, $2, 'bb.issue.create', $5, $5, now() + $6::interval, now() - $4::interval FROM e ORDER BY e.id
       RETURNING id`,
      [project, webhook, n, age, chainAttempts, nextIn],
    );
    return rows.map((r) => r.id).sort();
  };
  const project = async (key: string) => {
    const [{ id }] = await db.query(`INSERT INTO projects (key, name) VALUES ($1, $1) RETURNING id`, [key]);
    const [{ id: webhook }] = await db.query(
      `INSERT INTO webhooks (project_id, name, type, url_encrypted, url_masked, events) VALUES ($1, 'h', 'custom', 'x', 'x', '{bb.issue.create}') RETURNING id`,
      [id],
    );
    return { id: id as number, webhook: webhook as string };
  };

  it('re-queues every lost job behind a large backlog of live ones, in any project, within ceil(unfinished / scan) + 1 passes', async () => {
    const a = await project('a');
    const b = await project('b');
    const live = await deliveries(a.id, a.webhook, LIVE, '3 hours', 4, '2 hours');
    // Their jobs exist: delayed until their 2 h retry.
    await queues.deliver.addBulk(live.map((id) => ({ name: 'deliver', data: { v: 1 as const, deliveryId: id }, opts: { jobId: id, delay: 7_200_000 } })));
    const lostA = await deliveries(a.id, a.webhook, 5, '10 minutes', 2);
    const lostB = await deliveries(b.id, b.webhook, 5, '10 minutes', 0, '20 seconds');
    // Pending but changed a moment ago (a job on its way, say): not for the reconciler yet.
    const young = await deliveries(b.id, b.webhook, 3, '0 seconds');

    const total = LIVE + lostA.length + lostB.length + young.length;
    const bound = Math.ceil(total / SCAN) + 1;
    let passes = 0;
    let requeued = 0;
    const queued = async (ids: string[]) => (await Promise.all(ids.map((id) => queues.deliver.getJob(deliverJobId(id, 0))))).filter(Boolean).length;
    while (passes < bound && (await queued([...lostA, ...lostB])) < 10) {
      // Let the election lock (HERALD_RECONCILE_EVERY_MS) lapse, then let the other worker take its turn.
      await new Promise((r) => setTimeout(r, 150));
      const result = await reconcilers[passes % 2].pass(SCAN);
      expect(result.examined).toBeGreaterThan(0);
      requeued += result.deliveries;
      passes++;
    }
    expect(await queued(lostA)).toBe(5);
    expect(await queued(lostB)).toBe(5);
    expect(requeued).toBe(10);
    expect(await queued(young)).toBe(0);
    expect(passes).toBeLessThanOrEqual(bound);

    // Each continues its chain: the schedule's remaining attempts, and its retry time.
    const schedule = config.retryScheduleMs.length;
    for (const id of lostA) expect((await queues.deliver.getJob(id))?.opts).toMatchObject({ attempts: schedule - 2, delay: 0 });
    for (const id of lostB) {
      const job = await queues.deliver.getJob(id);
      expect(job?.opts.attempts).toBe(schedule);
      expect(job?.opts.delay).toBeGreaterThan(15_000);
      expect(job?.opts.delay).toBeLessThanOrEqual(20_000);
    }
    // The walk keeps going round: another full cycle finds nothing more to do.
    for (let i = 0; i < bound; i++) {
      await new Promise((r) => setTimeout(r, 150));
      expect((await reconcilers[i % 2].pass(SCAN)).deliveries).toBe(0);
    }
    expect(await queues.deliver.count()).toBe(LIVE + 10);
    expect(QUEUES.deliver).toBe(queues.deliver.name);
  }, 60_000);
});
