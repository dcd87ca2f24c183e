import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { createTestDatabase } from '@herald/testing';
import { dataSourceOptions } from '../data-source';
import { DeliveryRepository } from './delivery.repository';

/**
 * What a delivery's writes cost Postgres (issue 15 Part 2, migration 1733800000000): a backlog's
 * deliveries claimed a page at a time are HOT updates (no index entry), and the record pays for
 * the indexes of `deliveries` that list every row: four, not five.
 */
describe('the cost of a delivery in Postgres', () => {
  let db: DataSource;
  let repo: DeliveryRepository;

  beforeAll(async () => {
    db = new DataSource(dataSourceOptions({ url: await createTestDatabase(), poolSize: 4, applicationName: 'delivery-writes-int-spec' }));
    await db.initialize();
    repo = new DeliveryRepository(db);
  });
  afterAll(() => db.destroy());

  /** Updates of `deliveries` so far, and how many were HOT, once the statistics caught up with `expected` updates. */
  async function updates(expected: number): Promise<{ all: number; hot: number }> {
    for (let i = 0; ; i++) {
      const [r] = await db.query(`SELECT n_tup_upd::int AS all, n_tup_hot_upd::int AS hot FROM pg_stat_user_tables WHERE relname = 'deliveries'`);
      if (r.all >= expected || i >= 100) return r;
      // Statistics reach the view within a second of the writer's transaction.
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  it('claims 200 deliveries inserted together with HOT updates only', async () => {
    const [{ id: project }] = await db.query(`INSERT INTO projects (key, name) VALUES ('p', 'P') RETURNING id`);
    const [{ id: webhook }] = await db.query(
      `INSERT INTO webhooks (project_id, name, type, url_encrypted, url_masked, events) VALUES ($1, 'h', 'custom', 'x', 'x', '{bb.issue.create}') RETURNING id`,
      [project],
    );
    // As the relay's fan-out writes a backlog: one statement, rows side by side on their pages.
    const rows: Array<{ id: string }> = await db.query(
      `WITH e AS (
         INSERT INTO events (project_id, type, level, title, source, body, occurred_at)
         SELECT $1, 'bb.issue.create', 'INFO', 't', 'api', '{"issue": {"id": 1, "title": "a title of some length"}}', now() FROM generate_series(1, 200)
         RETURNING id)
       INSERT INTO deliveries (project_id, event_id, webhook_id, event_type) SELECT $1, e.id, $2, 'bb.issue.create' FROM e RETURNING id`,
      [project, webhook],
    );
    const before = await updates(0);
    // As a drain claims them: concurrent jobs, batched into few statements.
    const claims = await Promise.all(rows.map(({ id }) => repo.claim({ deliveryId: id, replay: 0, token: randomUUID(), maxAttemptMs: 60_000 })));
    expect(claims.every((c) => c.kind === 'claimed')).toBe(true);
    const after = await updates(before.all + rows.length);
    expect(after.all - before.all).toBe(rows.length);
    expect(after.hot - before.hot).toBe(rows.length);
  });

  it('keeps four indexes over every delivery, and the failed and dead ones in a partial index', async () => {
    const indexes: Array<{ name: string; partial: boolean }> = await db.query(
      `SELECT c.relname AS name, i.indpred IS NOT NULL AS partial FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
        WHERE i.indrelid = 'deliveries'::regclass ORDER BY 1`,
    );
    expect(indexes.filter((i) => !i.partial).map((i) => i.name)).toEqual([
      'deliveries_event_webhook',
      'deliveries_pkey',
      'deliveries_project',
      'deliveries_webhook',
    ]);
    expect(indexes.filter((i) => i.partial).map((i) => i.name)).toContain('deliveries_finished_badly');
  });
});
