import {
  FakeImApis,
  FakeReceiver,
  TestClient,
  TEST_ADMIN_TOKEN,
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
 * Issue 5 end to end: one webhook of every type, each pointing at a local receiver that answers
 * like its platform; one event fans out to all of them and each receiver gets its platform's body.
 */
describe('channels end to end', () => {
  const receivers: Record<string, FakeReceiver> = {};
  let prefix: string;
  let apps: RunningApp[] = [];
  let admin: TestClient;
  let im: FakeImApis;

  /** Path, query and success answer per type (SPEC §6.4), on 127.0.0.1 via HERALD_EXTRA_ALLOWED_HOSTS. */
  const PLATFORMS: Record<string, { path: string; reply: { status: number; body: string }; extra?: Record<string, unknown> }> = {
    slack: { path: '/services/T0/B0/tok', reply: { status: 200, body: 'ok' } },
    discord: { path: '/api/webhooks/1/tok', reply: { status: 204, body: '' } },
    teams: { path: '/webhookb2/a@b/IncomingWebhook/c/d', reply: { status: 200, body: '1' } },
    dingtalk: { path: '/robot/send?access_token=tok', reply: { status: 200, body: '{"errcode":0,"errmsg":"ok"}' }, extra: { secret: 'SEC0123456789abcdef0123456789abcdef' } },
    feishu: { path: '/open-apis/bot/v2/hook/tok', reply: { status: 200, body: '{"code":0,"msg":"success"}' }, extra: { secret: 'fs' } },
    lark: { path: '/open-apis/bot/v2/hook/tok', reply: { status: 200, body: '{"StatusCode":0,"StatusMessage":"success"}' } },
    wecom: { path: '/cgi-bin/webhook/send?key=tok', reply: { status: 200, body: '{"errcode":0,"errmsg":"ok"}' } },
    googlechat: { path: '/v1/spaces/AAA/messages?key=k&token=tok', reply: { status: 200, body: '{}' } },
  };

  beforeAll(async () => {
    for (const [type, p] of Object.entries(PLATFORMS)) receivers[type] = (await FakeReceiver.start()).setDefault(p.reply);
    prefix = uniqueQueuePrefix();
    im = await FakeImApis.start();
    const [gatewayPort, ingestionPort] = [await freePort(), await freePort()];
    const env = testEnv(await createTestDatabase(), prefix, {
      ...im.env,
      HERALD_INGESTION_URL: `http://127.0.0.1:${ingestionPort}`,
      HERALD_EXTRA_ALLOWED_HOSTS: '127.0.0.1',
      HERALD_RETRY_SCHEDULE: '0s,300ms,300ms',
    });
    apps = await Promise.all([startApp('ingestion', env, ingestionPort), startApp('api-gateway', env, gatewayPort), startApp('delivery-worker', env, await freePort())]);
    admin = new TestClient(apps[1].url, TEST_ADMIN_TOKEN);
    expect((await admin.post('/v1/projects', { key: 'chan', name: 'Channels' })).status).toBe(201);
    for (const [type, p] of Object.entries(PLATFORMS)) {
      const res = await admin.post('/v1/projects/chan/webhooks', { name: type, type, url: `${receivers[type].url}${p.path}`, events: ['bb.issue.approval.notify'], ...p.extra });
      expect([type, res.status, res.body.url]).toEqual([type, 201, undefined]);
      expect(res.body.urlMasked).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/….{4}$/);
    }
  }, 90_000);

  afterAll(async () => {
    await Promise.all(apps.map((app) => stopApp(app, 'SIGKILL')));
    await Promise.all(Object.values(receivers).map((r) => r.stop()));
    await im?.stop();
    await deleteQueueKeys(prefix);
  });

  it('fans one event out to every platform, each in its own shape, and records each as delivered', async () => {
    const posted = await admin.post('/v1/projects/chan/events', {
      type: 'bb.issue.approval.notify',
      description: 'Please review <DROP TABLE> & more',
      link: 'https://example.com/issues/1',
      actor: { id: 1, name: 'Ann', email: 'ann@example.com' },
      issue: { id: 1, name: '删除旧表 🚀', status: 'OPEN' },
      mentions: [{ name: 'Bob', email: 'bob@example.com', phone: '+8613800000001' }],
    });
    expect(posted.status).toBe(202);
    const bodies: Record<string, { path: string; json: any }> = {};
    for (const type of Object.keys(PLATFORMS)) {
      const [req] = await receivers[type].waitFor(1, 10_000);
      bodies[type] = { path: req.path, json: JSON.parse(req.body) };
    }
    expect(bodies.slack.json.attachments[0].blocks[1].text.text).toBe('Please review &lt;DROP TABLE&gt; &amp; more');
    expect(bodies.discord.json.embeds[0]).toMatchObject({ title: '⚠️ Issue approval needed', timestamp: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) });
    expect(bodies.teams.json['@type']).toBe('MessageCard');
    expect(bodies.dingtalk.json).toMatchObject({ msgtype: 'markdown', markdown: { title: '工单待审批' }, at: { atMobiles: ['13800000001'] } });
    expect(bodies.dingtalk.path).toMatch(/^\/robot\/send\?access_token=tok&timestamp=\d{13}&sign=[A-Za-z0-9%]+$/);
    expect(bodies.feishu.json).toMatchObject({ msg_type: 'interactive', timestamp: expect.stringMatching(/^\d{10}$/), sign: expect.any(String) });
    expect(bodies.lark.json).toMatchObject({ msg_type: 'interactive' });
    expect(bodies.lark.json.sign).toBeUndefined();
    expect(bodies.wecom.json.markdown.content).toContain('删除旧表 🚀');
    expect(bodies.googlechat.json.cardsV2[0].card.header.title).toBe('⚠️ Issue approval needed');

    await eventually(async () => {
      const detail = await admin.get(`/v1/projects/chan/events/${posted.body.id}`);
      const statuses = (detail.body.deliveries ?? []).map((d: { status: string }) => d.status);
      return statuses.length === 8 && statuses.every((s: string) => s === 'succeeded');
    }, 15_000, 'all eight deliveries succeeded');
  });

  it('refuses a URL outside the type allow-list naming host and rule, never the token', async () => {
    const res = await admin.post('/v1/projects/chan/webhooks', { name: 'bad', type: 'slack', url: 'https://evil.example/services/T0/B0/SECRETTOKEN', events: ['bb.issue.create'] });
    expect(res.status).toBe(400);
    expect(JSON.stringify(res.body)).toContain('host evil.example is not a slack webhook host');
    expect(JSON.stringify(res.body)).not.toContain('SECRETTOKEN');
    const dm = await admin.post('/v1/projects/chan/webhooks', { name: 'dm', type: 'discord', url: `${receivers.discord.url}/x`, events: ['bb.issue.create'], directMessage: true });
    expect(dm.status).toBe(400);
    expect(dm.body.details[0].field).toBe('directMessage');
    const secret = await admin.post('/v1/projects/chan/webhooks', { name: 'sec', type: 'slack', url: `${receivers.slack.url}/x`, events: ['bb.issue.create'], secret: 'nope' });
    expect(secret.status).toBe(400);
  });

  it('stores IM integrations for the admin only and reads them back masked', async () => {
    const put = await admin.put('/v1/integrations/im/wecom', { corpId: 'ww1', agentId: '1000002', secret: 'very-secret-value' });
    expect(put.status).toBe(200);
    expect(put.body.settings).toEqual({ corpId: 'ww1', agentId: 1000002, secret: '****alue' });
    expect((await admin.get('/v1/integrations/im/wecom')).body.settings.secret).toBe('****alue');
    const bad = await admin.put('/v1/integrations/im/feishu', { appId: '' });
    expect(bad.status).toBe(400);
    expect(bad.body.details.map((d: { field: string }) => d.field).sort()).toEqual(['appId', 'appSecret']);
    expect((await admin.put('/v1/integrations/im/teams', {})).status).toBe(400);

    const key = await admin.post('/v1/projects/chan/api-keys', { name: 'ci' });
    const project = new TestClient(apps[1].url, key.body.key);
    expect((await project.get('/v1/integrations/im/wecom')).status).toBe(403);
    expect((await admin.delete('/v1/integrations/im/wecom')).status).toBe(204);
    expect((await admin.get('/v1/integrations/im/wecom')).status).toBe(404);
  });

  it('messages mentioned users directly through the worker, once each, and posts to the channel only for those not found', async () => {
    im.users.set('bob@example.com', 'U0BOB');
    expect((await admin.put('/v1/integrations/im/slack', { token: 'xoxb-test-token' })).status).toBe(200);
    const channel = (await FakeReceiver.start()).setDefault({ status: 200, body: 'ok' });
    receivers.dmChannel = channel;
    const hook = await admin.post('/v1/projects/chan/webhooks', { name: 'dm-slack', type: 'slack', url: `${channel.url}/services/T0/B0/x`, events: ['bb.notify.issue.approved'], directMessage: true });
    expect(hook.status).toBe(201);
    const posts = () => im.callsTo('slack', '/chat.postMessage');

    // Bob is found and messaged; Carol is not found, so the channel gets the post for her.
    const first = await admin.post('/v1/projects/chan/events', { type: 'bb.notify.issue.approved', title: 'Approved', mentions: [{ name: 'Bob', email: 'bob@example.com' }, { name: 'Carol', email: 'carol@example.com' }] });
    expect(first.status).toBe(202);
    await channel.waitFor(1, 10_000);
    expect(posts()).toHaveLength(1);

    // Only Bob: the DM is enough, no channel post; the delivery still succeeds and says why.
    const second = await admin.post('/v1/projects/chan/events', { type: 'bb.notify.issue.approved', title: 'Approved again', mentions: [{ name: 'Bob', email: 'bob@example.com' }] });
    const [delivery] = await eventually(async () => {
      const detail = await admin.get(`/v1/projects/chan/events/${second.body.id}`);
      const list = detail.body.deliveries ?? [];
      return list[0]?.status === 'succeeded' ? list : undefined;
    }, 10_000, 'DM-only delivery succeeded');
    expect(posts()).toHaveLength(2);
    expect(channel.requests).toHaveLength(1);
    const attempts = (await admin.get(`/v1/projects/chan/deliveries/${delivery.id}`)).body.attempts;
    expect(attempts[0].responseBody).toContain('direct messages: 1 sent');
  });
});
