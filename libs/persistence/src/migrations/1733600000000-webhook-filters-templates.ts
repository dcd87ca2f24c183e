import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Issue 16, items 2 and 4: a webhook's `filter` (a JSON filter over the event; NULL: every event of
 * its types) and `templates` (message text per event type for chat channels; NULL: the built-in
 * message). Nullable columns without a default: adding them rewrites nothing. The relay's fan-out
 * reads `filter` from the webhook rows it already fetches (no index needed); the claim reads one
 * template (`templates -> type`).
 */
export class WebhookFiltersTemplates1733600000000 implements MigrationInterface {
  name = 'WebhookFiltersTemplates1733600000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE webhooks ADD COLUMN filter jsonb, ADD COLUMN templates jsonb`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE webhooks DROP COLUMN filter, DROP COLUMN templates`);
  }
}
