import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Issue 15 Part 2: fewer index entries per delivery (measured in docs/benchmarks.md, reasons in
 * docs/decisions.md "Performance").
 *
 * - `deliveries` fillfactor 45 (was 85). The claim changes only columns outside every index, so it
 *   can be a HOT update, but only if its new row version fits on the same page. The relay inserts
 *   a backlog's deliveries next to each other and a drain claims them a page at a time: with 15 %
 *   of a page free, about one claim in five or six fitted, and the others were non-HOT updates that
 *   wrote an entry in every index (measured: 19 % HOT in a burst, 70 % in a sequential replay).
 *   With 55 % of each page free, every row of the page can take its claim's version (at 50 % a
 *   page's last few claims still did not fit). New pages only; a table's existing pages keep their layout until rewritten.
 * - `deliveries_project_status (project_id, status, id)` becomes `deliveries_finished_badly`,
 *   the same columns for `failed` and `dead` rows only. The record changes `status`, so it is a
 *   non-HOT update that writes an entry in every index whose rows it is in; the full index took one
 *   from every fan-out, every non-HOT claim and every record. Its readers are served by the others:
 *   `pending` (and `delivering`) by `deliveries_unfinished`, `succeeded` (nearly every row) by
 *   `deliveries_project`, `failed` and `dead` (few rows) by the new partial index, which a
 *   delivery enters only when it ends that way.
 * - The foreign key `deliveries.project_id → projects` goes: every fan-out insert paid a check of
 *   it (a row lock on the project's row, shared by every relay), and it protected nothing the other
 *   two do not. A delivery's project is its event's project (the fan-out copies it), the event's
 *   key references `events` and the webhook's `webhooks`, each `ON DELETE CASCADE`: deleting a
 *   project deletes its events and webhooks, and so their deliveries, as before.
 */
export class CheaperDeliveryWrites1733800000000 implements MigrationInterface {
  name = 'CheaperDeliveryWrites1733800000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE deliveries SET (fillfactor = 45)`);
    await q.query(`DROP INDEX IF EXISTS deliveries_project_status`);
    await q.query(`CREATE INDEX deliveries_finished_badly ON deliveries (project_id, status, id) WHERE status IN ('failed', 'dead')`);
    await q.query(`ALTER TABLE deliveries DROP CONSTRAINT IF EXISTS deliveries_project_id_fkey`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DELETE FROM deliveries d WHERE NOT EXISTS (SELECT 1 FROM projects p WHERE p.id = d.project_id)`);
    await q.query(`ALTER TABLE deliveries ADD CONSTRAINT deliveries_project_id_fkey FOREIGN KEY (project_id) REFERENCES projects(id) ON DELETE CASCADE`);
    await q.query(`DROP INDEX IF EXISTS deliveries_finished_badly`);
    await q.query(`CREATE INDEX deliveries_project_status ON deliveries (project_id, status, id)`);
    await q.query(`ALTER TABLE deliveries SET (fillfactor = 85)`);
  }
}
