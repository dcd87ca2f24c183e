import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Issue 10, delivery engine:
 *
 * - `deliveries.claim_token`: the attempt in progress belongs to the claim that started it; only
 *   that claim may record its result, so a job that lost its lock, or a stale job from before a
 *   replay, can never overwrite a delivery (a late record cannot turn `succeeded` back).
 * - `deliveries.chain_attempts`: attempts of the current chain that used the retry schedule (a
 *   replay starts at 0). The processor reads the schedule from it, not from BullMQ's counter, so a
 *   job re-queued by the reconciler continues the budget instead of starting a fresh chain.
 * - `deliveries.rate_limited_streak`: consecutive 429s (or platform rate-limit codes) of the
 *   chain. The first few use no attempt; after that a 429 uses one, so an endpoint that always
 *   answers 429 ends `dead` and counts towards auto-disable.
 * - `delivery_attempts.repeats` / `last_started_at`: consecutive 429s that used no attempt share
 *   one log row (how many, and when the last one started), so the log stays bounded.
 * - `deliveries_unfinished`: the reconciler walks unfinished deliveries in (project, id) order
 *   from where its last pass stopped; this partial index makes each pass one range of the rows it
 *   examines, however many projects or finished deliveries there are. Finished deliveries are
 *   not in it, so finishing one adds no entry; a new delivery and a retry's record add one. (Not
 *   CONCURRENTLY: apps waiting for the migration lock hold snapshots that such a build would wait
 *   for. The build holds off writes to `deliveries` while it scans the table once.)
 *
 * All three delivery columns sit outside every index, so the claim stays a HOT update. Columns
 * with a constant default are added without rewriting the tables.
 */
export class AttemptOwnership1733000000000 implements MigrationInterface {
  name = 'AttemptOwnership1733000000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE deliveries ADD COLUMN claim_token uuid`);
    await q.query(`ALTER TABLE deliveries ADD COLUMN chain_attempts integer NOT NULL DEFAULT 0`);
    await q.query(`ALTER TABLE deliveries ADD COLUMN rate_limited_streak integer NOT NULL DEFAULT 0`);
    // Unfinished first chains continue from the attempts they made (429s never used one). A
    // replayed chain cannot be told apart from its earlier chains here: it starts from 0.
    await q.query(`
      UPDATE deliveries d SET chain_attempts = a.n
        FROM (SELECT delivery_id, count(*)::int AS n FROM delivery_attempts WHERE outcome <> 'rate_limited' GROUP BY delivery_id) a
       WHERE d.id = a.delivery_id AND d.status = 'pending' AND d.replay = 0`);
    await q.query(`CREATE INDEX deliveries_unfinished ON deliveries (project_id, id) WHERE status = 'pending'`);
    await q.query(`ALTER TABLE delivery_attempts ADD COLUMN repeats integer NOT NULL DEFAULT 1`);
    await q.query(`ALTER TABLE delivery_attempts ADD COLUMN last_started_at timestamptz`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE delivery_attempts DROP COLUMN last_started_at`);
    await q.query(`ALTER TABLE delivery_attempts DROP COLUMN repeats`);
    await q.query(`DROP INDEX IF EXISTS deliveries_unfinished`);
    await q.query(`ALTER TABLE deliveries DROP COLUMN rate_limited_streak`);
    await q.query(`ALTER TABLE deliveries DROP COLUMN chain_attempts`);
    await q.query(`ALTER TABLE deliveries DROP COLUMN claim_token`);
  }
}
