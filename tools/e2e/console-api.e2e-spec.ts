import {
  FakeImApis,
  FakeReceiver,
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
  type RunningApp,
} from '@herald/testing';

/**
 * The routes the web console added to the management API (issue 14): who am I, figures next to
 * resources, a test of an unsaved webhook, connection samples, attempt request headers, IM
 * status, DORA details; each with the tenancy rule (another project's key gets 404) and in the
 * OpenAPI description. The gateway also serves the built console.
 */
describe('console API routes', () => {
  let apps: RunningApp[] = [];
  let receiver: FakeReceiver;
  let im: FakeImApis;
  let admin: TestClient;
  let alphaKey: TestClient;
  let betaKey: TestClient;
  let prefix: string;
  let slackId: string;
  let customId: string;

  beforeAll(async () => {
    prefix = uniqueQueuePrefix();
    receiver = await FakeReceiver.start();
    im = await FakeImApis.start();
    const [ingestionPort, gatewayPort, workerPort] = await Promise.all([freePort(), freePort(), freePort()]);
    const env = testEnv(await createTestDatabase(), prefix, {
      HERALD_INGESTION_URL: `http://127.0.0.1:${ingestionPort}`,
      HERALD_PUBLIC_URL: 'https://herald.example.com',
      HERALD_EXTRA_ALLOWED_HOSTS: '127.0.0.1',
      ...im.env,
    });
    apps = await Promise.all([
      startApp('ingestion', env, ingestionPort),
      startApp('api-gateway', env, gatewayPort),
      startApp('delivery-worker', env, workerPort),
    ]);
    admin = new TestClient(apps[1].url, TEST_ADMIN_TOKEN);
    for (const key of ['alpha', 'beta']) expect((await admin.post('/v1/projects', { key, name: key })).status).toBe(201);
    alphaKey = admin.as((await admin.post('/v1/projects/alpha/api-keys', { name: 'a' })).body.key);
    betaKey = admin.as((await admin.post('/v1/projects/beta/api-keys', { name: 'b' })).body.key);
    slackId = (
      await admin.post('/v1/projects/alpha/webhooks', { name: 'slack', type: 'slack', url: `${receiver.url}/services/T/B/slack`, events: ['bb.issue.create'] })
    ).body.id;
    customId = (await admin.post('/v1/projects/alpha/webhooks', { name: 'custom', type: 'custom', url: `${receiver.url}/custom`, events: ['bb.issue.create'] }))
      .body.id;
  }, 90_000);

  afterAll(async () => {
    await Promise.all(apps.map((app) => stopApp(app)));
    await receiver?.stop();
    await im?.stop();
    if (prefix) await deleteQueueKeys(prefix);
  });

  it('GET /v1/session says who the credentials are, and what a project key may not do', async () => {
    expect((await admin.get('/v1/session')).body).toEqual({ kind: 'admin', restrictions: [] });
    const project = await alphaKey.get('/v1/session');
    expect(project.body).toMatchObject({ kind: 'project', project: { key: 'alpha', name: 'alpha' } });
    expect(project.body.restrictions).toEqual(expect.arrayContaining([expect.stringMatching(/create or revoke API keys: only the admin token can/)]));
    expect((await admin.as(undefined).get('/v1/session')).status).toBe(401);
  });

  it('per-webhook failure rate and last delivery over 24 h; overview figures; recoverable count', async () => {
    receiver.enqueue({}, {}, { status: 400, body: 'bad' }, { status: 400, body: 'bad' });
    for (const title of ['one', 'two']) expect((await alphaKey.post('/v1/projects/alpha/events', { type: 'bb.issue.create', title })).status).toBe(202);
    await eventually(
      async () => {
        const page = (await admin.get('/v1/projects/alpha/deliveries')).body.items as Array<{ status: string }>;
        return page.length === 4 && page.every((d) => d.status === 'succeeded' || d.status === 'failed');
      },
      15_000,
      'four finished deliveries',
    );

    const stats = await alphaKey.get('/v1/projects/alpha/stats/webhooks');
    expect(stats.status).toBe(200);
    const byId = new Map((stats.body.items as Array<{ webhookId: string }>).map((s) => [s.webhookId, s]));
    const total = [...byId.values()].reduce((n, s: any) => n + s.deliveries, 0);
    expect(total).toBe(4);
    for (const id of [slackId, customId]) {
      expect(byId.get(id)).toMatchObject({
        webhookId: id,
        deliveries: 2,
        lastDeliveryAt: expect.any(String),
        lastDeliveryStatus: expect.stringMatching(/succeeded|failed/),
      });
    }
    const failed = [...byId.values()].reduce((n, s: any) => n + s.failed, 0);
    expect(failed).toBe(2);
    expect([...byId.values()].map((s: any) => s.failureRate).sort()).toEqual(expect.arrayContaining([expect.any(Number)]));
    expect((await betaKey.get('/v1/projects/alpha/stats/webhooks')).status).toBe(404);

    const overview = await alphaKey.get('/v1/projects/alpha/stats/overview?minutes=30');
    expect(overview.status).toBe(200);
    expect(overview.body).toMatchObject({ minutes: 30, accepted: 2, delivered: 2, failed: 2, successRate: 0.5, backlog: 0, dead: 0, disabledWebhooks: 0 });
    expect(overview.body.perMinute).toHaveLength(30);
    expect(overview.body.perMinute.reduce((n: number, m: { accepted: number }) => n + m.accepted, 0)).toBe(2);
    expect(overview.body.p95LatencyMs).toBeGreaterThanOrEqual(0);
    const tooShort = await alphaKey.get('/v1/projects/alpha/stats/overview?minutes=2');
    expect([tooShort.status, tooShort.body.details?.[0]?.field]).toEqual([400, 'minutes']);

    const since = new Date(Date.now() - 3600_000).toISOString();
    const recoverable = async (id: string) => (await alphaKey.get(`/v1/projects/alpha/stats/recoverable?webhookId=${id}&since=${since}`)).body.count;
    const counts = [await recoverable(slackId), await recoverable(customId)];
    expect(counts.reduce((a, b) => a + b, 0)).toBe(2);
    // The count is what recover then replays.
    const failing = counts[0] > 0 ? slackId : customId;
    expect((await alphaKey.post(`/v1/projects/alpha/webhooks/${failing}/recover`, { since })).body).toEqual({ queued: counts[0] > 0 ? counts[0] : counts[1] });
    // The replays reach the receiver in the background: let them finish before the next test scripts it.
    await eventually(
      async () =>
        ((await admin.get('/v1/projects/alpha/deliveries')).body.items as Array<{ status: string }>).every(
          (d) => d.status === 'succeeded' || d.status === 'failed',
        ),
      15_000,
      'the recovered deliveries finished',
    );
    const bad = await alphaKey.get(`/v1/projects/alpha/stats/recoverable?webhookId=nope&since=yesterday`);
    expect([bad.status, bad.body.details.map((d: { field: string }) => d.field).sort()]).toEqual([400, ['since', 'webhookId']]);
    expect((await betaKey.get(`/v1/projects/beta/stats/recoverable?webhookId=${slackId}&since=${since}`)).status).toBe(404);
  });

  it('tests an unsaved webhook with the create rules, and both tests show the response excerpt', async () => {
    const before = receiver.requests.length;
    receiver.enqueue({ status: 200, body: 'ok' });
    const trial = await alphaKey.post('/v1/projects/alpha/webhooks/test', { type: 'slack', url: `${receiver.url}/services/T/B/trial`, name: 'not saved' });
    expect(trial.status).toBe(200);
    expect(trial.body).toMatchObject({ ok: true, statusCode: 200, responseBody: 'ok', durationMs: expect.any(Number) });
    expect(receiver.requests.slice(before).map((r) => r.path)).toEqual(['/services/T/B/trial']);

    const refused = await alphaKey.post('/v1/projects/alpha/webhooks/test', { type: 'slack', url: 'https://example.org/hook', secret: 'x' });
    expect(refused.status).toBe(400);
    expect(refused.body.details.map((d: { field: string }) => d.field).sort()).toEqual(['secret', 'url']);
    expect((await betaKey.post('/v1/projects/alpha/webhooks/test', { type: 'slack', url: `${receiver.url}/x` })).status).toBe(404);

    receiver.enqueue({ status: 404, body: 'no_service' });
    // Slack's limit is one message a second, and the saved webhook's test respects it.
    const saved = await eventually(
      async () => {
        const res = await alphaKey.post(`/v1/projects/alpha/webhooks/${slackId}/test`);
        return res.body.statusCode !== undefined ? res : undefined;
      },
      5000,
      'a test outside the rate limit',
    );
    expect(saved.body).toMatchObject({ ok: false, statusCode: 404, responseBody: 'no_service' });
  });

  it('renders the request headers of each attempt again: webhook-id and the signature as the receiver got them', async () => {
    const before = receiver.requests.length;
    const event = await alphaKey.post('/v1/projects/alpha/events', { type: 'bb.issue.create', title: 'headers' });
    const received = await eventually(() => receiver.requests.slice(before).find((r) => r.path === '/custom'), 10_000, 'the custom delivery');
    const delivery = await eventually(
      async () => {
        const d = (await admin.get(`/v1/projects/alpha/events/${event.body.id}`)).body.deliveries.find(
          (x: { webhookId: string; status: string }) => x.webhookId === customId,
        );
        return d?.status === 'succeeded' ? d : undefined;
      },
      10_000,
      'the delivery recorded',
    );
    const requests = await alphaKey.get(`/v1/projects/alpha/deliveries/${delivery.id}/requests`);
    expect(requests.status).toBe(200);
    expect(requests.body.items).toHaveLength(1);
    const [attempt] = requests.body.items;
    expect(attempt).toMatchObject({ number: 1, method: 'POST', urlMasked: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+\/…stom$/) });
    expect(attempt.headers['webhook-id']).toBe(received.headers['webhook-id']);
    expect(Math.abs(Number(attempt.headers['webhook-timestamp']) - Number(received.headers['webhook-timestamp']))).toBeLessThanOrEqual(1);
    if (attempt.headers['webhook-timestamp'] === received.headers['webhook-timestamp'])
      expect(attempt.headers['webhook-signature']).toBe(received.headers['webhook-signature']);
    expect(JSON.stringify(requests.body)).not.toContain('whsec_');
    expect((await betaKey.get(`/v1/projects/alpha/deliveries/${delivery.id}/requests`)).status).toBe(404);
  });

  it('sends a harmless sample through each connection route and counts what each connection received', async () => {
    const conn = (await alphaKey.post('/v1/projects/alpha/connections', { name: 'samples' })).body;
    const stats = async () =>
      (await alphaKey.get('/v1/projects/alpha/stats/connections')).body.items.find((s: { connectionId: number }) => s.connectionId === conn.id);
    expect(await stats()).toEqual({ connectionId: conn.id, lastReceivedAt: null, deployments: 0, issues: 0, incidents: 0, pullRequests: 0 });
    for (const route of ['deployments', 'issues', 'closeIssue', 'pullRequests']) {
      const sent = await alphaKey.post(`/v1/projects/alpha/connections/${conn.id}/samples/${route}`);
      expect([route, sent.status, sent.body.status, sent.body.response?.success]).toEqual([route, 200, 200, true]);
      expect(sent.body.url).toMatch(/^https:\/\/herald\.example\.com\/api\/rest\/plugins\/webhook\/connections\/\d+\//);
    }
    expect(await stats()).toMatchObject({ lastReceivedAt: expect.any(String), deployments: 1, issues: 1, incidents: 0, pullRequests: 1 });
    // Sent again: the same rows are updated, not added to.
    await alphaKey.post(`/v1/projects/alpha/connections/${conn.id}/samples/deployments`);
    expect(await stats()).toMatchObject({ deployments: 1 });
    // The sample deployment is to TESTING: production DORA does not count it.
    expect((await alphaKey.get('/v1/projects/alpha/dora')).body.deploymentFrequency.deployments).toBe(0);

    const unknown = await alphaKey.post(`/v1/projects/alpha/connections/${conn.id}/samples/commits`);
    expect([unknown.status, unknown.body.details?.[0]?.field]).toEqual([400, 'route']);
    expect((await betaKey.post(`/v1/projects/alpha/connections/${conn.id}/samples/deployments`)).status).toBe(404);
    expect((await betaKey.post(`/v1/projects/beta/connections/${conn.id}/samples/deployments`)).status).toBe(404);
  });

  it('DORA details: every month of the window (empty ones as zero), deployments, incidents with their deployment, the benchmark table', async () => {
    const conn = (await admin.post('/v1/projects/beta/connections', { name: 'beta-ci' })).body;
    const post = (path: string, body: unknown) => admin.post(`/api/rest/plugins/webhook/connections/${conn.id}/${path}`, body);
    const commit = { repoUrl: 'https://git.example.com/a.git', commitSha: 'abc123', startedDate: '2024-01-10T10:00:00Z', finishedDate: '2024-01-10T11:00:00Z' };
    expect(
      (
        await post('deployments', {
          id: 'd1',
          result: 'SUCCESS',
          startedDate: '2024-01-10T10:00:00Z',
          finishedDate: '2024-01-10T11:00:00Z',
          deploymentCommits: [commit],
        })
      ).status,
    ).toBe(200);
    expect(
      (
        await post('issues', {
          issueKey: 'INC-1',
          title: 'outage',
          type: 'INCIDENT',
          status: 'DONE',
          originalStatus: 'Done',
          createdDate: '2024-03-02T10:00:00Z',
          resolutionDate: '2024-03-02T12:00:00Z',
        })
      ).status,
    ).toBe(200);

    const details = await betaKey.get('/v1/projects/beta/dora/details?from=2024-01-01T00:00:00Z&to=2024-03-31T23:59:59Z');
    expect(details.status).toBe(200);
    expect(details.body.months.map((m: { month: string; deployments: number }) => [m.month, m.deployments])).toEqual([
      ['2024-01', 1],
      ['2024-02', 0],
      ['2024-03', 0],
    ]);
    expect(details.body.deployments).toEqual([
      expect.objectContaining({ connectionId: conn.id, id: 'd1', result: 'SUCCESS', environment: 'PRODUCTION', commits: 1, incidents: 1 }),
    ]);
    expect(details.body.incidents).toEqual([
      expect.objectContaining({
        issueKey: 'INC-1',
        deployment: expect.objectContaining({ id: 'd1' }),
        recoveryMinutes: Math.floor((Date.parse('2024-03-02T12:00:00Z') - Date.parse('2024-01-10T11:00:00Z')) / 60_000),
      }),
    ]);
    expect(details.body.benchmarks.map((b: { metric: string }) => b.metric)).toEqual([
      'deploymentFrequency',
      'leadTimeForChanges',
      'changeFailureRate',
      'recoveryTime',
    ]);
    expect(details.body.benchmarks[2].levels).toEqual({ elite: '0-5%', high: '5%-10%', medium: '10%-15%', low: '> 15%' });
    const bad = await betaKey.get('/v1/projects/beta/dora/details?from=yesterday');
    expect([bad.status, bad.body.details?.[0]?.field]).toEqual([400, 'from']);
    expect((await alphaKey.get('/v1/projects/beta/dora/details')).status).toBe(404);
  });

  it('IM status tells any caller which IM apps are configured, without credentials', async () => {
    expect((await admin.put('/v1/integrations/im/slack', { token: 'xoxb-0123456789-secret' })).status).toBe(200);
    const status = await alphaKey.get('/v1/integrations/im');
    expect(status.status).toBe(200);
    expect(status.body.items).toEqual(
      expect.arrayContaining([
        {
          provider: 'slack',
          configured: true,
          updatedAt: expect.any(String),
          credentialFields: [{ name: 'token', label: 'Bot token (xoxb-…)', secret: true, type: 'string' }],
        },
        {
          provider: 'feishu',
          configured: false,
          updatedAt: null,
          credentialFields: [
            { name: 'appId', label: 'App ID', secret: false, type: 'string' },
            { name: 'appSecret', label: 'App secret', secret: true, type: 'string' },
          ],
        },
      ]),
    );
    // The stored token (the label names its xoxb- form, which is no secret).
    expect(status.text).not.toContain('xoxb-0123456789');
    expect((await alphaKey.get('/v1/integrations/im/slack')).status).toBe(403);
  });

  it('tests an IM app with its provider by looking a recipient up, messaging nobody (admin only)', async () => {
    im.users.set('ann@example.com', 'U123');
    const test = (provider: string, recipient: string, as = admin) => as.post(`/v1/integrations/im/${provider}/test`, { recipient });
    expect((await test('slack', 'ann@example.com')).body).toEqual({
      ok: true,
      found: true,
      message: expect.stringContaining('ann@example.com would get direct messages'),
    });
    expect((await test('slack', 'bob@example.com')).body).toMatchObject({ ok: true, found: false });
    im.lookupError = true;
    expect((await test('slack', 'ann@example.com')).body).toMatchObject({ ok: false, found: null, message: expect.stringContaining('internal_error') });
    im.lookupError = false;
    expect(im.calls.filter((c) => c.provider === 'slack').map((c) => c.path)).toEqual(['/users.lookupByEmail', '/users.lookupByEmail', '/users.lookupByEmail']);
    const notEmail = await test('slack', 'ann');
    expect([notEmail.status, notEmail.body.details?.[0]?.field]).toEqual([400, 'recipient']);
    expect((await test('feishu', 'ann@example.com')).status).toBe(404);
    expect((await test('slack', 'ann@example.com', alphaKey)).status).toBe(403);
  });

  it('describes every new route in the OpenAPI document, and serves the console with / redirecting to it', async () => {
    const doc = (await admin.get('/docs-json')).body;
    for (const path of [
      '/v1/session',
      '/v1/projects/{key}/stats/webhooks',
      '/v1/projects/{key}/stats/overview',
      '/v1/projects/{key}/stats/connections',
      '/v1/projects/{key}/stats/recoverable',
      '/v1/projects/{key}/webhooks/test',
      '/v1/projects/{key}/connections/{id}/samples/{route}',
      '/v1/projects/{key}/deliveries/{id}/requests',
      '/v1/integrations/im',
      '/v1/integrations/im/{provider}/test',
      '/v1/projects/{key}/dora/details',
    ]) {
      expect([path, Boolean(doc.paths[path])]).toEqual([path, true]);
    }

    const root = await fetch(`${apps[1].url}/`, { redirect: 'manual' });
    expect([root.status, root.headers.get('location')]).toEqual([302, '/console/']);
    const page = await fetch(`${apps[1].url}/console/p/alpha/deliveries?status=dead`, { headers: { 'accept-encoding': 'gzip' } });
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(page.headers.get('content-security-policy')).toContain("default-src 'self'");
    expect(await page.text()).toContain('<div id="root">');
    const asset = /src="(\/console\/assets\/[^"]+\.js)"/.exec(await (await fetch(`${apps[1].url}/console/`)).text())?.[1];
    const js = await fetch(`${apps[1].url}${asset}`);
    expect([js.status, js.headers.get('cache-control')]).toEqual([200, 'public, max-age=31536000, immutable']);
    expect((await fetch(`${apps[1].url}/console/assets/missing.js`)).status).toBe(404);
  });
});
