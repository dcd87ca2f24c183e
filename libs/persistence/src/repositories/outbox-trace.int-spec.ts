import { DataSource } from 'typeorm';
import { createTestDatabase } from '@herald/testing';
import { dataSourceOptions } from '../data-source';
import { EventRepository, type NewEvent } from './event.repository';
import { OutboxRepository } from './outbox.repository';

/**
 * The trace context an outbox row carries from the intake request to the relay (tracing on), and
 * nothing at all while tracing is off: no value written, no column read.
 */
describe('outbox trace context against Postgres', () => {
  let db: DataSource;
  let events: EventRepository;
  let outbox: OutboxRepository;
  let projectId: number;
  const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
  const event = (title: string, tp?: string): NewEvent => ({
    type: 'bb.issue.create',
    level: 'INFO',
    title,
    source: 'api',
    body: {},
    occurredAt: new Date().toISOString(),
    ...(tp ? { traceparent: tp } : {}),
  });
  const rowOf = async (eventId: string): Promise<{ traceparent: string | null }> =>
    (await db.query('SELECT traceparent FROM outbox WHERE ref = $1', [eventId]))[0];

  beforeAll(async () => {
    db = new DataSource(dataSourceOptions({ url: await createTestDatabase(), poolSize: 4, applicationName: 'outbox-trace-int-spec' }));
    await db.initialize();
    [{ id: projectId }] = await db.query(`INSERT INTO projects (key, name) VALUES ('t', 'T') RETURNING id`);
    await db.query(
      `INSERT INTO webhooks (project_id, name, type, url_encrypted, url_masked, events) VALUES ($1, 'a', 'custom', 'x', 'x', '{bb.issue.create}'), ($1, 'b', 'custom', 'x', 'x', '{bb.issue.create}')`,
      [projectId],
    );
    events = new EventRepository(db);
    outbox = new OutboxRepository(db);
  });
  afterAll(() => db.destroy());
  afterEach(() => db.query('DELETE FROM outbox'));

  it("writes the events' traceparent into their outbox rows, and NULL for events without one, when both share group commits", async () => {
    // 40 requests at once, 4 statements at a time: the rest wait and go out together, traced and untraced mixed.
    const answers = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        events.accept(projectId, i % 2 ? [event('plain')] : [event('traced', traceparent), event('traced too', traceparent)]),
      ),
    );
    for (const [i, accepted] of answers.entries()) for (const e of accepted) expect(await rowOf(e.id)).toEqual({ traceparent: i % 2 ? null : traceparent });
    // With an idempotency key (the insert runs in the key's transaction) and inside a caller's transaction (DevLake).
    const [keyed] = await events.accept(projectId, [event('keyed', traceparent)], 'k1');
    expect(await rowOf(keyed.id)).toEqual({ traceparent });
    await db.transaction((tx) => events.insertWithin(tx, projectId, [event('devlake', traceparent)]));
    const [{ ref }] = await db.query(`SELECT o.ref FROM outbox o JOIN events e ON e.id = o.ref WHERE e.title = 'devlake'`);
    expect(await rowOf(ref)).toEqual({ traceparent });
  });

  it("leases the context with each traced row and names each delivery's event; untraced, the lease reads neither", async () => {
    const [tracedEvent] = await events.accept(projectId, [event('a', traceparent)]);
    const [plainEvent] = await events.accept(projectId, [event('b')]);
    const work = await outbox.leaseAndFanOut(100, 30_000, { traced: true });
    expect(work.events).toBe(2);
    expect(work.traces).toEqual([{ kind: 'event', ref: tracedEvent.id, traceparent }]);
    expect(work.deliveries).toHaveLength(4);
    expect(work.deliveries.filter((d) => d.eventId === tracedEvent.id)).toHaveLength(2);
    expect(work.deliveries.filter((d) => d.eventId === plainEvent.id)).toHaveLength(2);
    await outbox.delete(work.outboxIds);

    await events.accept(projectId, [event('c', traceparent)]);
    const untraced = await outbox.leaseAndFanOut(100, 30_000);
    expect(untraced.traces).toBeUndefined();
    expect(untraced.deliveries).toHaveLength(2);
    for (const d of untraced.deliveries) expect(Object.keys(d).sort()).toEqual(['deliveryId', 'replay']);
  });

  it("carries a replay row's context by its delivery", async () => {
    const [{ id: deliveryId }] = await db.query(
      `INSERT INTO deliveries (project_id, event_id, webhook_id, event_type, status, replay)
       SELECT $1, e.id, w.id, e.type, 'pending', 1 FROM events e, webhooks w WHERE w.project_id = $1 LIMIT 1 RETURNING id`,
      [projectId],
    );
    await db.query(`INSERT INTO outbox (kind, ref, replay, traceparent) VALUES ('delivery', $1, 1, $2)`, [deliveryId, traceparent]);
    const work = await outbox.leaseAndFanOut(100, 30_000, { traced: true });
    expect(work.traces).toEqual([{ kind: 'delivery', ref: deliveryId, traceparent }]);
    expect(work.deliveries).toEqual([{ deliveryId, replay: 1 }]);
  });
});
