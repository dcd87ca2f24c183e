import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { createTestDatabase } from '@herald/testing';
import { dataSourceOptions } from '../data-source';
import { CLAIM_SQL, DeliveryRepository, RECORD_SQL } from './delivery.repository';

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

  /** A project with one custom webhook subscribed to `bb.issue.create`. */
  async function projectWithWebhook(key: string): Promise<{ project: number; webhook: string }> {
    const [{ id: project }] = await db.query(`INSERT INTO projects (key, name) VALUES ($1, $1) RETURNING id`, [key]);
    const [{ id: webhook }] = await db.query(
      `INSERT INTO webhooks (project_id, name, type, url_encrypted, url_masked, events) VALUES ($1, 'h', 'custom', 'x', 'x', '{bb.issue.create}') RETURNING id`,
      [project],
    );
    return { project, webhook };
  }

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
    const { project, webhook } = await projectWithWebhook('p');
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

  it('looks the claimed and recorded rows up by primary key, even when statistics say few are pending', async () => {
    const { project, webhook } = await projectWithWebhook('q');
    // After a drain: thousands finished, two pending, and the statistics know it.
    const rows: Array<{ id: string }> = await db.query(
      `WITH e AS (
         INSERT INTO events (project_id, type, level, title, source, body, occurred_at)
         SELECT $1, 'bb.issue.create', 'INFO', 't', 'api', '{}', now() FROM generate_series(1, 3000) RETURNING id)
       INSERT INTO deliveries (project_id, event_id, webhook_id, event_type, status) SELECT $1, e.id, $2, 'bb.issue.create', 'succeeded' FROM e RETURNING id`,
      [project, webhook],
    );
    const ids = rows.slice(0, 2).map((r) => r.id);
    await db.query(`UPDATE deliveries SET status = 'pending' WHERE id = ANY($1::uuid[])`, [ids]);
    await db.query('ANALYZE deliveries');
    const runner = db.createQueryRunner();
    try {
      // The plan a prepared statement settles on after five runs, as the worker's connections use them.
      await runner.query('SET plan_cache_mode = force_generic_plan');
      // EXPLAIN EXECUTE takes literal arguments (a utility statement has no bind parameters).
      const plan = async (name: string, sql: string, args: string[]): Promise<string> => {
        await runner.query(`PREPARE ${name} AS ${sql}`);
        await runner.query('BEGIN');
        try {
          const out: Array<{ 'QUERY PLAN': unknown }> = await runner.query(`EXPLAIN (FORMAT JSON) EXECUTE ${name}(${args.join(', ')})`);
          return JSON.stringify(out[0]['QUERY PLAN']);
        } finally {
          await runner.query('ROLLBACK');
        }
      };
      const token = randomUUID();
      const list = (values: Array<string | number | boolean | null>, type: string) =>
        `ARRAY[${values.map((v) => (v === null ? 'NULL' : typeof v === 'string' ? `'${v}'` : String(v))).join(', ')}]::${type}[]`;
      const claim = await plan('spec_claim', CLAIM_SQL, [
        list(ids, 'uuid'),
        list([0, 0], 'integer'),
        list([token, token], 'uuid'),
        list([60_000, 60_000], 'integer'),
      ]);
      const record = await plan('spec_record', RECORD_SQL, [
        list(ids, 'uuid'),
        list([token, token], 'uuid'),
        list(['succeeded', 'succeeded'], 'text'),
        list([null, null], 'timestamptz'),
        list([null, null], 'text'),
        list(['2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z'], 'timestamptz'),
        list([1, 1], 'integer'),
        list([200, 200], 'integer'),
        list(['delivered', 'delivered'], 'text'),
        list([null, null], 'text'),
        list(['', ''], 'text'),
        list([true, true], 'boolean'),
      ]);
      for (const p of [claim, record]) {
        expect(p).toContain('deliveries_pkey');
        expect(p).not.toContain('deliveries_unfinished');
      }
    } finally {
      await runner.release();
    }
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
