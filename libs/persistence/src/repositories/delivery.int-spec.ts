import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { createTestDatabase } from '@herald/testing';
import { dataSourceOptions } from '../data-source';
import { DeliveryRepository, type AttemptRecord, type ClaimRequest } from './delivery.repository';

/**
 * Who may work a delivery (issue 10, item 4): one claim at a time, only in the delivery's current
 * attempt chain, and only the claim that started an attempt may record it.
 */
describe('delivery claims and records against Postgres', () => {
  let db: DataSource;
  let repo: DeliveryRepository;
  let ids: { project: number; webhook: string };
  const MAX_ATTEMPT_MS = 60_000;

  beforeAll(async () => {
    db = new DataSource(dataSourceOptions({ url: await createTestDatabase(), poolSize: 6, applicationName: 'delivery-int-spec' }));
    await db.initialize();
    repo = new DeliveryRepository(db);
    const [{ id: project }] = await db.query(`INSERT INTO projects (key, name) VALUES ('p', 'P') RETURNING id`);
    const [{ id: webhook }] = await db.query(
      `INSERT INTO webhooks (project_id, name, type, url_encrypted, url_masked, events) VALUES ($1, 'h', 'custom', 'x', 'x', '{bb.issue.create}') RETURNING id`,
      [project],
    );
    ids = { project, webhook };
  });
  afterAll(() => db.destroy());

  const newDelivery = async (): Promise<string> => {
    const [{ id: event }] = await db.query(
      `INSERT INTO events (project_id, type, level, title, source, body, occurred_at) VALUES ($1, 'bb.issue.create', 'INFO', 't', 'api', '{}', now()) RETURNING id`,
      [ids.project],
    );
    const [{ id }] = await db.query(
      `INSERT INTO deliveries (project_id, event_id, webhook_id, event_type) VALUES ($1, $2, $3, 'bb.issue.create') RETURNING id`,
      [ids.project, event, ids.webhook],
    );
    return id;
  };
  const request = (deliveryId: string, replay = 0): ClaimRequest => ({ deliveryId, replay, token: randomUUID(), maxAttemptMs: MAX_ATTEMPT_MS });
  const attempt = (outcome: AttemptRecord['outcome'], statusCode: number | null = outcome === 'delivered' ? 200 : 500): AttemptRecord => ({
    startedAt: new Date(),
    durationMs: 3,
    statusCode,
    outcome,
    error: outcome === 'delivered' ? null : `HTTP ${statusCode}`,
    responseBody: '',
  });
  const row = async (id: string) =>
    (
      await db.query(
        `SELECT status, attempt_count, chain_attempts, rate_limited_streak, replay, claim_token, attempt_started_at FROM deliveries WHERE id = $1`,
        [id],
      )
    )[0];

  it('lets one of two concurrent claims start the attempt; the other is told to wait, not to send', async () => {
    const id = await newDelivery();
    // Separately (two statements racing on the row) and within one batched statement.
    const [a, b] = await Promise.all([repo.claim(request(id)), repo.claim(request(id))]);
    const kinds = [a.kind, b.kind].sort();
    expect(kinds).toEqual(['claimed', 'wait']);
    const waiting = a.kind === 'wait' ? a : b;
    if (waiting.kind !== 'wait') throw new Error('unreachable');
    // It may claim once the attempt in progress has outlived any attempt.
    expect(waiting.waitMs).toBeGreaterThan(MAX_ATTEMPT_MS - 5000);
    expect(waiting.waitMs).toBeLessThanOrEqual(MAX_ATTEMPT_MS);

    const other = await newDelivery();
    const many = await Promise.all(Array.from({ length: 8 }, () => repo.claim(request(other))));
    expect(many.filter((c) => c.kind === 'claimed')).toHaveLength(1);
    expect(many.filter((c) => c.kind === 'wait')).toHaveLength(7);
  });

  it('takes over an attempt whose worker died (older than the longest attempt), and the dead claim can no longer record', async () => {
    const id = await newDelivery();
    const first = request(id);
    expect((await repo.claim(first)).kind).toBe('claimed');
    // kill -9 mid-attempt: attempt_started_at stays. Until the longest attempt has passed, wait.
    expect((await repo.claim(request(id))).kind).toBe('wait');
    await db.query(`UPDATE deliveries SET attempt_started_at = now() - interval '61 seconds' WHERE id = $1`, [id]);
    const second = request(id);
    const taken = await repo.claim(second);
    expect(taken.kind).toBe('claimed');
    if (taken.kind === 'claimed') expect(taken.context.delivery.claimToken).toBe(second.token);
    // The first claim's late result is not written; the new holder's is.
    expect(await repo.recordAttempt(id, first.token, 'pending', new Date(), attempt('retryable'), true)).toBe(0);
    expect(await row(id)).toMatchObject({ status: 'pending', attempt_count: 0, claim_token: second.token });
    expect(await repo.recordAttempt(id, second.token, 'succeeded', null, attempt('delivered'), true)).toBe(1);
    expect(await row(id)).toMatchObject({ status: 'succeeded', attempt_count: 1, chain_attempts: 1, claim_token: null, attempt_started_at: null });
  });

  it('never lets a late record turn a succeeded delivery back into pending or failed', async () => {
    const id = await newDelivery();
    const holder = request(id);
    await repo.claim(holder);
    expect(await repo.recordAttempt(id, holder.token, 'succeeded', null, attempt('delivered'), true)).toBe(1);
    // The same claim recording twice (a retried statement), and another claim's stale result.
    expect(await repo.recordAttempt(id, holder.token, 'pending', new Date(), attempt('retryable'), true)).toBe(0);
    expect(await repo.recordAttempt(id, randomUUID(), 'failed', null, attempt('rejected', 400), true)).toBe(0);
    expect(await repo.release(id, holder.token, 'pending', new Date(), null)).toBe(false);
    expect(await row(id)).toMatchObject({ status: 'succeeded', attempt_count: 1 });
    expect((await repo.attempts(id)).map((a) => a.outcome)).toEqual(['delivered']);
    expect(await repo.claim(request(id))).toEqual({ kind: 'done', reason: 'already final' });
  });

  it('keeps a job from before a replay away from the new chain', async () => {
    const id = await newDelivery();
    const old = request(id, 0);
    await repo.claim(old);
    expect(await repo.recordAttempt(id, old.token, 'dead', null, attempt('retryable'), true)).toBe(1);
    expect(await repo.replay(ids.project, id)).toEqual({ replay: 1 });
    expect(await row(id)).toMatchObject({ status: 'pending', replay: 1, chain_attempts: 0, rate_limited_streak: 0 });
    // The stale chain-0 job finds nothing to do; chain 1's job claims.
    expect(await repo.claim(request(id, 0))).toEqual({ kind: 'done', reason: expect.stringContaining('superseded') });
    const current = request(id, 1);
    expect((await repo.claim(current)).kind).toBe('claimed');
    // A chain-0 holder that was still running when the replay happened cannot record on chain 1.
    expect(await repo.recordAttempt(id, old.token, 'failed', null, attempt('rejected', 400), true)).toBe(0);
    expect(await repo.recordAttempt(id, current.token, 'succeeded', null, attempt('delivered'), true)).toBe(2);
    // Marking a chain dead after repeated stalls touches only that chain.
    expect(await repo.markDeadAfterStalls(id, 0, 'stalled')).toBe(false);
  });

  it('waits for a retry that is not due yet (a job that woke early, or re-queued by the reconciler)', async () => {
    const id = await newDelivery();
    await db.query(`UPDATE deliveries SET next_attempt_at = now() + interval '30 seconds' WHERE id = $1`, [id]);
    const early = await repo.claim(request(id));
    expect(early.kind).toBe('wait');
    if (early.kind === 'wait') {
      expect(early.waitMs).toBeGreaterThan(25_000);
      expect(early.waitMs).toBeLessThanOrEqual(30_000);
    }
    await db.query(`UPDATE deliveries SET next_attempt_at = now() WHERE id = $1`, [id]);
    expect((await repo.claim(request(id))).kind).toBe('claimed');
  });

  it('counts schedule attempts per chain, and keeps consecutive free 429s on one log row', async () => {
    const id = await newDelivery();
    const step = async (outcome: AttemptRecord['outcome'], usesAttempt: boolean, statusCode?: number) => {
      const r = request(id);
      const claim = await repo.claim(r);
      if (claim.kind !== 'claimed') throw new Error(`not claimed: ${JSON.stringify(claim)}`);
      await db.query(`UPDATE deliveries SET next_attempt_at = NULL WHERE id = $1`, [id]);
      const number = await repo.recordAttempt(id, r.token, 'pending', null, attempt(outcome, statusCode), usesAttempt);
      return { number, seen: claim.context.delivery };
    };
    expect((await step('retryable', true)).number).toBe(1);
    expect((await step('rate_limited', false, 429)).number).toBe(2);
    expect((await step('rate_limited', false, 429)).number).toBe(2);
    const third = await step('rate_limited', false, 429);
    expect(third).toMatchObject({ number: 2, seen: { chainAttempts: 1, rateLimitedStreak: 2 } });
    // A 429 past the free streak uses an attempt and gets its own row.
    expect((await step('rate_limited', true, 429)).number).toBe(3);
    expect((await step('retryable', true)).number).toBe(4);
    expect(await row(id)).toMatchObject({ attempt_count: 4, chain_attempts: 3, rate_limited_streak: 0 });
    const log = await repo.attempts(id);
    expect(log.map((a) => [a.number, a.outcome, a.repeats])).toEqual([
      [1, 'retryable', 1],
      [2, 'rate_limited', 3],
      [3, 'rate_limited', 1],
      [4, 'retryable', 1],
    ]);
    expect(log[1].lastStartedAt).toBeInstanceOf(Date);
  });

  it('says whether this call disabled the webhook (auto-disable logs and counts only then)', async () => {
    const [{ id }] = await db.query(
      `INSERT INTO webhooks (project_id, name, type, url_encrypted, url_masked, events) VALUES ($1, 'gone', 'custom', 'x', 'x', '{}') RETURNING id`,
      [ids.project],
    );
    expect(await repo.disable(id, 'the endpoint answered 410 Gone')).toBe(true);
    expect(await repo.disable(id, 'the endpoint answered 410 Gone')).toBe(false);
    expect(await repo.disableIfFailing(id, 1, 0, 'streak')).toBe(false);
  });
});
