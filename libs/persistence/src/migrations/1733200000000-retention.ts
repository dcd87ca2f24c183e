import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Data retention (issue 13, item 6):
 *
 * - `maintenance_leases`: one row per periodic job that must run on one process at a time (the
 *   retention purge). A lease is a row with an owner and an expiry, taken and renewed by one
 *   UPDATE: it works through PgBouncer in transaction mode (a session advisory lock would not) and
 *   needs no Redis, so the one-shot `npm run purge` and the workers' schedule exclude each other
 *   with Postgres alone. A holder that dies gives the lease up when it expires.
 * - The DevLake tables get an index on the date their retention reads (the latest of the row's own
 *   dates), so a purge batch is one index range however large the table. Events, deliveries and
 *   attempts need none: their purge walks the events' primary key (UUIDv7, time-ordered) and finds
 *   the rest by the indexes that already exist. (Not CONCURRENTLY, as in earlier migrations: apps
 *   waiting for the migration lock hold snapshots such a build would wait for. These tables take
 *   DevLake's pace of writes, and the build holds them off while it scans each table once.)
 */
export class Retention1733200000000 implements MigrationInterface {
  name = 'Retention1733200000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE maintenance_leases (
        name text PRIMARY KEY,
        owner text,
        leased_until timestamptz NOT NULL DEFAULT '-infinity'
      )`);
    await q.query(`CREATE INDEX devlake_deployments_finished ON devlake_deployments (finished_date)`);
    await q.query(`CREATE INDEX devlake_issues_last_date ON devlake_issues ((greatest(created_date, resolution_date, updated_date)))`);
    await q.query(`CREATE INDEX devlake_pull_requests_last_date ON devlake_pull_requests ((greatest(created_date, merged_date, closed_date)))`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX IF EXISTS devlake_pull_requests_last_date`);
    await q.query(`DROP INDEX IF EXISTS devlake_issues_last_date`);
    await q.query(`DROP INDEX IF EXISTS devlake_deployments_finished`);
    await q.query(`DROP TABLE IF EXISTS maintenance_leases`);
  }
}
