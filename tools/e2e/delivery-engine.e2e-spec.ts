import { Client } from 'pg';
import { Webhook } from 'standardwebhooks';
import { SecretBox, secretContext } from '@herald/platform';
import {
  FakeReceiver,
  TestClient,
  TEST_ADMIN_TOKEN,
  createTestDatabase,
  deleteQueueKeys,
  eventually,
  startHerald,
  stopApp,
  testConfig,
  testEnv,
  uniqueQueuePrefix,
  type RunningApp,
} from '@herald/testing';

/**
 * The delivery engine's promises (issue 4), with the three apps as real processes and two workers:
 * per-webhook rate limits shared by both workers, isolation between webhooks, platform pauses that
 * use no attempt, retry classification, dead letter, replay and recover, auto-disable, the test
 * send, and the reconciler re-queueing work Redis no longer holds.
 *
 * Every test uses its own receiver and its own event type, so webhooks of other tests stay quiet.
 * Each worker runs 5 jobs at a time: 10 slots in all, fewer than the 30 deliveries the isolation
 * test queues for its limited webhook, so a limiter that held a slot while waiting would show.
 */
describe('delivery engine end to end', () => {
  let env: Record<string, string>;
  let dbUrl: string;
  let prefix: string;
  const apps: RunningApp[] = [];
  const receivers: FakeReceiver[] = [];
  let admin: TestClient;
  let ingestion: TestClient;

  beforeAll(async () => {
    dbUrl = await createTestDatabase();
    prefix = uniqueQueuePrefix();
    env = testEnv(dbUrl, prefix, {
      HERALD_RETRY_SCHEDULE: '0s,200ms,200ms',
      HERALD_DELIVERY_TIMEOUT_MS: '500',
      HERALD_AUTO_DISABLE_FAILURES: '3',
      HERALD_AUTO_DISABLE_DAYS: '1',
      HERALD_RECONCILE_EVERY_MS: '300',
      HERALD_RECONCILE_AFTER_MS: '1000',
      HERALD_WORKER_CONCURRENCY: '5',
    });
    apps.push(...(await startHerald(env, 2)));
    admin = new TestClient(apps[1].url, TEST_ADMIN_TOKEN);
    ingestion = new TestClient(apps[0].url, TEST_ADMIN_TOKEN);
    expect((await admin.post('/v1/projects', { key: 'engine', name: 'Engine' })).status).toBe(201);
  }, 60_000);

  afterAll(async () => {
    await Promise.all(apps.map((app) => stopApp(app, 'SIGKILL')));
    await Promise.all(receivers.map((r) => r.stop()));
    await deleteQueueKeys(prefix);
  });

  const receiver = async () => {
    const r = await FakeReceiver.start();
    receivers.push(r);
    return r;
  };
  let hooks = 0;
  const webhook = async (r: FakeReceiver, events: string[], extra: Record<string, unknown> = {}) => {
    const res = await admin.post('/v1/projects/engine/webhooks', {
      name: `hook-${++hooks}`,
      type: 'custom',
      url: `${r.url}/hook/tok3n-s3cret`,
      events,
      ...extra,
    });
    expect(res.status).toBe(201);
    return res.body.id as string;
  };
  const send = async (type: string, n = 1) => {
    const res = await ingestion.post(
      '/v1/projects/engine/events/batch',
      Array.from({ length: n }, (_, i) => ({ type, title: `${type} #${i}` })),
    );
    expect(res.status).toBe(202);
    return (res.body.items ?? res.body) as Array<{ id: string }>;
  };
  const deliveriesOf = async (webhookId: string) =>
    (await admin.get(`/v1/projects/engine/deliveries?webhookId=${webhookId}&limit=100`)).body.items as Array<{
      id: string;
      status: string;
      attemptCount: number;
      lastError: string | null;
    }>;
  const deliveryDetail = async (id: string) => (await admin.get(`/v1/projects/engine/deliveries/${id}`)).body;
  const outcomes = async (id: string) => (await deliveryDetail(id)).attempts.map((a: { outcome: string }) => a.outcome);
  const sql = async <T = Record<string, unknown>>(text: string, values: unknown[] = []): Promise<T[]> => {
    const pg = new Client({ connectionString: dbUrl });
    await pg.connect();
    try {
      return (await pg.query(text, values)).rows as T[];
    } finally {
      await pg.end();
    }
  };
  /** Attempts a worker made that ended `delivered`, from its own /metrics. */
  const deliveredBy = async (worker: RunningApp) => {
    const text = await (await fetch(`${worker.url}/metrics`)).text();
    return text
      .split('\n')
      .filter((line) => line.startsWith('herald_deliveries_total{') && line.includes('outcome="delivered"'))
      .reduce((sum, line) => sum + Number(line.slice(line.lastIndexOf(' ') + 1)), 0);
  };

  it('keeps a webhook limited to 1/s from slowing another webhook: its 30 events all arrive within 2 s', async () => {
    const [slow, fast] = [await receiver(), await receiver()];
    const slowId = await webhook(slow, ['bb.issue.create'], { rateLimit: { count: 1, perSeconds: 1 } });
    await webhook(fast, ['bb.issue.create']);
    const started = Date.now();
    await send('bb.issue.create', 30);
    await fast.waitFor(30, 2000);
    expect(Date.now() - started).toBeLessThan(2000);
    // Meanwhile the limited webhook got one request per second at most.
    expect(slow.requests.length).toBeLessThanOrEqual(3);
    // Its backlog would crawl on for half a minute: delete it (and its deliveries) to keep later tests quiet.
    expect((await admin.delete(`/v1/projects/engine/webhooks/${slowId}`)).status).toBe(204);
  });

  it('shares one endpoint limit between two worker processes: no 1 s window holds more than 5 of 20', async () => {
    const r = await receiver();
    await webhook(r, ['bb.issue.comment.create'], { rateLimit: { count: 5, perSeconds: 1 } });
    const workers = [apps[2], apps[3]];
    const before = await Promise.all(workers.map(deliveredBy));
    await send('bb.issue.comment.create', 20);
    const got = await r.waitFor(20, 15_000);
    const times = got.map((q) => q.at).sort((a, b) => a - b);
    // Any 6 consecutive arrivals span at least the window (10 % tolerance for network jitter).
    for (let i = 5; i < times.length; i++) expect(times[i] - times[i - 5]).toBeGreaterThanOrEqual(900);
    // And the limit is used: 20 at 5/s take about 3 s, not much more.
    expect(times[times.length - 1] - times[0]).toBeLessThan(5000);
    // Both workers sent some of them: the limit was shared, not kept by one process.
    const sent = await eventually(async () => {
      const after = await Promise.all(workers.map(deliveredBy));
      const each = after.map((n, i) => n - before[i]);
      return each[0] + each[1] >= 20 ? each : undefined;
    }, 5000);
    expect(sent[0]).toBeGreaterThan(0);
    expect(sent[1]).toBeGreaterThan(0);
  });

  it('holds a webhook answering 429 until Retry-After, without using attempts', async () => {
    const r = await receiver();
    r.enqueue(
      { status: 429, headers: { 'retry-after': '1' } },
      { status: 429, headers: { 'retry-after': '1' } },
      { status: 429, headers: { 'retry-after': '1' } },
    );
    const id = await webhook(r, ['bb.issue.field.update']);
    await send('bb.issue.field.update');
    const got = await r.waitFor(4, 10_000);
    // Three 429s, then success, although the schedule allows only three attempts.
    for (let i = 1; i < 4; i++) expect(got[i].at - got[i - 1].at).toBeGreaterThanOrEqual(900);
    const [d] = await eventually(async () => {
      const list = await deliveriesOf(id);
      return list[0]?.status === 'succeeded' ? list : undefined;
    });
    // The three 429s share one log entry (they used no attempt), which counts them.
    const detail = await deliveryDetail(d.id);
    expect(detail.attempts.map((a: { outcome: string; repeats: number }) => [a.outcome, a.repeats])).toEqual([
      ['rate_limited', 3],
      ['delivered', 1],
    ]);
    expect(detail.attempts[0].lastStartedAt).toEqual(expect.any(String));
    expect(detail.attemptCount).toBe(2);
  });

  it('lets an endpoint that always answers 429 hold a delivery only for a few answers: then each 429 uses an attempt, and it ends dead', async () => {
    const r = await receiver();
    r.setDefault({ status: 429, headers: { 'retry-after': '1' } });
    const id = await webhook(r, ['bb.issue.status.update']);
    await send('bb.issue.status.update');
    const [d] = await eventually(async () => {
      const list = await deliveriesOf(id);
      return list[0]?.status === 'dead' ? list : undefined;
    }, 20_000);
    // Five free holds (one log entry), then the schedule's three attempts, each waiting Retry-After.
    expect(r.requests).toHaveLength(5 + 3);
    const detail = await deliveryDetail(d.id);
    expect(detail.attempts.map((a: { outcome: string; repeats: number }) => [a.outcome, a.repeats])).toEqual([
      ['rate_limited', 5],
      ['rate_limited', 1],
      ['rate_limited', 1],
      ['rate_limited', 1],
    ]);
    const times = r.requests.map((q) => q.at);
    for (let i = 1; i < times.length; i++) expect(times[i] - times[i - 1]).toBeGreaterThanOrEqual(900);
  }, 30_000);

  it("holds the webhook's other deliveries during a 429 pause, without using their attempts", async () => {
    const r = await receiver();
    r.enqueue({ status: 429, headers: { 'retry-after': '3' } });
    const id = await webhook(r, ['bb.issue.approval.notify']);
    await send('bb.issue.approval.notify');
    // The worker sets the pause before it records the attempt: once the attempt shows, the pause holds.
    const [held] = await eventually(async () => {
      const list = await deliveriesOf(id);
      return list[0]?.status === 'pending' && list[0].attemptCount === 1 ? list : undefined;
    });
    const pausedAt = r.requests[0].at;
    // A delivery still waiting cannot be replayed.
    const busy = await admin.post(`/v1/projects/engine/deliveries/${held.id}/replay`);
    expect(busy.status).toBe(409);
    expect(busy.body.message).toContain('still pending');

    await send('bb.issue.approval.notify', 2);
    const got = await r.waitFor(4, 10_000);
    for (const q of got.slice(1)) expect(q.at - pausedAt).toBeGreaterThanOrEqual(2900);
    const all = await eventually(async () => {
      const list = await deliveriesOf(id);
      return list.length === 3 && list.every((d) => d.status === 'succeeded') ? list : undefined;
    });
    for (const d of all) expect(await outcomes(d.id)).toEqual(d.id === held.id ? ['rate_limited', 'delivered'] : ['delivered']);
  });

  it('retries 5xx, timeouts and 200-with-error bodies, ends dead, and a replay keeps the webhook-id', async () => {
    const r = await receiver();
    r.enqueue(
      { status: 503 },
      { status: 200, body: '{"code":7,"message":"quota exceeded"}', headers: { 'content-type': 'application/json' } },
      { status: 200, delayMs: 2500 },
    );
    const id = await webhook(r, ['bb.issue.sent_back']);
    await send('bb.issue.sent_back');
    const [d] = await eventually(async () => {
      const list = await deliveriesOf(id);
      return list[0]?.status === 'dead' ? list : undefined;
    }, 10_000).catch(async (err) => {
      throw new Error(`${(err as Error).message}: ${JSON.stringify(await deliveriesOf(id))} ${JSON.stringify(r.requests.map((q) => q.at))}`);
    });
    const detail = await deliveryDetail(d.id);
    expect(detail.attempts.map((a: { outcome: string }) => a.outcome)).toEqual(['retryable', 'retryable', 'retryable']);
    expect(detail.attempts[1].error).toContain('quota exceeded');
    expect(detail.attempts[2].error).toMatch(/timeout/);
    const firstId = (await r.waitFor(3))[0].headers['webhook-id'];

    // Replay: a new chain under the same id, attempts appended to the same log.
    r.setDefault({ status: 204 });
    const replay = await admin.post(`/v1/projects/engine/deliveries/${d.id}/replay`);
    expect(replay.status).toBe(202);
    expect(replay.body).toMatchObject({ id: d.id, status: 'pending', replay: 1 });
    await eventually(async () => (await deliveryDetail(d.id)).status === 'succeeded', 10_000).catch(async (err) => {
      throw new Error(`${(err as Error).message}: ${JSON.stringify(await deliveryDetail(d.id))}`);
    });
    const after = await deliveryDetail(d.id);
    expect(after.attempts.map((a: { number: number }) => a.number)).toEqual([1, 2, 3, 4]);
    expect(r.requests[r.requests.length - 1].headers['webhook-id']).toBe(firstId);
    // An unknown delivery is 404 (one in progress is 409: see the 429 pause test).
    expect((await admin.post(`/v1/projects/engine/deliveries/0190d5b0-0000-7000-8000-000000000000/replay`)).status).toBe(404);
  });

  it('fails a rejected delivery at once, and recover replays the failed ones of a time window only', async () => {
    const r = await receiver();
    r.setDefault({ status: 422, body: 'unprocessable' });
    const id = await webhook(r, ['bb.pipeline.stage.status.update'], {});
    const failed = (n: number) =>
      eventually(async () => {
        const list = await deliveriesOf(id);
        return list.length === n && list.every((d) => d.status === 'failed' && d.attemptCount === 1) ? list : undefined;
      }, 10_000);
    const start = new Date(Date.now() - 1000).toISOString();
    await send('bb.pipeline.stage.status.update');
    const [before] = await failed(1);
    // The window starts after the first delivery was created: it stays failed.
    const since = new Date().toISOString();
    await send('bb.pipeline.stage.status.update', 2);
    await failed(3);
    r.setDefault({ status: 200, body: 'ok' });
    const bad = await admin.post(`/v1/projects/engine/webhooks/${id}/recover`, { since: 'yesterday' });
    expect(bad.status).toBe(400);
    expect(bad.body.message).toContain('since');
    const recovered = await admin.post(`/v1/projects/engine/webhooks/${id}/recover`, { since });
    expect(recovered.status).toBe(202);
    expect(recovered.body).toEqual({ queued: 2 });
    const after = await eventually(async () => {
      const list = await deliveriesOf(id);
      return list.filter((d) => d.status === 'succeeded').length === 2 ? list : undefined;
    }, 10_000);
    expect(after.find((d) => d.id === before.id)).toMatchObject({ status: 'failed', attemptCount: 1 });
    expect(r.requests).toHaveLength(5);
    // [start, since) holds only the first one; the succeeded ones are not replayed.
    const earlier = await admin.post(`/v1/projects/engine/webhooks/${id}/recover`, { since: start, until: since });
    expect(earlier.body).toEqual({ queued: 1 });
    await eventually(async () => (await deliveriesOf(id)).every((d) => d.status === 'succeeded'), 10_000);
    expect(r.requests).toHaveLength(6);
  });

  it('disables a webhook that answers 410 Gone, shows why, and PATCH {enabled: true} brings it back', async () => {
    const r = await receiver();
    r.enqueue({ status: 410 });
    const id = await webhook(r, ['bb.pipeline.task.status.update']);
    await send('bb.pipeline.task.status.update');
    const disabled = await eventually(async () => {
      const w = (await admin.get(`/v1/projects/engine/webhooks/${id}`)).body;
      return w.status === 'disabled' ? w : undefined;
    }, 10_000);
    expect(disabled).toMatchObject({ enabled: false, disabledReason: expect.stringContaining('410') });
    expect(disabled.disabledAt).toEqual(expect.any(String));
    // Disabled: new events are not delivered to it.
    await send('bb.pipeline.task.status.update');
    await new Promise((res) => setTimeout(res, 500));
    expect(r.requests).toHaveLength(1);
    // Its failed delivery cannot be replayed while it is disabled (it would only fail again)…
    const [gone] = await deliveriesOf(id);
    const refused = await admin.post(`/v1/projects/engine/deliveries/${gone.id}/replay`);
    expect(refused.status).toBe(409);
    expect(refused.body.message).toContain('re-enable it');
    const enabled = await admin.patch(`/v1/projects/engine/webhooks/${id}`, { enabled: true });
    expect(enabled.body).toMatchObject({ enabled: true, status: 'active', disabledReason: null, disabledAt: null });
    // …and once re-enabled, it can.
    expect((await admin.post(`/v1/projects/engine/deliveries/${gone.id}/replay`)).status).toBe(202);
    await eventually(async () => (await deliveryDetail(gone.id)).status === 'succeeded', 10_000);
    expect(r.requests).toHaveLength(2);
  });

  it('disables a webhook after a streak of failed deliveries (3 here) over at least D days (1 here), not sooner', async () => {
    const r = await receiver();
    r.setDefault({ status: 400, body: 'bad request' });
    const id = await webhook(r, ['bb.notify.issue.approved']);
    const fail = async (n: number) => {
      await send('bb.notify.issue.approved');
      await eventually(async () => (await deliveriesOf(id)).filter((d) => d.status === 'failed').length === n, 5000);
    };
    for (let i = 1; i <= 3; i++) await fail(i);
    // Three failures within seconds: long enough, but not over a day. The check runs right after
    // each failure; give the last one time to (wrongly) disable.
    await new Promise((res) => setTimeout(res, 1000));
    expect((await admin.get(`/v1/projects/engine/webhooks/${id}`)).body).toMatchObject({ enabled: true, status: 'active' });
    // The same streak spread over two days: the next failure ends it.
    await sql(`UPDATE webhooks SET updated_at = now() - interval '3 days' WHERE id = $1`, [id]);
    await sql(`UPDATE deliveries SET updated_at = now() - interval '2 days' WHERE webhook_id = $1`, [id]);
    await fail(4);
    const w = await eventually(async () => {
      const body = (await admin.get(`/v1/projects/engine/webhooks/${id}`)).body;
      return body.status === 'disabled' ? body : undefined;
    }, 10_000);
    expect(w.disabledReason).toContain('last 3 deliveries failed over 1 days');
  });

  it('signs with both secrets after a rotation: two v1 signatures, one per secret', async () => {
    const r = await receiver();
    const created = await admin.post('/v1/projects/engine/webhooks', {
      name: `hook-${++hooks}`,
      type: 'custom',
      url: `${r.url}/hook/tok3n-s3cret`,
      events: ['bb.pipeline.completed'],
    });
    expect(created.status).toBe(201);
    const oldSecret = created.body.secret as string;
    const rotated = await admin.post(`/v1/projects/engine/webhooks/${created.body.id}/rotate-secret`);
    expect(rotated.status).toBe(200);
    const newSecret = rotated.body.secret as string;
    expect(newSecret).toMatch(/^whsec_/);
    expect(newSecret).not.toBe(oldSecret);
    expect((await admin.get(`/v1/projects/engine/webhooks/${created.body.id}/secret`)).body).toEqual({ secret: newSecret });

    await send('bb.pipeline.completed');
    const [hit] = await r.waitFor(1);
    const headers = hit.headers as Record<string, string>;
    const signatures = headers['webhook-signature'].split(' ');
    expect(signatures).toHaveLength(2);
    const verifies = (secret: string, signature: string) => {
      try {
        new Webhook(secret).verify(hit.body, { ...headers, 'webhook-signature': signature });
        return true;
      } catch {
        return false;
      }
    };
    // Each signature verifies with exactly one of the secrets, and each secret verifies one.
    expect(signatures.map((sig) => [verifies(oldSecret, sig), verifies(newSecret, sig)]).sort()).toEqual([
      [false, true],
      [true, false],
    ]);
  });

  it('fails a delivery whose stored URL no longer decrypts at once, with an attempt saying why', async () => {
    const r = await receiver();
    const id = await webhook(r, ['bb.pipeline.failed']);
    // What a changed HERALD_ENCRYPTION_KEY looks like: the URL was sealed with another key.
    const otherKey = new SecretBox(testConfig(dbUrl, prefix));
    await sql(`UPDATE webhooks SET url_encrypted = $2 WHERE id = $1`, [id, otherKey.encrypt(`${r.url}/hook/tok3n-s3cret`, secretContext.webhookUrl(id))]);
    await send('bb.pipeline.failed');
    const [d] = await eventually(async () => {
      const list = await deliveriesOf(id);
      return list[0]?.status === 'failed' ? list : undefined;
    }, 10_000);
    expect(d.attemptCount).toBe(1);
    const [attempt] = (await deliveryDetail(d.id)).attempts;
    expect(attempt).toMatchObject({ outcome: 'rejected', statusCode: null });
    expect(attempt.error).toContain('HERALD_ENCRYPTION_KEY changed');
    expect(r.requests).toHaveLength(0);
    // The test send says the same, rather than failing with a 500.
    const test = await admin.post(`/v1/projects/engine/webhooks/${id}/test`);
    expect(test.status).toBe(200);
    expect(test.body).toMatchObject({ ok: false, error: expect.stringContaining('HERALD_ENCRYPTION_KEY changed') });
  });

  it('sends a test message synchronously and never echoes the stored URL', async () => {
    const r = await receiver();
    const id = await webhook(r, ['bb.notify.pipeline.rollout']);
    const ok = await admin.post(`/v1/projects/engine/webhooks/${id}/test`);
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({ ok: true, statusCode: 200 });
    expect(r.requests[0].body).toContain('Test message from Herald');
    r.setDefault({ status: 500, body: 'boom' });
    const failed = await admin.post(`/v1/projects/engine/webhooks/${id}/test`);
    expect(failed.body).toMatchObject({ ok: false, statusCode: 500 });
    await r.goDown();
    const down = await admin.post(`/v1/projects/engine/webhooks/${id}/test`);
    expect(down.body.ok).toBe(false);
    expect(down.body.error).toContain('127.0.0.1');
    for (const res of [ok, failed, down]) expect(res.text).not.toContain('tok3n-s3cret');
    expect(r.requests).toHaveLength(2); // no retry
  });

  it('re-queues a delivery whose job Redis lost, continuing its retry budget', async () => {
    const r = await receiver();
    const id = await webhook(r, ['incident.resolve']);
    // What Redis losing its data looks like from Postgres: a pending delivery, untouched for a
    // while, with no job. (An event cannot lose its fan-out that way: its outbox row stays until
    // its deliveries exist.)
    const pg = new Client({ connectionString: dbUrl });
    await pg.connect();
    try {
      const [{ id: projectId }] = (await pg.query(`SELECT id FROM projects WHERE key = 'engine'`)).rows;
      const lost = async (title: string, attemptsUsed: number) => {
        const event = await pg.query(
          `INSERT INTO events (project_id, type, level, title, source, body, occurred_at, received_at)
           VALUES ($1, 'incident.resolve', 'INFO', $2, 'api', '{}', now(), now() - interval '1 minute') RETURNING id`,
          [projectId, title],
        );
        const delivery = await pg.query(
          `INSERT INTO deliveries (project_id, event_id, webhook_id, event_type, attempt_count, chain_attempts, updated_at)
           VALUES ($1, $2, $3, 'incident.resolve', $4, $4, now() - interval '1 minute') RETURNING id`,
          [projectId, event.rows[0].id, id, attemptsUsed],
        );
        return { eventId: event.rows[0].id as string, deliveryId: delivery.rows[0].id as string };
      };
      const fresh = await lost('lost delivery', 0);
      const got = await r.waitFor(1, 10_000);
      expect(got.map((q) => JSON.parse(q.body).event_id)).toEqual([fresh.eventId]);

      // A chain that had used two of its three attempts gets one more, not a new chain of three.
      r.setDefault({ status: 503 });
      const late = await lost('lost late in its chain', 2);
      const detail = await eventually(async () => {
        const body = await deliveryDetail(late.deliveryId);
        return body.status === 'dead' ? body : undefined;
      }, 10_000);
      expect(detail.attemptCount).toBe(3);
      await new Promise((res) => setTimeout(res, 1000));
      expect(r.requests.filter((q) => JSON.parse(q.body).event_id === late.eventId)).toHaveLength(1);
    } finally {
      await pg.end();
    }
  });
});
