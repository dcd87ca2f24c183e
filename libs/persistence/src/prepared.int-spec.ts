import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { createTestDatabase } from '@herald/testing';
import { dataSourceOptions } from './data-source';
import { DeliveryRepository } from './repositories/delivery.repository';
import { EventRepository } from './repositories/event.repository';

/**
 * HERALD_DATABASE_POOL_MODE (issue 13 item 3): in session mode (the default) the hot path's
 * statements are named prepared statements, planned once per connection; in transaction mode
 * (behind PgBouncer) they are unnamed, since the next statement may run on another server
 * connection, where a name prepared elsewhere does not exist. A pool of one connection lets the
 * spec ask that very connection what it has prepared.
 */
describe.each([
  ['session', ['herald_claim_v4', 'herald_insert_events_v2', 'herald_record_v4']],
  ['transaction', []],
] as const)('hot statements in %s pool mode', (poolMode, named) => {
  let db: DataSource;
  let url: string;

  beforeAll(async () => {
    url = await createTestDatabase();
    db = new DataSource(dataSourceOptions({ url, poolSize: 1, applicationName: 'prepared-int-spec', poolMode }));
    await db.initialize();
  });
  afterAll(() => db.destroy());

  it(named.length ? 'runs them as named prepared statements' : 'runs them unnamed, and they work', async () => {
    const [{ id: project }] = await db.query(`INSERT INTO projects (key, name) VALUES ('p', 'P') RETURNING id`);
    const [{ id: webhook }] = await db.query(
      `INSERT INTO webhooks (project_id, name, type, url_encrypted, url_masked, events) VALUES ($1, 'h', 'custom', 'x', 'x', '{bb.issue.create}') RETURNING id`,
      [project],
    );
    const [accepted] = await new EventRepository(db).accept(project, [
      { type: 'bb.issue.create', level: 'INFO', title: 't', source: 'api', body: {}, occurredAt: new Date().toISOString() },
    ]);
    const [{ id: delivery }] = await db.query(
      `INSERT INTO deliveries (project_id, event_id, webhook_id, event_type) VALUES ($1, $2, $3, 'bb.issue.create') RETURNING id`,
      [project, accepted.id, webhook],
    );
    const deliveries = new DeliveryRepository(db);
    const token = randomUUID();
    expect((await deliveries.claim({ deliveryId: delivery, replay: 0, token, maxAttemptMs: 60_000 })).kind).toBe('claimed');
    const number = await deliveries.recordAttempt(
      delivery,
      token,
      'succeeded',
      null,
      { startedAt: new Date(), durationMs: 1, statusCode: 200, outcome: 'delivered', error: null, responseBody: '' },
      true,
    );
    expect(number).toBe(1);

    const prepared: Array<{ name: string }> = await db.query('SELECT name FROM pg_prepared_statements ORDER BY name');
    expect(prepared.map((p) => p.name)).toEqual(named);
  });
});
