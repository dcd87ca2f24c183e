import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * IM integrations (issue 15): the API base becomes part of the stored integration
 * (`api_base_url`, NULL: the provider's default, from HERALD_*_API_URL or the public API), so a
 * self-hosted platform has its own; and the CHECK listing the providers goes. Which providers
 * exist is the channel registry's business (an adapter that declares an IM app), checked by the
 * API on every write, so adding a platform needs no migration.
 *
 * A nullable column without a default rewrites nothing; dropping a CHECK takes a brief ACCESS
 * EXCLUSIVE lock on a table of at most a handful of rows.
 */
export class ImIntegrationApiBase1733500000000 implements MigrationInterface {
  name = 'ImIntegrationApiBase1733500000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE im_integrations ADD COLUMN api_base_url text`);
    await q.query(`ALTER TABLE im_integrations DROP CONSTRAINT IF EXISTS im_integrations_provider_check`);
  }

  async down(q: QueryRunner): Promise<void> {
    // NOT VALID: rows stored for a provider added since are kept; new rows are checked again.
    await q.query(
      `ALTER TABLE im_integrations ADD CONSTRAINT im_integrations_provider_check CHECK (provider IN ('slack', 'feishu', 'lark', 'wecom', 'dingtalk')) NOT VALID`,
    );
    await q.query(`ALTER TABLE im_integrations DROP COLUMN api_base_url`);
  }
}
