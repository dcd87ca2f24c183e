import { randomBytes } from 'node:crypto';
import {
  FakeImApis,
  FakeReceiver,
  OTLP_KIND,
  OtlpReceiver,
  TEST_ADMIN_TOKEN,
  TestClient,
  createTestDatabase,
  deleteQueueKeys,
  eventually,
  freePort,
  startApp,
  stopApp,
  testEnv,
  uniqueQueuePrefix,
  type ReceivedSpan,
  type RunningApp,
} from '@herald/testing';

/**
 * OpenTelemetry traces (issue 12 item 6): the three apps run as processes with their real OTLP/HTTP
 * exporter pointed at a collector in this test process, and the spans of one event must form one
 * trace: the intake request (through the gateway's forward, continuing the producer's
 * traceparent), the write of the event and its outbox row, the relay's fan-out, each delivery
 * attempt, and each attempt's HTTP send and direct messages, every span the child of the one before.
 */
describe('one trace per event, from the intake request to each send', () => {
  let otlp: OtlpReceiver;
  let receiver: FakeReceiver;
  let slackChannel: FakeReceiver;
  let im: FakeImApis;
  let prefix: string;
  let env: Record<string, string>;
  let apps: RunningApp[] = [];
  let gateway: RunningApp;
  let ingestion: RunningApp;
  let admin: TestClient;

  beforeAll(async () => {
    otlp = await OtlpReceiver.start();
    receiver = await FakeReceiver.start();
    slackChannel = (await FakeReceiver.start()).setDefault({ status: 200, body: 'ok' });
    im = await FakeImApis.start();
    prefix = uniqueQueuePrefix();
    const [gatewayPort, ingestionPort] = [await freePort(), await freePort()];
    env = testEnv(await createTestDatabase(), prefix, {
      ...im.env,
      HERALD_INGESTION_URL: `http://127.0.0.1:${ingestionPort}`,
      HERALD_EXTRA_ALLOWED_HOSTS: '127.0.0.1',
      HERALD_RETRY_SCHEDULE: '0s,200ms,200ms',
      // The standard variables, as an operator sets them: the exporter's default protocol (http/protobuf).
      OTEL_EXPORTER_OTLP_ENDPOINT: otlp.url,
      OTEL_BSP_SCHEDULE_DELAY: '100',
    });
    apps = await Promise.all([
      startApp('ingestion', env, ingestionPort),
      startApp('api-gateway', env, gatewayPort),
      startApp('delivery-worker', env, await freePort()),
    ]);
    [ingestion, gateway] = apps;
    admin = new TestClient(gateway.url, TEST_ADMIN_TOKEN);
    expect((await admin.post('/v1/projects', { key: 'otel', name: 'Traced' })).status).toBe(201);
    const hook = await admin.post('/v1/projects/otel/webhooks', {
      name: 'r',
      type: 'custom',
      url: `${receiver.url}/hook`,
      events: ['bb.issue.create', 'deployment.create'],
    });
    expect(hook.status).toBe(201);
  }, 60_000);

  afterAll(async () => {
    await Promise.all(apps.map((app) => stopApp(app, 'SIGKILL')));
    await Promise.all([receiver?.stop(), slackChannel?.stop(), im?.stop(), otlp?.stop()]);
    await deleteQueueKeys(prefix);
  });

  const only = (spans: ReceivedSpan[], what: string, match: (s: ReceivedSpan) => boolean): ReceivedSpan => {
    const found = spans.filter(match);
    if (found.length !== 1) throw new Error(`expected one ${what} span, found ${found.length}: ${spans.map((s) => `${s.service} ${s.name}`).join('; ')}`);
    return found[0];
  };
  /** Every span's parent is in the trace, except the root's (none, or the producer's own span). */
  const linked = (spans: ReceivedSpan[], outside: string) => {
    const ids = new Set(spans.map((s) => s.spanId));
    expect(spans.filter((s) => s.parentSpanId !== outside && !ids.has(s.parentSpanId)).map((s) => s.name)).toEqual([]);
    expect(spans.filter((s) => s.parentSpanId === outside)).toHaveLength(1);
  };
  const byAttempt = (a: ReceivedSpan, b: ReceivedSpan) => Number(a.attributes['herald.attempt']) - Number(b.attributes['herald.attempt']);

  it('joins the producer, the gateway, ingestion, the outbox, the relay, both attempts of a retried delivery and their sends', async () => {
    const traceId = randomBytes(16).toString('hex');
    const producerSpan = randomBytes(8).toString('hex');
    receiver.enqueue({ status: 500, body: 'try again' });
    const posted = await admin.post(
      '/v1/projects/otel/events',
      { type: 'bb.issue.create', title: 'traced' },
      { traceparent: `00-${traceId}-${producerSpan}-01` },
    );
    expect(posted.status).toBe(202);

    await eventually(
      () => {
        const trace = otlp.inTrace(traceId);
        return trace.filter((s) => s.kind === OTLP_KIND.client).length === 2 && trace.filter((s) => s.name === 'herald.delivery.attempt').length === 2;
      },
      15_000,
      'the spans of both attempts',
    );
    await new Promise((r) => setTimeout(r, 300)); // anything else of this trace would have arrived by now
    const trace = otlp.inTrace(traceId);
    expect(otlp.refused).toEqual([]);

    const forward = only(trace, 'gateway', (s) => s.service === 'herald-api-gateway');
    expect(forward).toMatchObject({ name: 'POST /v1/projects/:key/events', kind: OTLP_KIND.server, parentSpanId: producerSpan });
    expect(forward.attributes['http.response.status_code']).toBe(202);

    const intake = only(trace, 'ingestion request', (s) => s.service === 'herald-ingestion' && s.kind === OTLP_KIND.server);
    expect(intake).toMatchObject({ name: 'POST /v1/projects/:key/events', parentSpanId: forward.spanId });
    expect(intake.attributes).toMatchObject({ 'herald.event.id': posted.body.id, 'http.response.status_code': 202 });

    const store = only(trace, 'store', (s) => s.name === 'herald.intake.store');
    expect(store).toMatchObject({ service: 'herald-ingestion', parentSpanId: intake.spanId });
    expect(store.attributes['herald.event.count']).toBe(1);

    const relay = only(trace, 'relay', (s) => s.name === 'herald.outbox.relay');
    expect(relay).toMatchObject({ service: 'herald-delivery-worker', kind: OTLP_KIND.producer, parentSpanId: store.spanId });
    expect(relay.attributes).toMatchObject({ 'herald.event.id': posted.body.id, 'herald.delivery.count': 1 });

    const attempts = trace.filter((s) => s.name === 'herald.delivery.attempt').sort(byAttempt);
    for (const attempt of attempts) expect(attempt).toMatchObject({ service: 'herald-delivery-worker', kind: OTLP_KIND.consumer, parentSpanId: relay.spanId });
    expect(attempts.map((a) => a.attributes)).toEqual([
      expect.objectContaining({
        'herald.attempt': 1,
        'herald.channel': 'custom',
        'herald.outcome': 'retryable',
        'http.response.status_code': 500,
        'herald.delivery.status': 'pending',
      }),
      expect.objectContaining({
        'herald.attempt': 2,
        'herald.channel': 'custom',
        'herald.outcome': 'delivered',
        'http.response.status_code': 200,
        'herald.delivery.status': 'succeeded',
      }),
    ]);
    expect(attempts.map((a) => a.status.code)).toEqual([2, 0]);
    expect(attempts[0].status.message).toMatch(/500/);
    const deliveryId = receiver.requests[receiver.requests.length - 1].headers['webhook-id'];
    expect(attempts.map((a) => a.attributes['herald.delivery.id'])).toEqual([deliveryId, deliveryId]);

    const sends = attempts.map((a) => only(trace, 'send', (s) => s.kind === OTLP_KIND.client && s.parentSpanId === a.spanId));
    expect(sends.map((s) => [s.name, s.attributes['http.response.status_code'], s.attributes['server.address'], s.status.code])).toEqual([
      ['POST', 500, '127.0.0.1', 2],
      ['POST', 200, '127.0.0.1', 0],
    ]);
    // The webhook URL is a credential: no span carries it.
    for (const s of trace) expect(JSON.stringify(s.attributes, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v))).not.toContain('/hook');

    expect(trace).toHaveLength(8);
    linked(trace, producerSpan);
    // The sends happen after the intake answered, and in order.
    expect(sends[0].startNs).toBeGreaterThan(intake.endNs);
    expect(sends[1].startNs).toBeGreaterThan(sends[0].endNs);
  }, 30_000);

  it('starts the trace at ingestion for a DevLake route posted to it directly', async () => {
    const before = new Set(otlp.spans.map((s) => s.traceId));
    const res = await fetch(`${ingestion.url}/api/plugins/webhook/projects/otel/deployments`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TEST_ADMIN_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ commit_sha: randomBytes(20).toString('hex'), repo_url: 'https://git.example.com/app' }),
    });
    expect(res.status).toBe(200);
    const root = await eventually(
      () =>
        otlp.spans.find(
          (s) => !before.has(s.traceId) && s.kind === OTLP_KIND.server && s.name === 'POST /api/plugins/webhook/projects/:projectKey/deployments',
        ),
      10_000,
      'the DevLake request span',
    );
    expect(root).toMatchObject({ service: 'herald-ingestion', parentSpanId: '' });
    const trace = await eventually(
      () => {
        const t = otlp.inTrace(root.traceId);
        return t.some((s) => s.kind === OTLP_KIND.client) ? t : undefined;
      },
      10_000,
      'the send of the deployment event',
    );
    await new Promise((r) => setTimeout(r, 300));
    const all = otlp.inTrace(root.traceId);
    const store = only(all, 'store', (s) => s.name === 'herald.intake.store');
    const relay = only(all, 'relay', (s) => s.name === 'herald.outbox.relay');
    const attempt = only(all, 'attempt', (s) => s.name === 'herald.delivery.attempt');
    const send = only(all, 'send', (s) => s.kind === OTLP_KIND.client);
    expect([store.parentSpanId, relay.parentSpanId, attempt.parentSpanId, send.parentSpanId]).toEqual([
      root.spanId,
      store.spanId,
      relay.spanId,
      attempt.spanId,
    ]);
    expect(store.attributes['herald.event.count']).toBe(1);
    expect(attempt.attributes).toMatchObject({ 'herald.outcome': 'delivered', 'http.response.status_code': 200 });
    expect(trace.length).toBeGreaterThanOrEqual(5);
    linked(all, '');
  }, 30_000);

  it('puts direct messages in the attempt, beside the channel post for the user not found', async () => {
    im.users.set('bob@example.com', 'U0BOB');
    expect((await admin.put('/v1/integrations/im/slack', { token: 'xoxb-test-token' })).status).toBe(200);
    const hook = await admin.post('/v1/projects/otel/webhooks', {
      name: 'dm',
      type: 'slack',
      url: `${slackChannel.url}/services/T0/B0/x`,
      events: ['bb.notify.issue.approved'],
      directMessage: true,
    });
    expect(hook.status).toBe(201);
    const traceId = randomBytes(16).toString('hex');
    const posted = await admin.post(
      '/v1/projects/otel/events',
      {
        type: 'bb.notify.issue.approved',
        title: 'Approved',
        mentions: [
          { name: 'Bob', email: 'bob@example.com' },
          { name: 'Carol', email: 'carol@example.com' },
        ],
      },
      { traceparent: `00-${traceId}-${randomBytes(8).toString('hex')}-01` },
    );
    expect(posted.status).toBe(202);
    const attempt = await eventually(() => otlp.inTrace(traceId).find((s) => s.name === 'herald.delivery.attempt'), 15_000, 'the attempt span');
    const dm = only(otlp.inTrace(traceId), 'direct messages', (s) => s.name === 'herald.delivery.direct_messages');
    expect(dm.parentSpanId).toBe(attempt.spanId);
    expect(dm.attributes).toMatchObject({ 'herald.dm.attempted': true, 'herald.dm.messaged': 1, 'herald.dm.fallback': 1, 'herald.dm.post_to_channel': true });
    const post = only(otlp.inTrace(traceId), 'channel post', (s) => s.kind === OTLP_KIND.client);
    expect(post.parentSpanId).toBe(attempt.spanId);
    expect(attempt.attributes).toMatchObject({ 'herald.channel': 'slack', 'herald.outcome': 'delivered' });
    // The SDK stamps some spans to the millisecond and others finer: compare milliseconds.
    expect(post.startNs / 1_000_000n).toBeGreaterThanOrEqual(dm.endNs / 1_000_000n);
  }, 30_000);

  it('exports OTLP/JSON when asked, under OTEL_SERVICE_NAME, and sends the spans still buffered when the app stops', async () => {
    // A batch delay far beyond the test: the spans can only arrive through the flush at SIGTERM.
    const own = await startApp(
      'ingestion',
      { ...env, OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json', OTEL_SERVICE_NAME: 'intake-json', OTEL_BSP_SCHEDULE_DELAY: '600000' },
      await freePort(),
    );
    const traceId = randomBytes(16).toString('hex');
    const res = await fetch(`${own.url}/v1/projects/otel/events`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${TEST_ADMIN_TOKEN}`,
        'content-type': 'application/json',
        traceparent: `00-${traceId}-${randomBytes(8).toString('hex')}-01`,
      },
      body: JSON.stringify({ type: 'bb.issue.create', title: 'json' }),
    });
    expect(res.status).toBe(202);
    await new Promise((r) => setTimeout(r, 500));
    expect(otlp.inTrace(traceId).filter((s) => s.service === 'intake-json')).toEqual([]);
    expect(await stopApp(own)).toBe(0);
    const spans = otlp.inTrace(traceId).filter((s) => s.service === 'intake-json');
    expect(spans.map((s) => s.name).sort()).toEqual(['POST /v1/projects/:key/events', 'herald.intake.store']);
    expect(otlp.refused).toEqual([]);
  }, 30_000);
});
