import { DataSource } from 'typeorm';
import { createTestDatabase } from '@herald/testing';
import { dataSourceOptions } from '../data-source';
import { EventRepository, type NewEvent } from './event.repository';
import { FilteredFanOut } from './filtered-fan-out';
import { OutboxRepository } from './outbox.repository';

const deployment = (environment: string, refName = 'main'): NewEvent => ({
  type: 'deployment.create',
  level: 'SUCCESS',
  title: `Deployment to ${environment}`,
  source: 'devlake',
  body: { rollout: { id: 'd', environment }, deployment: { id: 'd', environment, result: 'SUCCESS', commits: [{ commitSha: 'abc', refName }] } },
  occurredAt: '2024-05-01T10:00:00.123Z',
});

describe('the relay fan-out with webhook filters (issue 16) against Postgres', () => {
  let db: DataSource;
  let events: EventRepository;
  let outbox: OutboxRepository;
  let projectId: number;

  beforeAll(async () => {
    db = new DataSource(dataSourceOptions({ url: await createTestDatabase(), poolSize: 4, applicationName: 'int-spec' }));
    await db.initialize();
    events = new EventRepository(db);
    outbox = new OutboxRepository(db);
    [{ id: projectId }] = await db.query(`INSERT INTO projects (key, name) VALUES ('p', 'P') RETURNING id`);
  });

  afterAll(() => db.destroy());

  beforeEach(async () => {
    await db.query('DELETE FROM outbox');
    await db.query('DELETE FROM deliveries');
    await db.query('DELETE FROM webhooks');
  });

  const hook = async (name: string, filter: unknown, enabled = true) =>
    (
      await db.query(
        `INSERT INTO webhooks (project_id, name, type, url_encrypted, url_masked, events, enabled, filter) VALUES ($1, $2, 'custom', 'x', 'x', $3, $4, $5) RETURNING id`,
        [projectId, name, ['deployment.create'], enabled, filter === null ? null : JSON.stringify(filter)],
      )
    )[0].id as string;

  const pairs = async () =>
    (
      (await db.query(
        `SELECT e.title, w.name FROM deliveries d JOIN events e ON e.id = d.event_id JOIN webhooks w ON w.id = d.webhook_id ORDER BY e.title, w.name`,
      )) as Array<{ title: string; name: string }>
    ).map((r) => `${r.title} → ${r.name}`);

  it('creates deliveries only for the pairs whose filter passes, in the same pass', async () => {
    await hook('all', null);
    await hook('prod', { 'deployment.environment': 'PRODUCTION' });
    await hook('releases', { 'deployment.commits.refName': { $regex: '^release/' }, level: { $ne: 'ERROR' } });
    await hook('off', { 'deployment.environment': 'PRODUCTION' }, false);
    await events.accept(projectId, [deployment('PRODUCTION'), deployment('STAGING', 'release/2.0'), deployment('TESTING')]);

    const work = await outbox.leaseAndFanOut(100, 60_000);
    expect(work.events).toBe(3);
    expect(work.deliveries).toHaveLength(5);
    expect(work.filteredOut).toBe(4);
    expect(await pairs()).toEqual([
      'Deployment to PRODUCTION → all',
      'Deployment to PRODUCTION → prod',
      'Deployment to STAGING → all',
      'Deployment to STAGING → releases',
      'Deployment to TESTING → all',
    ]);
    const [{ n }] = await db.query(`SELECT count(*)::int AS n FROM deliveries WHERE id = ANY ($1::uuid[])`, [work.deliveries.map((d) => d.deliveryId)]);
    expect(n).toBe(5);
  });

  it('a pass repeated after a crash creates nothing twice and offers the filtered deliveries again', async () => {
    await hook('prod', { 'deployment.environment': 'PRODUCTION' });
    await events.accept(projectId, [deployment('PRODUCTION'), deployment('STAGING')]);
    const first = await outbox.leaseAndFanOut(100, 60_000);
    expect(first.deliveries).toHaveLength(1);
    await outbox.release(first.outboxIds, 0);
    const second = await outbox.leaseAndFanOut(100, 60_000);
    expect(second.deliveries).toEqual(first.deliveries);
    expect(await pairs()).toEqual(['Deployment to PRODUCTION → prod']);
  });

  it('traced passes say which event each filtered delivery fans out', async () => {
    await hook('prod', { 'deployment.environment': 'PRODUCTION' });
    const [accepted] = await events.accept(projectId, [deployment('PRODUCTION')]);
    const work = await outbox.leaseAndFanOut(100, 60_000, { traced: true });
    expect(work.deliveries).toEqual([{ deliveryId: expect.any(String), replay: 0, eventId: accepted.id }]);
  });

  it('filters read the event as the API returns it: body fields, columns, times in ISO-8601, the project key', async () => {
    const fanOut = new FilteredFanOut(db);
    const decide = jest.spyOn(fanOut, 'decide');
    (outbox as unknown as { filtered: FilteredFanOut }).filtered = fanOut;
    await hook('exact', {
      title: 'Deployment to PRODUCTION',
      source: 'devlake',
      projectKey: 'p',
      occurredAt: '2024-05-01T10:00:00.123Z',
      receivedAt: { $regex: '^\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}Z$' },
      'rollout.environment': 'PRODUCTION',
    });
    await events.accept(projectId, [deployment('PRODUCTION')]);
    const work = await outbox.leaseAndFanOut(100, 60_000);
    expect(work.deliveries).toHaveLength(1);
    const [, candidateEvents] = decide.mock.calls[0];
    const [stored] = await db.query(`SELECT received_at FROM events WHERE id = $1`, [candidateEvents[0].id]);
    expect(candidateEvents[0].receivedAt).toBe((stored.received_at as Date).toISOString());
  });

  it('a webhook deleted between the lease and the insert gets no delivery, and the pass goes on', async () => {
    const gone = await hook('gone', { level: 'SUCCESS' });
    const kept = await hook('kept', { level: 'SUCCESS' });
    const [accepted] = await events.accept(projectId, [deployment('PRODUCTION')]);
    await db.query('DELETE FROM webhooks WHERE id = $1', [gone]);
    const fanOut = new FilteredFanOut(db);
    const event = {
      id: accepted.id,
      type: 'deployment.create',
      level: 'SUCCESS',
      title: 't',
      source: 'api',
      body: {},
      occurredAt: '',
      receivedAt: '',
      projectKey: 'p',
    };
    const candidate = (webhookId: string) => ({ projectId, eventId: accepted.id, type: 'deployment.create', webhookId, filter: { level: 'SUCCESS' } });
    const result = await fanOut.fanOut([candidate(gone), candidate(kept)], [event], 5000, false);
    expect(result.created).toHaveLength(1);
    expect(await pairs()).toEqual(['Deployment to PRODUCTION → kept']);
  });

  it("the fan-out trigger gives the second statement's deliveries their subject and digest flag (issue 16 items 1 and 3)", async () => {
    const [{ id: lanes }] = await db.query(
      `INSERT INTO webhooks (project_id, name, type, url_encrypted, url_masked, events, filter, ordering, digest)
       VALUES ($1, 'lanes', 'slack', 'x', 'x', $2, $3, 'subject', '{"afterQueued": 5, "maxItems": 50}') RETURNING id`,
      [projectId, ['deployment.create'], JSON.stringify({ 'deployment.environment': 'PRODUCTION' })],
    );
    await hook('plain', { 'deployment.environment': 'PRODUCTION' });
    await events.accept(projectId, [deployment('PRODUCTION'), deployment('STAGING')]);
    const work = await outbox.leaseAndFanOut(100, 60_000);
    expect(work.deliveries).toHaveLength(2);
    const rows = await db.query(`SELECT webhook_id, subject, digestible FROM deliveries ORDER BY webhook_id = $1 DESC`, [lanes]);
    expect(rows).toEqual([
      { webhook_id: lanes, subject: 'deployment:d', digestible: true },
      { webhook_id: expect.any(String), subject: null, digestible: false },
    ]);
  });

  it('the filtered deliveries commit with the lease: a pass that fails between the two statements leases and creates nothing', async () => {
    await hook('all', null);
    await hook('prod', { 'deployment.environment': 'PRODUCTION' });
    await events.accept(projectId, [deployment('PRODUCTION')]);
    const fanOut = new FilteredFanOut(db);
    jest.spyOn(fanOut, 'fanOutWith').mockRejectedValueOnce(new Error('relay stopped between the statements'));
    (outbox as unknown as { filtered: FilteredFanOut }).filtered = fanOut;
    await expect(outbox.leaseAndFanOut(100, 60_000)).rejects.toThrow('between the statements');
    // An ordered webhook's claim reads un-leased outbox rows as "not fanned out yet": the row must still be one.
    expect(await db.query(`SELECT leased_until FROM outbox`)).toEqual([{ leased_until: null }]);
    expect(await pairs()).toEqual([]);
    const again = await outbox.leaseAndFanOut(100, 60_000);
    expect(again.deliveries).toHaveLength(2);
    expect(await pairs()).toEqual(['Deployment to PRODUCTION → all', 'Deployment to PRODUCTION → prod']);
  });

  it('a stored filter that no longer validates lets events through rather than dropping them', () => {
    const fanOut = new FilteredFanOut(db);
    const event = {
      id: 'e',
      type: 'deployment.create',
      level: 'SUCCESS',
      title: 't',
      source: 'api',
      body: {},
      occurredAt: '',
      receivedAt: '',
      projectKey: 'p',
    };
    const decided = fanOut.decide(
      [
        { projectId, eventId: 'e', type: 'deployment.create', webhookId: 'w1', filter: { levl: 'ERROR' } },
        { projectId, eventId: 'e', type: 'deployment.create', webhookId: 'w2', filter: { level: 'ERROR' } },
      ],
      [event],
    );
    expect(decided.pass.map((p) => p.webhookId)).toEqual(['w1']);
    expect(decided.filteredOut).toBe(1);
  });
});
