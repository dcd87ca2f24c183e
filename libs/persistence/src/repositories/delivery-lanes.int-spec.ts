import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { DIRECT_MESSAGE_TYPES, EVENT_TYPES, newId } from '@herald/domain';
import { createTestDatabase } from '@herald/testing';
import { dataSourceOptions } from '../data-source';
import { DeliveryLanesRepository } from './delivery-lanes.repository';
import { DeliveryRepository, type AttemptRecord, type ClaimRequest } from './delivery.repository';

/**
 * Issue 16 items 1 and 3 against Postgres: the subject of an event, the fan-out trigger that marks
 * deliveries of ordered and digest webhooks, the claim's ordering rule (an earlier unfinished
 * delivery of the same subject holds the later ones, a finished one releases them, an event not
 * yet fanned out holds later ones too), and the digest's batch claim (conditional, owned by one
 * token, disjoint under concurrency, never overtaking within a subject) and its record.
 */
describe('digests and ordered delivery against Postgres', () => {
  let db: DataSource;
  let deliveries: DeliveryRepository;
  let lanes: DeliveryLanesRepository;
  let project: number;
  const MAX_ATTEMPT_MS = 60_000;

  beforeAll(async () => {
    db = new DataSource(dataSourceOptions({ url: await createTestDatabase(), poolSize: 8, applicationName: 'delivery-lanes-int-spec' }));
    await db.initialize();
    deliveries = new DeliveryRepository(db);
    lanes = new DeliveryLanesRepository(db);
    [{ id: project }] = await db.query(`INSERT INTO projects (key, name) VALUES ('p', 'P') RETURNING id`);
  });
  afterAll(() => db.destroy());

  let hooks = 0;
  const webhook = async (
    options: { ordering?: 'none' | 'subject'; digest?: { afterQueued: number; maxItems: number } | null; directMessage?: boolean; type?: string } = {},
  ) => {
    const [{ id }] = await db.query(
      `INSERT INTO webhooks (project_id, name, type, url_encrypted, url_masked, events, ordering, digest, direct_message)
       VALUES ($1, $2, $3, 'x', 'x', $4, $5, $6, $7) RETURNING id`,
      [
        project,
        `h${++hooks}`,
        options.type ?? 'slack',
        EVENT_TYPES,
        options.ordering ?? 'none',
        options.digest ? JSON.stringify(options.digest) : null,
        options.directMessage ?? false,
      ],
    );
    return id as string;
  };
  /** An event (ids made in order, as intake makes them) and its delivery to `webhookId`, as the fan-out inserts it. */
  const deliver = async (webhookId: string, body: Record<string, unknown> = {}, type = 'bb.issue.create') => {
    const eventId = newId();
    await db.query(`INSERT INTO events (id, project_id, type, level, title, source, body, occurred_at) VALUES ($1, $2, $3, 'INFO', 't', 'api', $4, now())`, [
      eventId,
      project,
      type,
      JSON.stringify(body),
    ]);
    const [{ id }] = await db.query(`INSERT INTO deliveries (project_id, event_id, webhook_id, event_type) VALUES ($1, $2, $3, $4) RETURNING id`, [
      project,
      eventId,
      webhookId,
      type,
    ]);
    return { id: id as string, eventId };
  };
  const issue = (id: string | number) => ({ issue: { id, name: `issue ${id}` } });
  const request = (deliveryId: string): ClaimRequest => ({ deliveryId, replay: 0, token: randomUUID(), maxAttemptMs: MAX_ATTEMPT_MS });
  const delivered: AttemptRecord = { startedAt: new Date(), durationMs: 5, statusCode: 200, outcome: 'delivered', error: null, responseBody: 'ok' };
  const finish = async (id: string, status: 'succeeded' | 'failed' | 'dead') => {
    const r = request(id);
    const claim = await deliveries.claim(r);
    if (claim.kind !== 'claimed') throw new Error(`not claimed: ${JSON.stringify(claim)}`);
    const outcome = status === 'succeeded' ? delivered : { ...delivered, statusCode: 500, outcome: 'retryable' as const, error: 'HTTP 500' };
    expect(await deliveries.recordAttempt(id, r.token, status, null, outcome, true)).toBeGreaterThan(0);
  };
  const subjectOf = async (type: string, body: unknown) =>
    (await db.query(`SELECT herald_event_subject($1, $2::jsonb) AS s`, [type, JSON.stringify(body)]))[0].s as string | null;

  describe('the subject of an event', () => {
    it('is the issue (by id, else key), the deployment, or the rollout; events about none have none', async () => {
      expect(await subjectOf('bb.issue.create', issue(42))).toBe('issue:42');
      expect(await subjectOf('bb.issue.status.update', issue('42'))).toBe('issue:42');
      expect(await subjectOf('bb.issue.comment.create', { issue: { key: 'PAY-7' } })).toBe('issue:PAY-7');
      // Incidents are issues (DevLake's INCIDENT type): their events share the issue's subject.
      expect(await subjectOf('incident.resolve', { issue: { id: 'PAY-7', key: 'PAY-7', type: 'INCIDENT' } })).toBe('issue:PAY-7');
      expect(await subjectOf('bb.pipeline.task.status.update', { issue: { id: 9 }, rollout: { id: 3 } })).toBe('issue:9');
      expect(await subjectOf('bb.pipeline.completed', { rollout: { id: 3 } })).toBe('rollout:3');
      expect(await subjectOf('deployment.create', { deployment: { id: 'C:abc:def' }, rollout: { id: 'C:abc:def' } })).toBe('deployment:C:abc:def');
      expect(await subjectOf('deployment.create', { rollout: { id: 5 } })).toBe('deployment:5');
      expect(await subjectOf('bb.issue.create', { issue: { id: '  ', name: 'no id' } })).toBeNull();
      expect(await subjectOf('bb.issue.create', {})).toBeNull();
      const long = await subjectOf('bb.issue.create', issue('x'.repeat(300)));
      expect(long).toMatch(/^issue:md5:[0-9a-f]{32}$/);
    });

    it('is set at fan-out only for webhooks that order by subject; the digest flag only for digest webhooks, never for direct-message events of a DM webhook', async () => {
      const plain = await webhook();
      const ordered = await webhook({ ordering: 'subject' });
      const digest = await webhook({ digest: { afterQueued: 1, maxItems: 10 }, directMessage: true });
      const row = async (id: string) => (await db.query(`SELECT subject, digestible FROM deliveries WHERE id = $1`, [id]))[0];
      expect(await row((await deliver(plain, issue(1))).id)).toEqual({ subject: null, digestible: false });
      expect(await row((await deliver(ordered, issue(1))).id)).toEqual({ subject: 'issue:1', digestible: false });
      expect(await row((await deliver(digest, issue(1))).id)).toEqual({ subject: null, digestible: true });
      expect(await row((await deliver(digest, issue(1), 'bb.issue.approval.notify')).id)).toEqual({ subject: null, digestible: false });
    });

    it('knows the same direct-message event types as the catalogue', async () => {
      const dm: string[] = [];
      for (const type of EVENT_TYPES) {
        const [{ d }] = await db.query(`SELECT herald_digestible('{"afterQueued":1,"maxItems":2}'::jsonb, true, $1) AS d`, [type]);
        if (!d) dm.push(type);
      }
      expect(dm.sort()).toEqual([...DIRECT_MESSAGE_TYPES].sort());
    });

    it('follows a PATCH: the pending deliveries of the webhook get the new settings', async () => {
      const hook = await webhook();
      const a = await deliver(hook, issue(5));
      const done = await deliver(hook, issue(5));
      await finish(done.id, 'succeeded');
      await db.query(`UPDATE webhooks SET ordering = 'subject', digest = '{"afterQueued":0,"maxItems":5}' WHERE id = $1`, [hook]);
      expect(await lanes.applyLanes(project, hook)).toBe(1);
      expect((await db.query(`SELECT subject, digestible FROM deliveries WHERE id = $1`, [a.id]))[0]).toEqual({ subject: 'issue:5', digestible: true });
      expect((await db.query(`SELECT subject FROM deliveries WHERE id = $1`, [done.id]))[0].subject).toBeNull();
      await db.query(`UPDATE webhooks SET ordering = 'none', digest = NULL WHERE id = $1`, [hook]);
      expect(await lanes.applyLanes(project, hook)).toBe(1);
      expect((await db.query(`SELECT subject, digestible FROM deliveries WHERE id = $1`, [a.id]))[0]).toEqual({ subject: null, digestible: false });
    });
  });

  describe('the claim of an ordered delivery', () => {
    it('holds a delivery while an earlier one of its subject is unfinished, and lets other subjects go', async () => {
      const hook = await webhook({ ordering: 'subject' });
      const a1 = await deliver(hook, issue('a'));
      const a2 = await deliver(hook, issue('a'));
      const b1 = await deliver(hook, issue('b'));
      const none = await deliver(hook, {});
      const held = await deliveries.claim(request(a2.id));
      expect(held).toMatchObject({ kind: 'wait', heldBy: 'subject', reason: expect.stringContaining('1 earlier') });
      expect((await deliveries.claim(request(b1.id))).kind).toBe('claimed');
      expect((await deliveries.claim(request(none.id))).kind).toBe('claimed');
      // a1 in progress still holds a2; so does a1 waiting for a retry (and a2 waits as long).
      const r = request(a1.id);
      expect((await deliveries.claim(r)).kind).toBe('claimed');
      expect((await deliveries.claim(request(a2.id))).kind).toBe('wait');
      await deliveries.recordAttempt(a1.id, r.token, 'pending', new Date(Date.now() + 20_000), { ...delivered, outcome: 'retryable', statusCode: 500 }, true);
      const behindRetry = await deliveries.claim(request(a2.id));
      expect(behindRetry.kind === 'wait' && behindRetry.waitMs).toBeGreaterThan(15_000);
      await db.query(`UPDATE deliveries SET next_attempt_at = now() WHERE id = $1`, [a1.id]);
      await finish(a1.id, 'succeeded');
      expect((await deliveries.claim(request(a2.id))).kind).toBe('claimed');
    });

    it('is released by a failed or dead earlier delivery, not only a delivered one', async () => {
      const hook = await webhook({ ordering: 'subject' });
      const [x1, x2, x3] = [await deliver(hook, issue('x')), await deliver(hook, issue('x')), await deliver(hook, issue('x'))];
      await finish(x1.id, 'dead');
      await finish(x2.id, 'failed');
      expect((await deliveries.claim(request(x3.id))).kind).toBe('claimed');
    });

    it('orders by event id (acceptance), not by when the delivery was created', async () => {
      const hook = await webhook({ ordering: 'subject' });
      // The later event's delivery is created first (another relay's pass committed first).
      const [first, second] = [newId(), newId()];
      for (const id of [first, second]) {
        await db.query(
          `INSERT INTO events (id, project_id, type, level, title, source, body, occurred_at) VALUES ($1, $2, 'bb.issue.create', 'INFO', 't', 'api', $3, now())`,
          [id, project, JSON.stringify(issue('z'))],
        );
      }
      const insert = async (eventId: string) =>
        (
          await db.query(`INSERT INTO deliveries (project_id, event_id, webhook_id, event_type) VALUES ($1, $2, $3, 'bb.issue.create') RETURNING id`, [
            project,
            eventId,
            hook,
          ])
        )[0].id as string;
      const late = await insert(second);
      const early = await insert(first);
      expect((await deliveries.claim(request(late))).kind).toBe('wait');
      expect((await deliveries.claim(request(early))).kind).toBe('claimed');
    });

    it('holds a delivery while an earlier event is still in the outbox, not fanned out yet', async () => {
      const hook = await webhook({ ordering: 'subject' });
      const earlierEvent = newId();
      const later = await deliver(hook, issue('q'));
      const [{ id: outboxId }] = await db.query(`INSERT INTO outbox (kind, ref) VALUES ('event', $1) RETURNING id`, [earlierEvent]);
      try {
        expect(await deliveries.claim(request(later.id))).toMatchObject({ kind: 'wait', heldBy: 'fan-out' });
        // A pass that leased it (and committed) has created its deliveries: no longer a reason to wait.
        await db.query(`UPDATE outbox SET leased_until = now() + interval '30 seconds' WHERE id = $1`, [outboxId]);
        expect((await deliveries.claim(request(later.id))).kind).toBe('claimed');
      } finally {
        await db.query(`DELETE FROM outbox WHERE id = $1`, [outboxId]);
      }
    });

    it("names each subject's next delivery once the one before it is finished, to wake its job", async () => {
      const hook = await webhook({ ordering: 'subject' });
      const [m1, m2, m3, n1] = [
        await deliver(hook, issue('m')),
        await deliver(hook, issue('m')),
        await deliver(hook, issue('m')),
        await deliver(hook, issue('n')),
      ];
      await finish(m1.id, 'succeeded');
      expect(await lanes.nextOfSubjects(hook, ['issue:m', 'issue:n', 'issue:none'])).toEqual(
        expect.arrayContaining([
          { deliveryId: m2.id, replay: 0 },
          { deliveryId: n1.id, replay: 0 },
        ]),
      );
      expect((await lanes.nextOfSubjects(hook, ['issue:m'])).map((t) => t.deliveryId)).not.toContain(m3.id);
    });
  });

  describe("a digest's batch claim", () => {
    const claimLead = async (id: string) => {
      const r = request(id);
      const claim = await deliveries.claim(r);
      if (claim.kind !== 'claimed') throw new Error(`lead not claimed: ${JSON.stringify(claim)}`);
      return r.token;
    };
    const digestOf = (hook: string, leadId: string, token: string, afterQueued: number, maxItems: number) =>
      lanes.claimDigest({ leadId, webhookId: hook, token, afterQueued, maxItems, maxAttemptMs: MAX_ATTEMPT_MS });

    it('takes the oldest waiting deliveries, up to maxItems with the leader, only when more than afterQueued wait', async () => {
      const hook = await webhook({ digest: { afterQueued: 5, maxItems: 4 } });
      const all = [];
      for (let i = 0; i < 5; i++) all.push(await deliver(hook, issue(i)));
      const token = await claimLead(all[4].id);
      // Five wait (the leader among them): not more than afterQueued.
      expect(await digestOf(hook, all[4].id, token, 5, 4)).toEqual([]);
      all.push(await deliver(hook, issue(5)));
      const members = await digestOf(hook, all[4].id, token, 5, 4);
      expect(members.map((m) => m.deliveryId)).toEqual([all[0].id, all[1].id, all[2].id]);
      expect(members[0].event).toMatchObject({ type: 'bb.issue.create', body: issue(0) });
      const held = await db.query(`SELECT id FROM deliveries WHERE claim_token = $1 ORDER BY id`, [token]);
      expect(held.map((r: { id: string }) => r.id).sort()).toEqual([all[0].id, all[1].id, all[2].id, all[4].id].sort());
      // Their own jobs find them in progress and wait (and later find them finished).
      expect((await deliveries.claim(request(all[0].id))).kind).toBe('wait');
    });

    it('never gives one delivery to two concurrent digests of the same webhook', async () => {
      const hook = await webhook({ digest: { afterQueued: 0, maxItems: 30 } });
      const all = [];
      for (let i = 0; i < 60; i++) all.push(await deliver(hook, {}));
      const leads = all.slice(0, 4);
      const tokens = await Promise.all(leads.map((d) => claimLead(d.id)));
      const batches = await Promise.all(leads.map((d, i) => digestOf(hook, d.id, tokens[i], 0, 30)));
      const taken = batches.flatMap((b) => b.map((m) => m.deliveryId));
      expect(new Set(taken).size).toBe(taken.length);
      for (const lead of leads) expect(taken).not.toContain(lead.id);
      expect(taken.length + leads.length).toBeLessThanOrEqual(60);
      expect(taken.length).toBeGreaterThanOrEqual(29);
      // Each claimed delivery carries exactly the token of the digest that took it.
      for (let i = 0; i < batches.length; i++) {
        const rows = await db.query(`SELECT count(*)::int AS n FROM deliveries WHERE id = ANY ($1::uuid[]) AND claim_token = $2`, [
          batches[i].map((m) => m.deliveryId),
          tokens[i],
        ]);
        expect(rows[0].n).toBe(batches[i].length);
      }
    });

    it('leaves out direct-message events of a DM webhook, and never overtakes within a subject', async () => {
      const hook = await webhook({ ordering: 'subject', digest: { afterQueued: 0, maxItems: 10 }, directMessage: true });
      const s1 = await deliver(hook, issue('s'));
      const s2 = await deliver(hook, issue('s'));
      const dm = await deliver(hook, issue('d'), 'bb.issue.approval.notify');
      const t1 = await deliver(hook, issue('t'));
      const t2 = await deliver(hook, issue('t'));
      // s1 is in progress elsewhere (a single send): s2 must not go before it, in this message or any.
      const other = await claimLead(s1.id);
      const token = await claimLead(t1.id);
      const members = await digestOf(hook, t1.id, token, 0, 10);
      expect(members.map((m) => m.deliveryId)).toEqual([t2.id]);
      expect(members.map((m) => m.deliveryId)).not.toContain(dm.id);
      expect(members.map((m) => m.deliveryId)).not.toContain(s2.id);
      expect(other).not.toBe(token);
    });

    it('records a delivered digest on every delivery it carried, each attempt naming the leader, its attempt and the size', async () => {
      const hook = await webhook({ digest: { afterQueued: 0, maxItems: 3 } });
      const [a, b, c] = [await deliver(hook, {}), await deliver(hook, {}), await deliver(hook, {})];
      const token = await claimLead(a.id);
      const members = await digestOf(hook, a.id, token, 0, 3);
      expect(members).toHaveLength(2);
      const recorded = await lanes.recordDigest(
        a.id,
        token,
        members.map((m) => m.deliveryId),
        delivered,
      );
      expect(recorded).toEqual({ leadAttempt: 1, members: expect.arrayContaining([b.id, c.id]) });
      for (const id of [a.id, b.id, c.id]) {
        const [row] = await db.query(`SELECT status, attempt_count, claim_token, delivered_at FROM deliveries WHERE id = $1`, [id]);
        expect(row).toMatchObject({ status: 'succeeded', attempt_count: 1, claim_token: null });
        expect(row.delivered_at).toBeInstanceOf(Date);
        const [attempt] = await deliveries.attempts(id);
        expect(attempt).toMatchObject({ outcome: 'delivered', statusCode: 200, digestDeliveryId: a.id, digestAttempt: 1, digestItems: 3 });
      }
      // Recording again (a retried statement) writes nothing.
      expect(await lanes.recordDigest(a.id, token, [b.id, c.id], delivered)).toEqual({ leadAttempt: 0, members: [] });
    });

    it('gives the members back, unattempted, when the message did not go through', async () => {
      const hook = await webhook({ digest: { afterQueued: 0, maxItems: 3 } });
      const [a, b] = [await deliver(hook, {}), await deliver(hook, {})];
      const token = await claimLead(a.id);
      const members = await digestOf(hook, a.id, token, 0, 3);
      expect(
        await lanes.releaseDigest(
          members.map((m) => m.deliveryId),
          token,
          `digest led by ${a.id} failed: HTTP 500`,
        ),
      ).toBe(1);
      const [row] = await db.query(`SELECT status, attempt_count, claim_token, attempt_started_at, last_error FROM deliveries WHERE id = $1`, [b.id]);
      expect(row).toMatchObject({
        status: 'pending',
        attempt_count: 0,
        claim_token: null,
        attempt_started_at: null,
        last_error: expect.stringContaining('HTTP 500'),
      });
      expect((await deliveries.claim(request(b.id))).kind).toBe('claimed');
    });

    it('names the head (the oldest waiting delivery) and makes it due now after a message', async () => {
      const hook = await webhook({ digest: { afterQueued: 0, maxItems: 3 } });
      const [a, b] = [await deliver(hook, {}), await deliver(hook, {})];
      expect(await lanes.isDigestHead(hook, a.id)).toBe(true);
      expect(await lanes.isDigestHead(hook, b.id)).toBe(false);
      await db.query(`UPDATE deliveries SET next_attempt_at = now() + interval '5 minutes' WHERE webhook_id = $1`, [hook]);
      await finish((await db.query(`UPDATE deliveries SET next_attempt_at = NULL WHERE id = $1 RETURNING id`, [a.id]))[0][0].id, 'succeeded');
      expect(await lanes.nextDigestHead(hook)).toEqual({ deliveryId: b.id, replay: 0 });
      expect((await deliveries.claim(request(b.id))).kind).toBe('claimed');
      expect(await lanes.nextDigestHead(hook)).toBeNull();
    });
  });
});
