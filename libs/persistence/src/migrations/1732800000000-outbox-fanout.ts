import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The worker's relay fans events out straight from the outbox (no fan-out queue in Redis):
 *
 * - `outbox.leased_until`: a relay leases the rows it works on, so several relays never work on
 *   the same row, and a relay that died mid-pass gives its rows back when the lease ends;
 * - a statement-level trigger sends NOTIFY `herald_outbox` when rows are inserted, so relays wake
 *   at the writer's commit (one notification per transaction, whatever the number of rows);
 * - `events.fanned_out_at` is no longer needed: an event is fanned out when its outbox row is gone.
 *   Events whose fan-out job was still in Redis at upgrade time get an outbox row again, so the new
 *   relay fans them out (a repeated fan-out creates nothing twice).
 */
export class OutboxFanout1732800000000 implements MigrationInterface {
  name = 'OutboxFanout1732800000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE outbox ADD COLUMN leased_until timestamptz`);
    await q.query(`
      INSERT INTO outbox (kind, ref)
      SELECT 'event', e.id FROM events e
       WHERE e.fanned_out_at IS NULL AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.kind = 'event' AND o.ref = e.id)
       ORDER BY e.id`);
    await q.query(`DROP INDEX IF EXISTS events_not_fanned_out`);
    await q.query(`ALTER TABLE events DROP COLUMN IF EXISTS fanned_out_at`);
    await q.query(`
      CREATE FUNCTION herald_outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        PERFORM pg_notify('herald_outbox', '');
        RETURN NULL;
      END $$`);
    await q.query(`CREATE TRIGGER outbox_notify AFTER INSERT ON outbox FOR EACH STATEMENT EXECUTE FUNCTION herald_outbox_notify()`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TRIGGER IF EXISTS outbox_notify ON outbox`);
    await q.query(`DROP FUNCTION IF EXISTS herald_outbox_notify()`);
    await q.query(`ALTER TABLE events ADD COLUMN fanned_out_at timestamptz`);
    await q.query(`UPDATE events e SET fanned_out_at = e.received_at WHERE NOT EXISTS (SELECT 1 FROM outbox o WHERE o.kind = 'event' AND o.ref = e.id)`);
    await q.query(`CREATE INDEX events_not_fanned_out ON events (received_at) WHERE fanned_out_at IS NULL`);
    await q.query(`ALTER TABLE outbox DROP COLUMN leased_until`);
  }
}
