import { DataSource } from 'typeorm';
import { createTestDatabase, withPg } from '@herald/testing';
import { dataSourceOptions } from '../data-source';
import { OutboxRepository } from './outbox.repository';

/**
 * The relay's lease statement under a backlog (issue 10, 5b). In production it ran for minutes:
 * pg caches named statements, Postgres switches to a generic plan after five executions, and a
 * plan made while the tables were small re-ran an ordered scan of the outbox for every outbox row.
 */
describe('outbox lease against Postgres', () => {
  let db: DataSource;
  let outbox: OutboxRepository;
  let projectId: number;

  beforeAll(async () => {
    const url = await createTestDatabase();
    // An old statement that never ends fails the test instead of hanging it.
    await withPg((c) => c.query(`ALTER DATABASE "${new URL(url).pathname.slice(1)}" SET statement_timeout = '20s'`));
    // One connection: every lease runs on the connection that cached its plan.
    db = new DataSource(dataSourceOptions({ url, poolSize: 1, applicationName: 'outbox-int-spec' }));
    await db.initialize();
    [{ id: projectId }] = await db.query(`INSERT INTO projects (key, name) VALUES ('p', 'P') RETURNING id`);
    await db.query(
      `INSERT INTO webhooks (project_id, name, type, url_encrypted, url_masked, events)
       SELECT $1, 'h' || i, 'custom', 'x', 'x', '{bb.issue.create}' FROM generate_series(1, 3) i`,
      [projectId],
    );
    await db.query('ANALYZE');
    outbox = new OutboxRepository(db);
  });
  afterAll(() => db.destroy());

  it('stays cheap when the outbox grows after its plan was made on small tables: every pass of 500 in well under a second', async () => {
    // A relay warmed up on an empty outbox (more than the five runs after which a generic plan may be cached).
    for (let i = 0; i < 8; i++) await outbox.leaseAndFanOut(500, 30_000);
    // Then a burst: 40 000 events, a quarter of their rows leased by another relay, a quarter
    // already relayed (deleted, not yet vacuumed: dead entries the index still points at).
    await db.query(`ALTER TABLE outbox SET (autovacuum_enabled = false)`);
    await db.query(
      `WITH e AS (
         INSERT INTO events (project_id, type, level, title, source, body, occurred_at)
         SELECT $1, 'bb.issue.create', 'INFO', 'burst', 'api', '{}', now() FROM generate_series(1, 40000) RETURNING id)
       INSERT INTO outbox (kind, ref) SELECT 'event', id FROM e ORDER BY id`,
      [projectId],
    );
    await db.query(`UPDATE outbox SET leased_until = now() + interval '1 hour' WHERE id % 4 = 1`);
    await db.query(`DELETE FROM outbox WHERE id % 4 = 2`);

    const passes: number[] = [];
    let moved = 0;
    for (;;) {
      const started = performance.now();
      const work = await outbox.leaseAndFanOut(500, 30_000);
      passes.push(performance.now() - started);
      if (work.outboxIds.length === 0) break;
      moved += work.outboxIds.length;
      // Three subscribed webhooks: three deliveries per event, all to be queued.
      expect(work.deliveries).toHaveLength(3 * work.events);
      await outbox.delete(work.outboxIds);
    }
    expect(moved).toBe(20_000);
    expect(Math.max(...passes)).toBeLessThan(1000);
    const [{ n }] = await db.query(`SELECT count(*)::int AS n FROM deliveries`);
    expect(n).toBe(60_000);
  }, 120_000);
});
