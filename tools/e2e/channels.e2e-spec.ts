import { createHmac } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
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
  /** Webhook id and, for custom, the signing secret returned once at creation. */
  const created: Record<string, { id: string; secret?: string }> = {};

  const DINGTALK_SECRET = 'SEC0123456789abcdef0123456789abcdef';
  const FEISHU_SECRET = 'fs-signing-secret';
  /**
   * One webhook per type (and Teams twice: a Workflows URL and an Office 365 connector URL), with
   * the path, query and success answer of its platform (docs/contract.md §6.4), on 127.0.0.1 via
   * HERALD_EXTRA_ALLOWED_HOSTS.
   */
  const PLATFORMS: Record<string, { type: string; path: string; reply: { status: number; body: string }; extra?: Record<string, unknown> }> = {
    slack: { type: 'slack', path: '/services/T0/B0/tok', reply: { status: 200, body: 'ok' } },
    discord: { type: 'discord', path: '/api/webhooks/1/tok', reply: { status: 204, body: '' } },
    teams: { type: 'teams', path: '/webhookb2/a@b/IncomingWebhook/c/d', reply: { status: 200, body: '1' } },
    teamsWorkflow: { type: 'teams', path: '/workflows/abc123/triggers/manual/paths/invoke?api-version=1&sig=tok', reply: { status: 202, body: '' } },
    dingtalk: {
      type: 'dingtalk',
      path: '/robot/send?access_token=tok',
      reply: { status: 200, body: '{"errcode":0,"errmsg":"ok"}' },
      extra: { secret: DINGTALK_SECRET },
    },
    feishu: {
      type: 'feishu',
      path: '/open-apis/bot/v2/hook/tok',
      reply: { status: 200, body: '{"code":0,"msg":"success"}' },
      extra: { secret: FEISHU_SECRET },
    },
    lark: { type: 'lark', path: '/open-apis/bot/v2/hook/tok', reply: { status: 200, body: '{"StatusCode":0,"StatusMessage":"success"}' } },
    wecom: { type: 'wecom', path: '/cgi-bin/webhook/send?key=tok', reply: { status: 200, body: '{"errcode":0,"errmsg":"ok"}' } },
    googlechat: { type: 'googlechat', path: '/v1/spaces/AAA/messages?key=k&token=tok', reply: { status: 200, body: '{}' } },
    custom: { type: 'custom', path: '/hooks/herald', reply: { status: 200, body: '{"code":0,"message":"stored"}' } },
  };

  beforeAll(async () => {
    for (const [name, p] of Object.entries(PLATFORMS)) receivers[name] = (await FakeReceiver.start()).setDefault(p.reply);
    prefix = uniqueQueuePrefix();
    im = await FakeImApis.start();
    const [gatewayPort, ingestionPort] = [await freePort(), await freePort()];
    const env = testEnv(await createTestDatabase(), prefix, {
      ...im.env,
      HERALD_INGESTION_URL: `http://127.0.0.1:${ingestionPort}`,
      HERALD_EXTRA_ALLOWED_HOSTS: '127.0.0.1',
      HERALD_RETRY_SCHEDULE: '0s,300ms,300ms',
    });
    apps = await Promise.all([
      startApp('ingestion', env, ingestionPort),
      startApp('api-gateway', env, gatewayPort),
      startApp('delivery-worker', env, await freePort()),
    ]);
    admin = new TestClient(apps[1].url, TEST_ADMIN_TOKEN);
    expect((await admin.post('/v1/projects', { key: 'chan', name: 'Channels' })).status).toBe(201);
    for (const [name, p] of Object.entries(PLATFORMS)) {
      const res = await admin.post('/v1/projects/chan/webhooks', {
        name,
        type: p.type,
        url: `${receivers[name].url}${p.path}`,
        events: ['bb.issue.approval.notify'],
        ...p.extra,
      });
      expect([name, res.status, res.body.url]).toEqual([name, 201, undefined]);
      expect(res.body.urlMasked).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/….{4}$/);
      created[name] = { id: res.body.id, secret: res.body.secret };
    }
    expect(created.custom.secret).toMatch(/^whsec_/);
    expect(created.dingtalk.secret).toBeUndefined();
  }, 90_000);

  afterAll(async () => {
    await Promise.all(apps.map((app) => stopApp(app, 'SIGKILL')));
    await Promise.all(Object.values(receivers).map((r) => r.stop()));
    await im?.stop();
    await deleteQueueKeys(prefix);
  });

  /**
   * One event fanned out to every webhook above, posted once (beforeAll); each platform's shape is
   * its own test, so a platform that fails does not hide how the others did.
   */
  describe('one event fanned out to all nine types', () => {
    type Received = { path: string; headers: Record<string, string>; raw: string; json: any };
    let posted: { status: number; body: { id: string } };
    let before: number;
    /** What each receiver got, or why it got nothing (reported by that platform's test only). */
    const got: Record<string, Received> = {};
    const missing: Record<string, Error> = {};
    const keys = (o: object) => Object.keys(o).sort();
    /** The request `name`'s receiver got; throws (failing only the calling test) when it got none. */
    const request = (name: string): Received => {
      if (missing[name]) throw missing[name];
      return got[name];
    };

    beforeAll(async () => {
      before = Math.floor(Date.now() / 1000);
      posted = await admin.post('/v1/projects/chan/events', {
        type: 'bb.issue.approval.notify',
        description: 'Please review <DROP TABLE> & more',
        link: 'https://example.com/issues/1',
        actor: { id: 1, name: 'Ann', email: 'ann@example.com' },
        issue: { id: 1, name: '删除旧表 🚀', status: 'OPEN' },
        mentions: [{ name: 'Bob', email: 'bob@example.com', phone: '+8613800000001' }],
      });
      expect(posted.status).toBe(202);
      // Every receiver is awaited at once, and one that gets nothing is recorded, not thrown: its
      // platform's test fails, the others still run.
      const names = Object.keys(PLATFORMS);
      const results = await Promise.allSettled(names.map((name) => receivers[name].waitFor(1, 10_000)));
      results.forEach((result, i) => {
        const name = names[i];
        if (result.status === 'rejected') {
          missing[name] = new Error(`${name}: the receiver got no request: ${(result.reason as Error).message}`);
          return;
        }
        const [req] = result.value;
        try {
          got[name] = { path: req.path, headers: req.headers as Record<string, string>, raw: req.body, json: JSON.parse(req.body) };
        } catch (err) {
          missing[name] = new Error(`${name}: the body is not JSON (${(err as Error).message}): ${req.body.slice(0, 200)}`);
        }
      });
    }, 30_000);

    it('Slack: attachments[{color, blocks: [section, section, context, actions]}], user text as plain_text', () => {
      const slack = request('slack');
      expect(keys(slack.json)).toEqual(['attachments']);
      const [attachment] = slack.json.attachments;
      expect(attachment.color).toBe('#ECB22E');
      expect(attachment.blocks.map((b: { type: string }) => b.type)).toEqual(['section', 'section', 'context', 'actions']);
      expect(attachment.blocks[1].text).toEqual({ type: 'plain_text', text: 'Please review <DROP TABLE> & more\n\n删除旧表 🚀' });
      expect(attachment.blocks[3].elements[0]).toMatchObject({ type: 'button', url: 'https://example.com/issues/1' });
    });

    it('Discord: one embed with title, description, url, ISO-8601 timestamp, color, author and fields', () => {
      const discord = request('discord');
      expect(keys(discord.json)).toEqual(['embeds']);
      const [embed] = discord.json.embeds;
      expect(keys(embed)).toEqual(['author', 'color', 'description', 'fields', 'timestamp', 'title', 'url']);
      expect(embed).toMatchObject({
        title: '⚠️ Issue approval needed',
        url: 'https://example.com/issues/1',
        color: 0xecb22e,
        author: { name: 'Ann (ann@example.com)' },
      });
      expect(new Date(embed.timestamp).toISOString()).toBe(embed.timestamp);
      expect(embed.fields).toContainEqual({ name: 'Approvers', value: 'Bob', inline: true });
    });

    it('Teams, Office 365 connector URL: a MessageCard', () => {
      const teams = request('teams');
      expect(teams.json).toMatchObject({
        '@type': 'MessageCard',
        '@context': 'https://schema.org/extensions',
        title: '⚠️ Issue approval needed',
        themeColor: 'ECB22E',
      });
      expect(teams.json.potentialAction[0]).toMatchObject({ '@type': 'OpenUri', targets: [{ os: 'default', uri: 'https://example.com/issues/1' }] });
    });

    it('Teams, Workflows URL: Adaptive Card 1.4 in a message envelope', () => {
      const workflow = request('teamsWorkflow');
      expect(keys(workflow.json)).toEqual(['attachments', 'type']);
      expect(workflow.json.type).toBe('message');
      expect(workflow.json.attachments).toHaveLength(1);
      const [card] = workflow.json.attachments;
      expect(card).toMatchObject({ contentType: 'application/vnd.microsoft.card.adaptive', contentUrl: null });
      expect(card.content).toMatchObject({ type: 'AdaptiveCard', version: '1.4', $schema: 'http://adaptivecards.io/schemas/adaptive-card.json' });
      expect(card.content.body[0]).toMatchObject({ type: 'RichTextBlock', inlines: [{ type: 'TextRun', text: '⚠️ Issue approval needed', color: 'Warning' }] });
      expect(card.content.actions).toEqual([{ type: 'Action.OpenUrl', title: 'View details', url: 'https://example.com/issues/1' }]);
    });

    it('DingTalk: markdown with atMobiles from the mentions, signed in the query (recomputed here)', () => {
      const dingtalk = request('dingtalk');
      expect(dingtalk.json).toEqual({
        msgtype: 'markdown',
        markdown: { title: '工单待审批', text: expect.stringMatching(/@13800000001$/) },
        at: { atMobiles: ['13800000001'], isAtAll: false },
      });
      const dingUrl = new URL(dingtalk.path, 'http://receiver');
      expect([...dingUrl.searchParams.keys()]).toEqual(['access_token', 'timestamp', 'sign']);
      const dingTs = dingUrl.searchParams.get('timestamp') as string;
      expect(dingTs).toMatch(/^\d{13}$/);
      expect(Math.abs(Number(dingTs) - Date.now())).toBeLessThan(60_000);
      const dingSign = createHmac('sha256', DINGTALK_SECRET).update(`${dingTs}\n${DINGTALK_SECRET}`).digest('base64');
      expect(dingUrl.searchParams.get('sign')).toBe(dingSign);
      expect(dingtalk.path).toContain(`&sign=${encodeURIComponent(dingSign)}`);
    });

    it('Feishu: an interactive card, signed in the body (recomputed here)', () => {
      const feishu = request('feishu');
      expect(keys(feishu.json)).toEqual(['card', 'msg_type', 'sign', 'timestamp']);
      expect(feishu.json.msg_type).toBe('interactive');
      const feishuTs = feishu.json.timestamp as string;
      expect(feishuTs).toMatch(/^\d{10}$/);
      expect(Number(feishuTs)).toBeGreaterThanOrEqual(before - 5);
      expect(feishu.json.sign).toBe(createHmac('sha256', `${feishuTs}\n${FEISHU_SECRET}`).update('').digest('base64'));
      expect(feishu.json.card.header).toEqual({ template: 'orange', title: { tag: 'plain_text', content: '⚠️ Issue approval needed' } });
    });

    it('Lark: an interactive card; without a secret it carries no signature', () => {
      const lark = request('lark');
      expect(keys(lark.json)).toEqual(['card', 'msg_type']);
      expect(lark.json.msg_type).toBe('interactive');
    });

    it('WeCom: markdown content only, within 4096 bytes', () => {
      const wecom = request('wecom');
      expect(keys(wecom.json)).toEqual(['markdown', 'msgtype']);
      expect(wecom.json.msgtype).toBe('markdown');
      expect(keys(wecom.json.markdown)).toEqual(['content']);
      expect(wecom.json.markdown.content).toContain('删除旧表 🚀');
      expect(Buffer.byteLength(wecom.json.markdown.content)).toBeLessThanOrEqual(4096);
    });

    it('Google Chat: cardsV2 with a header', () => {
      const googlechat = request('googlechat');
      expect(keys(googlechat.json)).toEqual(['cardsV2']);
      expect(googlechat.json.cardsV2[0].card.header).toEqual({ title: '⚠️ Issue approval needed', subtitle: 'Channels' });
    });

    it('custom: exactly the seed keys plus event_id, signed with webhook-id = the delivery id (verified with standardwebhooks)', async () => {
      const custom = request('custom');
      const delivery = await eventually(
        async () => {
          const res = await admin.get(`/v1/projects/chan/deliveries?webhookId=${created.custom.id}`);
          return (res.body.items as Array<{ id: string; eventId: string }> | undefined)?.find((d) => d.eventId === posted.body.id);
        },
        10_000,
        "the custom webhook's delivery of the event",
      );
      expect(custom.headers['webhook-id']).toBe(delivery.id);
      expect(new Webhook(created.custom.secret as string).verify(custom.raw, custom.headers)).toEqual({
        level: 'WARN',
        activity_type: 'bb.issue.approval.notify',
        title: 'Issue approval needed',
        description: 'Please review <DROP TABLE> & more',
        link: 'https://example.com/issues/1',
        creator_id: 1,
        creator_name: 'Ann',
        created_ts: expect.any(Number),
        issue: { id: 1, name: '删除旧表 🚀', status: 'OPEN', type: '', description: '' },
        project: { id: expect.any(Number), name: 'Channels' },
        event_id: posted.body.id,
      });
      expect(() => new Webhook(`whsec_${Buffer.alloc(32, 7).toString('base64')}`).verify(custom.raw, custom.headers)).toThrow();
    });

    it('records one delivery per webhook, each succeeded', async () => {
      const detail = await eventually(
        async () => {
          const res = await admin.get(`/v1/projects/chan/events/${posted.body.id}`);
          const list: Array<{ id: string; webhookId: string; status: string }> = res.body.deliveries ?? [];
          return list.length === Object.keys(PLATFORMS).length && list.every((d) => d.status === 'succeeded') ? list : undefined;
        },
        15_000,
        'all ten deliveries (nine types) succeeded',
      );
      expect(new Set(detail.map((d) => d.webhookId))).toEqual(new Set(Object.values(created).map((c) => c.id)));
    });
  });

  it('refuses a URL outside the type allow-list naming host and rule, never the token', async () => {
    const res = await admin.post('/v1/projects/chan/webhooks', {
      name: 'bad',
      type: 'slack',
      url: 'https://evil.example/services/T0/B0/SECRETTOKEN',
      events: ['bb.issue.create'],
    });
    expect(res.status).toBe(400);
    expect(JSON.stringify(res.body)).toContain('host evil.example is not a slack webhook host');
    expect(JSON.stringify(res.body)).not.toContain('SECRETTOKEN');
    const dm = await admin.post('/v1/projects/chan/webhooks', {
      name: 'dm',
      type: 'discord',
      url: `${receivers.discord.url}/x`,
      events: ['bb.issue.create'],
      directMessage: true,
    });
    expect(dm.status).toBe(400);
    expect(dm.body.details[0].field).toBe('directMessage');
    const secret = await admin.post('/v1/projects/chan/webhooks', {
      name: 'sec',
      type: 'slack',
      url: `${receivers.slack.url}/x`,
      events: ['bb.issue.create'],
      secret: 'nope',
    });
    expect(secret.status).toBe(400);
  });

  it('stores IM integrations for the admin only and reads them back masked', async () => {
    const put = await admin.put('/v1/integrations/im/wecom', { corpId: 'ww1', agentId: '1000002', secret: 'very-secret-value' });
    expect(put.status).toBe(200);
    expect(put.body.settings).toEqual({ corpId: 'ww1', agentId: 1000002, secret: '****alue' });
    // A short secret is not shown at all: its last 4 characters would give most of it away.
    expect((await admin.put('/v1/integrations/im/lark', { appId: 'cli_x', appSecret: 'short' })).body.settings).toEqual({ appId: 'cli_x', appSecret: '****' });
    expect((await admin.get('/v1/integrations/im/wecom')).body.settings.secret).toBe('****alue');
    const bad = await admin.put('/v1/integrations/im/feishu', { appId: '' });
    expect(bad.status).toBe(400);
    expect(bad.body.details.map((d: { field: string }) => d.field).sort()).toEqual(['appId', 'appSecret']);
    // Providers are the adapters that declare an IM app: any other is a 400 naming the allowed ones.
    const teams = await admin.put('/v1/integrations/im/teams', {});
    expect([teams.status, teams.body.details]).toEqual([
      400,
      [{ field: 'provider', message: 'provider "teams" has no IM app: it must be one of slack, dingtalk, feishu, lark, wecom' }],
    ]);
    expect((await admin.get('/v1/integrations/im/nope')).status).toBe(400);
    // The API base is part of the integration: null is the deployment's default, shown beside it.
    expect(put.body).toMatchObject({ apiBaseUrl: null, defaultApiBaseUrl: `${im.base}/wecom` });
    const own = await admin.put('/v1/integrations/im/wecom', {
      corpId: 'ww1',
      agentId: 1000002,
      secret: 'very-secret-value',
      apiBaseUrl: 'https://wecom.example.com/cgi-bin/',
    });
    expect([own.status, own.body.apiBaseUrl]).toEqual([200, 'https://wecom.example.com/cgi-bin']);
    expect((await admin.get('/v1/integrations/im/wecom')).body.apiBaseUrl).toBe('https://wecom.example.com/cgi-bin');
    const badBase = await admin.put('/v1/integrations/im/wecom', {
      corpId: 'ww1',
      agentId: 1000002,
      secret: 'very-secret-value',
      apiBaseUrl: 'ftp://wecom.example.com',
    });
    expect([badBase.status, badBase.body.details]).toEqual([400, [{ field: 'apiBaseUrl', message: expect.stringContaining('scheme "ftp" is not allowed') }]]);

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
    const hook = await admin.post('/v1/projects/chan/webhooks', {
      name: 'dm-slack',
      type: 'slack',
      url: `${channel.url}/services/T0/B0/x`,
      events: ['bb.notify.issue.approved'],
      directMessage: true,
    });
    expect(hook.status).toBe(201);
    const posts = () => im.callsTo('slack', '/chat.postMessage');

    // Bob is found and messaged; Carol is not found, so the channel gets the post for her.
    const first = await admin.post('/v1/projects/chan/events', {
      type: 'bb.notify.issue.approved',
      title: 'Approved',
      mentions: [
        { name: 'Bob', email: 'bob@example.com' },
        { name: 'Carol', email: 'carol@example.com' },
      ],
    });
    expect(first.status).toBe(202);
    await channel.waitFor(1, 10_000);
    expect(posts()).toHaveLength(1);

    // Only Bob: the DM is enough, no channel post; the delivery still succeeds and says why.
    const second = await admin.post('/v1/projects/chan/events', {
      type: 'bb.notify.issue.approved',
      title: 'Approved again',
      mentions: [{ name: 'Bob', email: 'bob@example.com' }],
    });
    const [delivery] = await eventually(
      async () => {
        const detail = await admin.get(`/v1/projects/chan/events/${second.body.id}`);
        const list = detail.body.deliveries ?? [];
        return list[0]?.status === 'succeeded' ? list : undefined;
      },
      10_000,
      'DM-only delivery succeeded',
    );
    expect(posts()).toHaveLength(2);
    expect(channel.requests).toHaveLength(1);
    const attempts = (await admin.get(`/v1/projects/chan/deliveries/${delivery.id}`)).body.attempts;
    expect(attempts[0].responseBody).toContain('direct messages: 1 sent');
  });

  it("messages users through the integration's own API base (a self-hosted platform), not the deployment's default", async () => {
    const own = await FakeImApis.start();
    try {
      own.users.set('dana@example.com', 'ou_dana');
      const put = await admin.put('/v1/integrations/im/lark', { appId: 'cli_own', appSecret: 'own-secret-0123', apiBaseUrl: `${own.base}/lark` });
      expect([put.status, put.body.apiBaseUrl]).toEqual([200, `${own.base}/lark`]);
      const channel = (await FakeReceiver.start()).setDefault({ status: 200, body: '{"code":0}' });
      receivers.ownBase = channel;
      const hook = await admin.post('/v1/projects/chan/webhooks', {
        name: 'dm-lark',
        type: 'lark',
        url: `${channel.url}/open-apis/bot/v2/hook/x`,
        events: ['bb.notify.issue.approved'],
        directMessage: true,
      });
      expect(hook.status).toBe(201);
      const sent = await admin.post('/v1/projects/chan/events', {
        type: 'bb.notify.issue.approved',
        title: 'Approved',
        mentions: [{ name: 'Dana', email: 'dana@example.com' }],
      });
      expect(sent.status).toBe(202);
      await eventually(
        async () => ((await admin.get(`/v1/projects/chan/events/${sent.body.id}`)).body.deliveries?.[0]?.status === 'succeeded' ? true : undefined),
        10_000,
        'DM delivery succeeded',
      );
      expect(own.callsTo('lark', '/im/v1/messages').map((c) => JSON.parse(c.body).receive_id)).toEqual(['ou_dana']);
      expect(im.calls.filter((c) => c.provider === 'lark')).toEqual([]);
      expect(channel.requests).toHaveLength(0);
      // The IM test uses the same base.
      const test = await admin.post('/v1/integrations/im/lark/test', { recipient: 'dana@example.com' });
      expect(test.body).toMatchObject({ ok: true, found: true });
      expect(own.callsTo('lark', '/contact/v3/users/batch_get_id')).toHaveLength(2);
    } finally {
      await own.stop();
    }
  });
});
