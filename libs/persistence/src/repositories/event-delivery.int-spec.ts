import { DataSource } from 'typeorm';
import { createTestDatabase } from '@herald/testing';
import { dataSourceOptions } from '../data-source';
import { DeliveryRepository } from './delivery.repository';
import { EventRepository, type NewEvent } from './event.repository';
import { OutboxRepository } from './outbox.repository';

const event = (title: string): NewEvent => ({ type: 'bb.issue.create', level: 'INFO', title, source: 'api', body: {}, occurredAt: new Date().toISOString() });

describe('events, outbox and deliveries against Postgres', () => {
  let db: DataSource;
  let events: EventRepository;
  let deliveries: DeliveryRepository;
  let outbox: OutboxRepository;
  let projectId: number;

  beforeAll(async () => {
    db = new DataSource(dataSourceOptions({ url: await createTestDatabase(), poolSize: 10, applicationName: 'int-spec' }));
    await db.initialize();
    events = new EventRepository(db);
    deliveries = new DeliveryRepository(db);
    outbox = new OutboxRepository(db);
    [{ id: projectId }] = await db.query(`INSERT INTO projects (key, name) VALUES ('p', 'P') RETURNING id`);
  });

  afterAll(() => db.destroy());

  it('writes each event with its outbox row, in request order', async () => {
    const { events: accepted, outbox: returned } = await events.accept(projectId, [event('a'), event('b'), event('c')]);
    const rows: Array<{ ref: string }> = await db.query(`SELECT ref FROM outbox WHERE ref = ANY($1) ORDER BY id`, [accepted.map((a) => a.id)]);
    expect(rows.map((r) => r.ref)).toEqual(accepted.map((a) => a.id));
    expect(returned.map((r) => [r.kind, r.ref])).toEqual(accepted.map((a) => ['event', a.id]));
    const stored: Array<{ id: string; title: string }> = await db.query(`SELECT id, title FROM events WHERE id = ANY($1)`, [accepted.map((a) => a.id)]);
    expect(new Map(stored.map((s) => [s.id, s.title]))).toEqual(new Map(accepted.map((a, i) => [a.id, 'abc'[i]])));
  });

  it('lets exactly one of many concurrent requests with the same idempotency key store events', async () => {
    const answers = (await Promise.all(Array.from({ length: 8 }, () => events.accept(projectId, [event('idem')], 'single:same-key')))).map((a) => a.events);
    const ids = new Set(answers.map((a) => a[0].id));
    expect(ids.size).toBe(1);
    expect(answers.filter((a) => !a[0].duplicate)).toHaveLength(1);
    const [{ n }] = await db.query(`SELECT count(*)::int AS n FROM events WHERE title = 'idem'`);
    expect(n).toBe(1);
  });

  it('treats a key older than 24 h as new', async () => {
    const { events: first } = await events.accept(projectId, [event('old')], 'single:aged');
    await db.query(`UPDATE idempotency_keys SET created_at = now() - interval '25 hours' WHERE key = 'single:aged'`);
    const { events: second } = await events.accept(projectId, [event('old')], 'single:aged');
    expect(second[0].duplicate).toBe(false);
    expect(second[0].id).not.toBe(first[0].id);
  });

  it('shares one statement between concurrent writers and answers each with its own rows', async () => {
    const results = await Promise.all(Array.from({ length: 30 }, (_, i) => events.accept(projectId, [event(`c${i}`), event(`d${i}`)])));
    for (const r of results) expect(r.outbox.map((o) => o.ref)).toEqual(r.events.map((e) => e.id));
    const ids = results.flatMap((r) => r.events.map((e) => e.id));
    const [{ n }] = await db.query(`SELECT count(*)::int AS n FROM events WHERE id = ANY($1)`, [ids]);
    expect(n).toBe(60);
  });

  it('fails only the request whose project vanished, not the others batched with it', async () => {
    const [{ id: doomed }] = await db.query(`INSERT INTO projects (key, name) VALUES ('doomed', 'D') RETURNING id`);
    await db.query('DELETE FROM projects WHERE id = $1', [doomed]);
    const outcomes = await Promise.allSettled([events.accept(projectId, [event('ok1')]), events.accept(doomed, [event('lost')]), events.accept(projectId, [event('ok2')])]);
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect((outcomes[1] as PromiseRejectedResult).reason.message).toBe('project not found');
  });

  it('leaves outbox rows in place when publishing fails, and removes them when it succeeds', async () => {
    await db.query('DELETE FROM outbox');
    await events.accept(projectId, [event('x'), event('y')]);
    await expect(outbox.drain(100, 0, async () => Promise.reject(new Error('Redis is down')))).rejects.toThrow('Redis is down');
    expect(await outbox.backlog()).toBe(2);
    const published: string[] = [];
    expect(await outbox.drain(100, 0, async (rows) => void published.push(...rows.map((r) => r.ref)))).toBe(2);
    expect(published).toHaveLength(2);
    expect(await outbox.backlog()).toBe(0);
  });

  it('fans out once per (event, webhook) pair, only to enabled subscribers, and re-offers never-queued deliveries', async () => {
    const hook = async (name: string, types: string[], enabled = true) =>
      (
        await db.query(
          `INSERT INTO webhooks (project_id, name, type, url_encrypted, url_masked, events, enabled) VALUES ($1, $2, 'custom', 'x', 'x', $3, $4) RETURNING id`,
          [projectId, name, types, enabled],
        )
      )[0].id as string;
    const subscribed = await hook('sub', ['bb.issue.create']);
    await hook('other-type', ['incident.create']);
    await hook('disabled', ['bb.issue.create'], false);
    const [accepted] = (await events.accept(projectId, [event('fan')])).events;

    const first = await deliveries.fanOut([accepted.id]);
    expect(first).toHaveLength(1);
    const [row] = await db.query(`SELECT webhook_id FROM deliveries WHERE id = $1`, [first[0]]);
    expect(row.webhook_id).toBe(subscribed);

    // A fan-out that died after its insert: running it again offers the same delivery, no new one.
    expect(await deliveries.fanOut([accepted.id])).toEqual(first);
    // Once the delivery has been attempted it is no longer offered.
    await deliveries.recordAttempt(first[0], 'succeeded', null, {
      startedAt: new Date(),
      durationMs: 5,
      statusCode: 200,
      outcome: 'delivered',
      error: null,
      responseBody: 'ok',
    });
    expect(await deliveries.fanOut([accepted.id])).toEqual([]);
  });

  it('claims only deliveries that are not final, and numbers attempts across the log', async () => {
    const [accepted] = (await events.accept(projectId, [event('claim')])).events;
    const [id] = await deliveries.fanOut([accepted.id]);
    const ctx = await deliveries.claim(id);
    expect(ctx).toMatchObject({ delivery: { id, attemptCount: 0 }, event: { id: accepted.id, title: 'claim' }, project: { id: projectId, key: 'p' } });
    const attempt = { startedAt: new Date(), durationMs: 1, statusCode: 500, outcome: 'retryable' as const, error: 'HTTP 500', responseBody: '' };
    expect(await deliveries.recordAttempt(id, 'pending', new Date(), attempt)).toBe(1);
    expect(await deliveries.recordAttempt(id, 'failed', null, { ...attempt, outcome: 'rejected' })).toBe(2);
    expect(await deliveries.claim(id)).toBeNull();
    expect((await deliveries.attempts(id)).map((a) => a.number)).toEqual([1, 2]);
  });
});
