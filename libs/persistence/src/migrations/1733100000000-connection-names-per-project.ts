import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Connection names become unique per project instead of across Herald (issue 10, item 7): one
 * project could otherwise take another's name (`b_deployments`), learn it exists from the 409,
 * and receive its posts by name. The by-name routes resolve within the caller's project; an index
 * on the name alone serves the admin token and Basic auth, which look across projects.
 */
export class ConnectionNamesPerProject1733100000000 implements MigrationInterface {
  name = 'ConnectionNamesPerProject1733100000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE devlake_connections ADD CONSTRAINT devlake_connections_project_name UNIQUE (project_id, name)`);
    await q.query(`ALTER TABLE devlake_connections DROP CONSTRAINT devlake_connections_name`);
    await q.query(`CREATE INDEX devlake_connections_name ON devlake_connections (name)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX devlake_connections_name`);
    await q.query(`ALTER TABLE devlake_connections ADD CONSTRAINT devlake_connections_name UNIQUE (name)`);
    await q.query(`ALTER TABLE devlake_connections DROP CONSTRAINT devlake_connections_project_name`);
  }
}
