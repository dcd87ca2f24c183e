import { DataSource } from 'typeorm';
import { v7 } from 'uuid';
import { PURGE_LEASE, RetentionRepository, dataSourceOptions } from '@herald/persistence';
import { MetricsRegistry } from '@herald/platform';
import { RetentionMetrics } from './delivery-metrics';
import { createTestDatabase, testConfig, uniqueQueuePrefix } from '@herald/testing';
import { ScheduledPurge } from './retention';

/**
 * The workers' schedule (issue 13, item 6): a purge started by the timer counts what it removes by
 * table, and a worker that stops ends it between batches and gives the lease back at once, so the
 * next worker's purge goes on without waiting for the lease to expire.
 */
describe('scheduled retention purge against Postgres', () => {
  let db: DataSource;
  let url: string;
  const OLD = 300;

  beforeAll(async () => {
    url = await createTestDatabase();
    db = new DataSource(dataSourceOptions({ url, poolSize: 4, applicationName: 'scheduled-purge-int-spec' }));
    await db.initialize();
    const [{ id: project }] = await db.query(`INSERT INTO projects (key, name) VALUES ('p', 'P') RETURNING id`);
    const at = Array.from({ length: OLD }, (_, i) => Date.now() - 60 * 86_400_000 + i);
    await db.query(
      `INSERT INTO events (id, project_id, type, level, title, source, body, occurred_at, received_at)
       SELECT e, $1, 'bb.issue.create', 'INFO', 'old', 'api', '{}', to_timestamp(t / 1000.0), to_timestamp(t / 1000.0) FROM unnest($2::uuid[], $3::double precision[]) AS x(e, t)`,
      [project, at.map((t) => v7({ msecs: t })), at],
    );
  });
  afterAll(() => db.destroy());

  it('counts removed rows by table, and a stopping worker ends its purge between batches and releases the lease', async () => {
    const config = testConfig(url, uniqueQueuePrefix(), { HERALD_RETENTION_EVERY_MS: '1000', HERALD_RETENTION_BATCH: '10', HERALD_RETENTION_PAUSE_MS: '100' });
    const metrics = new RetentionMetrics(new MetricsRegistry());
    const repository = new RetentionRepository(db);
    const purge = new ScheduledPurge(repository, config, metrics);
    const removed = async () => (await metrics.retentionRemoved.get()).values.find((v) => v.labels.table === 'events')?.value ?? 0;
    purge.start();
    const deadline = Date.now() + 10_000;
    while ((await removed()) < 30 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(await repository.leaseHolder(PURGE_LEASE)).not.toBeNull();

    await purge.onModuleDestroy();

    const gone = await removed();
    expect(gone).toBeGreaterThanOrEqual(30);
    expect(gone).toBeLessThan(OLD);
    const [{ n }] = await db.query(`SELECT count(*)::int AS n FROM events`);
    expect(n).toBe(OLD - gone);
    expect((await metrics.retentionRuns.get()).values).toEqual([expect.objectContaining({ labels: { outcome: 'stopped' }, value: 1 })]);
    expect((await metrics.retentionBatchDuration.get()).values.some((v) => v.labels.phase === 'events')).toBe(true);
    expect(await repository.leaseHolder(PURGE_LEASE)).toBeNull();
  });
});
