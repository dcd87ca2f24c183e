import type { MigrationInterface, QueryRunner } from 'typeorm';

/** IM integrations (workspace-wide, encrypted) and the per-delivery direct-message ledger (issue 5). */
export class ImIntegrations1732600000000 implements MigrationInterface {
  name = 'ImIntegrations1732600000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE im_integrations (
        provider text PRIMARY KEY CHECK (provider IN ('slack', 'feishu', 'lark', 'wecom', 'dingtalk')),
        credentials_encrypted text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`
      CREATE TABLE delivery_dm_recipients (
        delivery_id uuid NOT NULL REFERENCES deliveries(id) ON DELETE CASCADE,
        provider text NOT NULL,
        user_key text NOT NULL,
        state text NOT NULL CHECK (state IN ('claimed', 'sent')),
        updated_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT delivery_dm_recipients_pk PRIMARY KEY (delivery_id, provider, user_key)
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE IF EXISTS delivery_dm_recipients');
    await q.query('DROP TABLE IF EXISTS im_integrations');
  }
}
