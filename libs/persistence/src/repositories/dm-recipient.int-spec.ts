import { DataSource } from 'typeorm';
import { createTestDatabase } from '@herald/testing';
import { dataSourceOptions, runMigrations } from '../data-source';
import { DmRecipientRepository } from './dm-recipient.repository';
import { ImIntegrationRepository } from './im-integration.repository';

describe('direct-message ledger and IM integrations against Postgres', () => {
  let db: DataSource;
  let ledger: DmRecipientRepository;
  let deliveryId: string;

  beforeAll(async () => {
    db = new DataSource(dataSourceOptions({ url: await createTestDatabase(), poolSize: 10, applicationName: 'int-spec' }));
    await db.initialize();
    await runMigrations(db);
    ledger = new DmRecipientRepository(db);
    const [{ id: projectId }] = await db.query(`INSERT INTO projects (key, name) VALUES ('dm', 'DM') RETURNING id`);
    const [{ id: webhookId }] = await db.query(
      `INSERT INTO webhooks (project_id, name, type, url_encrypted, url_masked, events) VALUES ($1, 'w', 'slack', 'x', 'x', '{}') RETURNING id`,
      [projectId],
    );
    const [{ id: eventId }] = await db.query(
      `INSERT INTO events (project_id, type, level, title, source, body, occurred_at) VALUES ($1, 'bb.issue.approval.notify', 'WARN', 't', 'api', '{}', now()) RETURNING id`,
      [projectId],
    );
    [{ id: deliveryId }] = await db.query(
      `INSERT INTO deliveries (project_id, event_id, webhook_id, event_type) VALUES ($1, $2, $3, 'bb.issue.approval.notify') RETURNING id`,
      [projectId, eventId, webhookId],
    );
  });

  afterAll(() => db.destroy());

  it('lets exactly one of many concurrent claims win each user', async () => {
    const results = await Promise.all(Array.from({ length: 6 }, () => ledger.claim(deliveryId, 'slack', ['a@x', 'b@x'])));
    expect(results.flat().sort()).toEqual(['a@x', 'b@x']);
    await ledger.markSent(deliveryId, 'slack', ['a@x']);
    await ledger.release(deliveryId, 'slack', ['a@x', 'b@x']);
    expect(await ledger.states(deliveryId, 'slack')).toEqual(new Map([['a@x', 'sent']]));
    expect(await ledger.claim(deliveryId, 'slack', ['a@x', 'b@x'])).toEqual(['b@x']);
    expect(await ledger.states(deliveryId, 'feishu')).toEqual(new Map());
  });

  it('upserts and deletes IM integrations', async () => {
    const repo = new ImIntegrationRepository(db);
    await repo.upsert('slack', 'enc-1', 'https://slack.example.com/api');
    await repo.upsert('slack', 'enc-2', null);
    expect(await repo.find('slack')).toEqual({ credentialsEncrypted: 'enc-2', apiBaseUrl: null });
    await repo.upsert('slack', 'enc-3', 'https://chat.example.com/api');
    expect(await repo.find('slack')).toEqual({ credentialsEncrypted: 'enc-3', apiBaseUrl: 'https://chat.example.com/api' });
    expect(await repo.delete('slack')).toBe(true);
    expect(await repo.find('slack')).toBeNull();
  });

  it("stores a provider the migrations never heard of: which providers exist is the channel registry's business (issue 15)", async () => {
    const repo = new ImIntegrationRepository(db);
    const saved = await repo.upsert('mattermost', 'enc', 'https://chat.example.com/api/v4');
    expect([saved.provider, saved.apiBaseUrl]).toEqual(['mattermost', 'https://chat.example.com/api/v4']);
    const checks = await db.query(`SELECT conname FROM pg_constraint WHERE conrelid = 'im_integrations'::regclass AND contype = 'c'`);
    expect(checks).toEqual([]);
  });
});
