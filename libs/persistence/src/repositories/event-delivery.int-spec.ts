import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { createTestDatabase } from '@herald/testing';
import { dataSourceOptions } from '../data-source';
import { DeliveryRepository } from './delivery.repository';
import { EventRepository, type NewEvent } from './event.repository';
import { OutboxRepository } from './outbox.repository';
import { deliveryStatus } from '../entities';
import type { DeliveryStatus } from '@herald/domain';

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
    const accepted = await events.accept(projectId, [event('a'), event('b'), event('c')]);
    const rows: Array<{ kind: string; ref: string }> = await db.query(`SELECT kind, ref FROM outbox WHERE ref = ANY($1) ORDER BY id`, [
      accepted.map((a) => a.id),
    ]);
    expect(rows.map((r) => [r.kind, r.ref])).toEqual(accepted.map((a) => ['event', a.id]));
    const stored: Array<{ id: string; title: string }> = await db.query(`SELECT id, title FROM events WHERE id = ANY($1)`, [accepted.map((a) => a.id)]);
    expect(new Map(stored.map((s) => [s.id, s.title]))).toEqual(new Map(accepted.map((a, i) => [a.id, 'abc'[i]])));
  });

  it('lets exactly one of many concurrent requests with the same idempotency key store events', async () => {
    const answers = await Promise.all(Array.from({ length: 8 }, () => events.accept(projectId, [event('idem')], 'single:same-key')));
    const ids = new Set(answers.map((a) => a[0].id));
    expect(ids.size).toBe(1);
    expect(answers.filter((a) => !a[0].duplicate)).toHaveLength(1);
    const [{ n }] = await db.query(`SELECT count(*)::int AS n FROM events WHERE title = 'idem'`);
    expect(n).toBe(1);
  });

  it('treats a key older than 24 h as new', async () => {
    const first = await events.accept(projectId, [event('old')], 'single:aged');
    await db.query(`UPDATE idempotency_keys SET created_at = now() - interval '25 hours' WHERE key = 'single:aged'`);
    const second = await events.accept(projectId, [event('old')], 'single:aged');
    expect(second[0].duplicate).toBe(false);
    expect(second[0].id).not.toBe(first[0].id);
  });

  it('shares one statement between concurrent writers and answers each with its own rows', async () => {
    const results = await Promise.all(Array.from({ length: 30 }, (_, i) => events.accept(projectId, [event(`c${i}`), event(`d${i}`)])));
    const ids = results.flatMap((r) => r.map((e) => e.id));
    const stored: Array<{ id: string; title: string }> = await db.query(
      `SELECT e.id, e.title FROM events e JOIN outbox o ON o.kind = 'event' AND o.ref = e.id WHERE e.id = ANY($1)`,
      [ids],
    );
    const titles = new Map(stored.map((r) => [r.id, r.title]));
    results.forEach((r, i) => expect(r.map((e) => titles.get(e.id))).toEqual([`c${i}`, `d${i}`]));
  });

  it('fails only the request whose project vanished, not the others batched with it', async () => {
    const [{ id: doomed }] = await db.query(`INSERT INTO projects (key, name) VALUES ('doomed', 'D') RETURNING id`);
    await db.query('DELETE FROM projects WHERE id = $1', [doomed]);
    const outcomes = await Promise.allSettled([
      events.accept(projectId, [event('ok1')]),
      events.accept(doomed, [event('lost')]),
      events.accept(projectId, [event('ok2')]),
    ]);
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect((outcomes[1] as PromiseRejectedResult).reason.message).toBe('project not found');
  });

  const hook = async (name: string, types: string[], enabled = true) =>
    (
      await db.query(
        `INSERT INTO webhooks (project_id, name, type, url_encrypted, url_masked, events, enabled) VALUES ($1, $2, 'custom', 'x', 'x', $3, $4) RETURNING id`,
        [projectId, name, types, enabled],
      )
    )[0].id as string;

  it('leases rows to one relay at a time, until they are deleted, released or the lease ends', async () => {
    await db.query('DELETE FROM outbox');
    await events.accept(projectId, [event('x'), event('y')]);
    const first = await outbox.leaseAndFanOut(100, 60_000);
    expect(first.outboxIds).toHaveLength(2);
    expect(first.events).toBe(2);
    // Leased: another pass (another relay) gets nothing.
    expect((await outbox.leaseAndFanOut(100, 60_000)).outboxIds).toEqual([]);
    // Released (the queue refused the work): free again once the release delay is over.
    await outbox.release(first.outboxIds, 0);
    const again = await outbox.leaseAndFanOut(100, 1);
    expect(again.outboxIds.sort()).toEqual([...first.outboxIds].sort());
    // A lease that ran out (its relay died) frees the rows as well.
    await new Promise((r) => setTimeout(r, 20));
    const afterExpiry = await outbox.leaseAndFanOut(100, 60_000);
    expect(afterExpiry.outboxIds.sort()).toEqual([...first.outboxIds].sort());
    await outbox.delete(afterExpiry.outboxIds);
    expect(await outbox.backlog()).toBe(0);
  });

  it('never gives the same row to two concurrent passes', async () => {
    await db.query('DELETE FROM outbox');
    await events.accept(
      projectId,
      Array.from({ length: 300 }, (_, i) => event(`p${i}`)),
    );
    const passes = await Promise.all(Array.from({ length: 6 }, () => outbox.leaseAndFanOut(60, 60_000)));
    const ids = passes.flatMap((p) => p.outboxIds);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids.length).toBeGreaterThan(0);
    await db.query('DELETE FROM outbox');
  });

  it('fans out once per (event, webhook) pair, only to enabled subscribers, and re-offers never-attempted deliveries', async () => {
    await db.query('DELETE FROM outbox');
    const subscribed = await hook('sub', ['bb.pipeline.completed']);
    await hook('other-type', ['incident.create']);
    await hook('disabled', ['bb.pipeline.completed'], false);
    const [accepted] = await events.accept(projectId, [{ ...event('fan'), type: 'bb.pipeline.completed' }]);

    const first = await outbox.leaseAndFanOut(100, 60_000);
    expect(first.deliveries).toHaveLength(1);
    const [row] = await db.query(`SELECT webhook_id, event_id FROM deliveries WHERE id = $1`, [first.deliveries[0].deliveryId]);
    expect(row).toEqual({ webhook_id: subscribed, event_id: accepted.id });

    // A pass that died before queuing (its rows are released or its lease ends): the next pass
    // offers the same delivery again, and creates no new one.
    await outbox.release(first.outboxIds, 0);
    const second = await outbox.leaseAndFanOut(100, 60_000);
    expect(second.deliveries).toEqual(first.deliveries);
    // Once the delivery has been attempted it is no longer offered.
    const token = randomUUID();
    expect(await deliveries.claim({ deliveryId: first.deliveries[0].deliveryId, replay: 0, token, maxAttemptMs: 60_000 })).toMatchObject({ kind: 'claimed' });
    await deliveries.recordAttempt(
      first.deliveries[0].deliveryId,
      token,
      'succeeded',
      null,
      {
        startedAt: new Date(),
        durationMs: 5,
        statusCode: 200,
        outcome: 'delivered',
        error: null,
        responseBody: 'ok',
      },
      true,
    );
    await outbox.release(second.outboxIds, 0);
    const third = await outbox.leaseAndFanOut(100, 60_000);
    expect(third.outboxIds).toEqual(second.outboxIds);
    expect(third.deliveries).toEqual([]);
    await outbox.delete(third.outboxIds);
  });

  it('hands replay rows over as delivery jobs of their attempt chain', async () => {
    await db.query('DELETE FROM outbox');
    await hook('replayed', ['bb.pipeline.failed']);
    await events.accept(projectId, [{ ...event('to replay'), type: 'bb.pipeline.failed' }]);
    const fanned = await outbox.leaseAndFanOut(100, 60_000);
    await outbox.delete(fanned.outboxIds);
    const [{ deliveryId }] = fanned.deliveries;
    await db.query(`UPDATE deliveries SET status = 'dead' WHERE id = $1`, [deliveryId]);
    expect(await deliveries.replay(projectId, deliveryId)).toEqual({ replay: 1 });
    const replayed = await outbox.leaseAndFanOut(100, 60_000);
    expect(replayed).toMatchObject({ events: 0, deliveries: [{ deliveryId, replay: 1 }] });
    await outbox.delete(replayed.outboxIds);
  });

  it('claims only deliveries that are not final, and numbers attempts across the log', async () => {
    await db.query('DELETE FROM outbox');
    const [accepted] = await events.accept(projectId, [event('claim')]);
    await hook('claimed', ['bb.issue.create']);
    const work = await outbox.leaseAndFanOut(100, 60_000);
    expect(work.deliveries).toHaveLength(1);
    const [{ deliveryId: id }] = work.deliveries;
    await outbox.delete(work.outboxIds);
    const statusOf = async () => deliveryStatus(await deliveries.get(projectId, id));
    const listed = async (status: DeliveryStatus) => (await deliveries.list(projectId, { limit: 100, status })).items.map((d) => d.id);
    expect(await statusOf()).toBe('pending');
    const claim = (token: string) => deliveries.claim({ deliveryId: id, replay: 0, token, maxAttemptMs: 60_000 });
    const token = randomUUID();
    const ctx = await claim(token);
    expect(ctx).toMatchObject({
      kind: 'claimed',
      context: { delivery: { id, attemptCount: 0 }, event: { id: accepted.id, title: 'claim' }, project: { id: projectId, key: 'p' } },
    });
    // While its attempt runs the delivery is `delivering`, and the status filters agree.
    expect(await statusOf()).toBe('delivering');
    expect(await listed('delivering')).toEqual([id]);
    expect(await listed('pending')).not.toContain(id);
    const attempt = { startedAt: new Date(), durationMs: 1, statusCode: 500, outcome: 'retryable' as const, error: 'HTTP 500', responseBody: '' };
    expect(await deliveries.recordAttempt(id, token, 'pending', new Date(), attempt, true)).toBe(1);
    expect(await statusOf()).toBe('pending');
    expect(await listed('pending')).toContain(id);
    expect(await listed('delivering')).toEqual([]);
    const second = randomUUID();
    expect(await claim(second)).toMatchObject({ kind: 'claimed' });
    expect(await deliveries.recordAttempt(id, second, 'failed', null, { ...attempt, outcome: 'rejected' }, true)).toBe(2);
    expect(await claim(randomUUID())).toEqual({ kind: 'done', reason: 'already final' });
    expect((await deliveries.attempts(id)).map((a) => a.number)).toEqual([1, 2]);
  });
});
