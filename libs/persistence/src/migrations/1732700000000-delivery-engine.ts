import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * When an event was fanned out, so the reconciler can find events whose fan-out job Redis lost
 * (a Redis restart without persistence, a failover): a small partial index holds only those.
 */
export class DeliveryEngine1732700000000 implements MigrationInterface {
  name = 'DeliveryEngine1732700000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE events ADD COLUMN fanned_out_at timestamptz`);
    // Events stored before this migration were fanned out by the code of their time.
    await q.query(`UPDATE events SET fanned_out_at = received_at`);
    await q.query(`CREATE INDEX events_not_fanned_out ON events (received_at) WHERE fanned_out_at IS NULL`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX IF EXISTS events_not_fanned_out`);
    await q.query(`ALTER TABLE events DROP COLUMN IF EXISTS fanned_out_at`);
  }
}
