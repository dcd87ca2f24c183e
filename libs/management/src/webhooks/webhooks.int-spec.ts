import { DataSource } from 'typeorm';
import { ChannelRegistry } from '@herald/channels';
import { DeliveryLanesRepository, DeliveryRepository, WebhookRepository, dataSourceOptions } from '@herald/persistence';
import { SecretBox, type HeraldConfig } from '@herald/platform';
import { createTestDatabase, testConfig, uniqueQueuePrefix } from '@herald/testing';
import { WebhooksService } from './webhooks.service';

/** Webhook updates racing other writers, against the real Postgres (issue 10, item 9). */
describe('webhook updates under concurrency', () => {
  let db: DataSource;
  let config: HeraldConfig;
  let service: WebhooksService;
  let deliveries: DeliveryRepository;
  let projectId: number;

  beforeAll(async () => {
    const url = await createTestDatabase();
    config = testConfig(url, uniqueQueuePrefix());
    db = new DataSource(dataSourceOptions({ url, poolSize: 10, applicationName: 'int-spec' }));
    await db.initialize();
    service = new WebhooksService(new WebhookRepository(db), new ChannelRegistry(), new SecretBox(config), config, new DeliveryLanesRepository(db));
    deliveries = new DeliveryRepository(db);
    [{ id: projectId }] = await db.query(`INSERT INTO projects (key, name) VALUES ('races', 'Races') RETURNING id`);
  });

  afterAll(() => db.destroy());

  const custom = (name: string) => service.create(projectId, { name, type: 'custom', url: 'https://receiver.example.com/hook', events: ['bb.issue.create'] });
  const row = async (id: string) =>
    (await db.query(`SELECT name, enabled, disabled_reason, secret_encrypted, previous_secret_encrypted FROM webhooks WHERE id = $1`, [id]))[0] as {
      name: string;
      enabled: boolean;
      disabled_reason: string | null;
      secret_encrypted: string;
      previous_secret_encrypted: string | null;
    };

  it('never writes enabled=true back when a PATCH of other fields races an auto-disable', async () => {
    const lost: number[] = [];
    for (let round = 0; round < 40; round++) {
      const hook = await custom(`race-${round}`);
      // The auto-disable lands at a different moment of the PATCH in each round.
      const delay = (round % 8) / 2;
      await Promise.all([
        service.update(projectId, hook.id, { name: `renamed-${round}` }),
        new Promise((r) => setTimeout(r, delay)).then(() => deliveries.disable(hook.id, 'endpoint answered 410 Gone')),
      ]);
      const after = await row(hook.id);
      expect(after.name).toBe(`renamed-${round}`);
      if (after.enabled || after.disabled_reason !== 'endpoint answered 410 Gone') lost.push(round);
    }
    expect(lost).toEqual([]);
  });

  it('keeps both secrets of two concurrent rotations: the second one signs, the first one is the previous secret', async () => {
    for (let round = 0; round < 10; round++) {
      const hook = await custom(`rotate-${round}`);
      const original = (await service.secret(projectId, hook.id)).secret;
      const [a, b] = await Promise.all([service.rotateSecret(projectId, hook.id), service.rotateSecret(projectId, hook.id)]);
      const box = new SecretBox(config);
      const stored = await row(hook.id);
      const current = box.decrypt(stored.secret_encrypted, { table: 'webhooks', column: 'secret', row: hook.id });
      const previous = box.decrypt(stored.previous_secret_encrypted as string, { table: 'webhooks', column: 'secret', row: hook.id });
      expect(new Set([current, previous])).toEqual(new Set([a.secret, b.secret]));
      expect(previous).not.toBe(original);
      expect((await service.secret(projectId, hook.id)).secret).toBe(current);
    }
  });

  it('answers an empty PATCH with the webhook unchanged, and keeps the reason of one disabled twice', async () => {
    const { secret: _secret, ...hook } = await custom('patch-nothing');
    // Not even updated_at moves (it restarts auto-disable streaks).
    expect(await service.update(projectId, hook.id, {})).toEqual(hook);
    await deliveries.disable(hook.id, 'endpoint answered 410 Gone');
    expect(await service.update(projectId, hook.id, { enabled: false })).toMatchObject({ enabled: false, disabledReason: 'endpoint answered 410 Gone' });
    expect(await service.update(projectId, hook.id, { enabled: true })).toMatchObject({ enabled: true, disabledReason: null, disabledAt: null });
    expect(await service.update(projectId, hook.id, { enabled: false })).toMatchObject({ enabled: false, disabledReason: 'disabled by a user' });
  });

  it('turns digests and ordering on and off by PATCH, and the deliveries already waiting follow (issue 16)', async () => {
    const slack = await service.create(projectId, {
      name: 'lanes',
      type: 'slack',
      url: 'https://hooks.slack.com/services/T0/B0/XYZ',
      events: ['bb.issue.create'],
    });
    expect(slack).toMatchObject({ digest: null, ordering: 'none' });
    const [{ id: eventId }] = await db.query(
      `INSERT INTO events (project_id, type, level, title, source, body, occurred_at) VALUES ($1, 'bb.issue.create', 'INFO', 't', 'api', '{"issue":{"id":9}}', now()) RETURNING id`,
      [projectId],
    );
    const [{ id }] = await db.query(
      `INSERT INTO deliveries (project_id, event_id, webhook_id, event_type) VALUES ($1, $2, $3, 'bb.issue.create') RETURNING id`,
      [projectId, eventId, slack.id],
    );
    const lanes = async () => (await db.query(`SELECT subject, digestible FROM deliveries WHERE id = $1`, [id]))[0];
    expect(await lanes()).toEqual({ subject: null, digestible: false });
    expect(await service.update(projectId, slack.id, { digest: { afterQueued: 5, maxItems: 50 }, ordering: 'subject' })).toMatchObject({
      digest: { afterQueued: 5, maxItems: 50 },
      ordering: 'subject',
    });
    expect(await lanes()).toEqual({ subject: 'issue:9', digestible: true });
    expect(await service.update(projectId, slack.id, { digest: null })).toMatchObject({ digest: null, ordering: 'subject' });
    expect(await lanes()).toEqual({ subject: 'issue:9', digestible: false });
    // A custom webhook never gets digests; the answer says why.
    const hook = await custom('no-digest');
    await expect(service.update(projectId, hook.id, { digest: { afterQueued: 1, maxItems: 10 } })).rejects.toMatchObject({
      details: [{ field: 'digest', message: expect.stringContaining('one signed event per request') }],
    });
  });
});
