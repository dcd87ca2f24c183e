import {
  FakeReceiver,
  TestClient,
  TEST_ADMIN_TOKEN,
  createTestDatabase,
  deleteQueueKeys,
  eventually,
  metricSum,
  startHerald,
  stopApp,
  testEnv,
  uniqueQueuePrefix,
  type RunningApp,
} from '@herald/testing';

/**
 * Issue 16, items 2 and 4 end to end: webhook filters evaluated by the worker's relay (only
 * production deployments reach a filtered webhook, from DevLake and from the events API), and
 * message templates (a Slack message with the template's text; a template that fails to render
 * sends the built-in message and is counted; the preview's body is the body the receiver gets).
 */
describe('webhook filters and message templates end to end', () => {
  let prefix: string;
  let apps: RunningApp[] = [];
  let admin: TestClient;
  let gateway: string;
  let worker: string;
  const receivers: Record<'filtered' | 'all' | 'slack' | 'discord', FakeReceiver> = {} as never;

  beforeAll(async () => {
    receivers.filtered = await FakeReceiver.start();
    receivers.all = await FakeReceiver.start();
    receivers.slack = (await FakeReceiver.start()).setDefault({ status: 200, body: 'ok' });
    receivers.discord = (await FakeReceiver.start()).setDefault({ status: 204, body: '' });
    prefix = uniqueQueuePrefix();
    const env = testEnv(await createTestDatabase(), prefix, {
      HERALD_EXTRA_ALLOWED_HOSTS: '127.0.0.1',
      HERALD_RETRY_SCHEDULE: '0s,300ms',
    });
    apps = await startHerald(env);
    gateway = apps[1].url;
    worker = apps[2].url;
    admin = new TestClient(gateway, TEST_ADMIN_TOKEN);
    expect((await admin.post('/v1/projects', { key: 'ship', name: 'Shipping' })).status).toBe(201);
  }, 90_000);

  afterAll(async () => {
    await Promise.all(apps.map((app) => stopApp(app, 'SIGKILL')));
    await Promise.all(Object.values(receivers).map((r) => r.stop()));
    await deleteQueueKeys(prefix);
  });

  describe('filters', () => {
    it('refuses a bad filter at create and at PATCH, naming the part of the filter and the reason', async () => {
      const base = { name: 'bad', type: 'custom', url: `${receivers.filtered.url}/bad`, events: ['deployment.create'] };
      const bad = await admin.post('/v1/projects/ship/webhooks', {
        ...base,
        filter: { $or: [{ 'rollout.enviroment': 'PRODUCTION' }, { level: { $in: 'ERROR' } }, { title: { $regex: '(a)\\1' } }] },
      });
      expect(bad.status).toBe(400);
      expect(bad.body.details).toEqual([
        { field: 'filter.$or[0]["rollout.enviroment"]', message: '"rollout" has no field "enviroment"; its fields are id, title, environment' },
        { field: 'filter.$or[1]["level"].$in', message: expect.stringContaining('$in takes an array of values') },
        { field: 'filter.$or[2]["title"].$regex', message: expect.stringContaining('backreferences and lookaround are not supported') },
      ]);
      const typo = await admin.post('/v1/projects/ship/webhooks', { ...base, filter: { 'issue.stauts': 'DONE' } });
      expect(typo.body.details).toEqual([
        { field: 'filter["issue.stauts"]', message: expect.stringContaining('"issue" has no field "stauts"; its fields are id, key, name, status') },
      ]);
      expect((await admin.post('/v1/projects/ship/webhooks', { ...base, filter: ['level'] })).body.details).toEqual([
        { field: 'filter', message: expect.stringContaining('filter must be a JSON object') },
      ]);
      const created = await admin.post('/v1/projects/ship/webhooks', { ...base, filter: { level: 'ERROR' } });
      expect(created.status).toBe(201);
      expect(created.body.filter).toEqual({ level: 'ERROR' });
      const patched = await admin.patch(`/v1/projects/ship/webhooks/${created.body.id}`, { filter: { level: 'error' } });
      expect(patched.status).toBe(400);
      expect(patched.body.details).toEqual([
        { field: 'filter["level"]', message: '"error" is never the event\'s level; it is one of INFO, SUCCESS, WARN, ERROR' },
      ]);
      expect((await admin.patch(`/v1/projects/ship/webhooks/${created.body.id}`, { filter: null })).body.filter).toBeNull();
      expect((await admin.delete(`/v1/projects/ship/webhooks/${created.body.id}`)).status).toBe(204);
    });

    it('only production deployments reach the filtered webhook, from DevLake and from the events API; the other gets every one', async () => {
      const filtered = await admin.post('/v1/projects/ship/webhooks', {
        name: 'prod only',
        type: 'custom',
        url: `${receivers.filtered.url}/hooks`,
        events: ['deployment.create'],
        filter: { 'deployment.environment': 'PRODUCTION' },
      });
      expect(filtered.status).toBe(201);
      const all = await admin.post('/v1/projects/ship/webhooks', {
        name: 'every deployment',
        type: 'custom',
        url: `${receivers.all.url}/hooks`,
        events: ['deployment.create'],
      });
      expect(all.status).toBe(201);

      const connection = await admin.post('/v1/projects/ship/connections', { name: 'ci' });
      expect(connection.status).toBe(201);
      const lake = new TestClient(gateway, connection.body.apiKey);
      for (const [sha, environment] of [
        ['a1', 'PRODUCTION'],
        ['b2', 'STAGING'],
        ['c3', 'TESTING'],
        ['d4', 'PRODUCTION'],
      ]) {
        const res = await lake.post(`/api/rest/plugins/webhook/connections/${connection.body.id}/deployments`, {
          commit_sha: sha.repeat(20),
          repo_url: 'https://github.com/acme/shop',
          environment,
          end_time: '2024-05-01T10:00:00+00:00',
        });
        expect([environment, res.status]).toEqual([environment, 200]);
      }
      for (const environment of ['PRODUCTION', 'DEVELOPMENT']) {
        const res = await admin.post('/v1/projects/ship/events', { type: 'deployment.create', title: `api to ${environment}`, deployment: { environment } });
        expect(res.status).toBe(202);
      }

      const everything = await receivers.all.waitFor(6, 15_000);
      // The relay fans each event out once: by the time the unfiltered webhook has all six, the filtered one's deliveries exist.
      await eventually(
        async () => (await admin.get(`/v1/projects/ship/deliveries?webhookId=${filtered.body.id}&status=succeeded`)).body.items.length === 3,
        10_000,
      );
      const got = receivers.filtered.requests.map((r) => JSON.parse(r.body));
      expect(got).toHaveLength(3);
      expect(got.map((e) => e.title).sort()).toEqual(['Deployment to PRODUCTION', 'Deployment to PRODUCTION', 'api to PRODUCTION']);
      expect(everything.map((r) => JSON.parse(r.body).title).sort()).toEqual([
        'Deployment to PRODUCTION',
        'Deployment to PRODUCTION',
        'Deployment to STAGING',
        'Deployment to TESTING',
        'api to DEVELOPMENT',
        'api to PRODUCTION',
      ]);
      // No delivery at all for the pairs the filter left out; the worker counts them.
      expect((await admin.get(`/v1/projects/ship/deliveries?webhookId=${filtered.body.id}`)).body.items).toHaveLength(3);
      expect(await metricSum(worker, 'herald_filtered_out_total')).toBe(3);
    });
  });

  describe('message templates', () => {
    const template =
      '{{ message.emoji }} {{ rollout.environment | default: deployment.environment }} deploy by {{ actor.name | default: "CI" }} — {{ description | truncatewords: 7 }}';
    const event = {
      type: 'deployment.create',
      title: 'Deployment to PRODUCTION',
      description: 'Ship the <checkout> fix & the *new* banner',
      link: 'https://ci.example.com/runs/7',
      occurredAt: '2024-05-01T10:00:00Z',
      actor: { name: 'Ann', email: 'ann@example.com' },
      rollout: { title: 'deploy 1a2b3c to PRODUCTION', environment: 'PRODUCTION' },
    };

    it('a custom webhook takes no templates; a template that does not parse is refused, named by its type', async () => {
      const custom = await admin.post('/v1/projects/ship/webhooks', {
        name: 'c',
        type: 'custom',
        url: `${receivers.all.url}/c`,
        events: ['deployment.create'],
        templates: { 'deployment.create': 'x' },
      });
      expect(custom.status).toBe(400);
      expect(custom.body.details).toEqual([{ field: 'templates', message: expect.stringContaining('custom webhooks send the signed event as JSON') }]);
      const bad = await admin.post('/v1/projects/ship/webhooks', {
        name: 's',
        type: 'slack',
        url: `${receivers.slack.url}/services/T/B/x`,
        events: ['deployment.create'],
        templates: { 'deployment.create': '{% include "/etc/passwd" %}', 'deploy.create': 'x', 'incident.create': '{{ title | sha256 }}' },
      });
      expect(bad.status).toBe(400);
      expect(bad.body.details.map((d: { field: string }) => d.field)).toEqual([
        'templates["deployment.create"]',
        'templates["deploy.create"]',
        'templates["incident.create"]',
      ]);
      expect(bad.body.details[0].message).toContain('tag "include" not found');
      expect(bad.body.details[2].message).toContain('undefined filter: sha256');
    });

    it("a Slack webhook's message carries the template's text, escaped as user text; the preview's body is the body the receiver gets", async () => {
      const hook = await admin.post('/v1/projects/ship/webhooks', {
        name: 'slack templated',
        type: 'slack',
        url: `${receivers.slack.url}/services/T/B/tok`,
        events: ['deployment.create'],
        templates: { 'deployment.create': template },
      });
      expect(hook.status).toBe(201);
      expect(hook.body.templates).toEqual({ 'deployment.create': template });
      const discord = await admin.post('/v1/projects/ship/webhooks', {
        name: 'discord templated',
        type: 'discord',
        url: `${receivers.discord.url}/api/webhooks/1/tok`,
        events: ['deployment.create'],
        templates: { 'deployment.create': template },
      });
      expect(discord.status).toBe(201);

      expect((await admin.post('/v1/projects/ship/events', event)).status).toBe(202);
      const [slack] = await receivers.slack.waitFor(1, 10_000);
      const [attachment] = JSON.parse(slack.body).attachments;
      expect(attachment.blocks.map((b: { type: string }) => b.type)).toEqual(['section', 'section', 'actions']);
      expect(attachment.blocks[1].text).toEqual({ type: 'plain_text', text: '✅ PRODUCTION deploy by Ann — Ship the <checkout> fix & the *new*...' });
      expect(attachment.blocks[0].text.text).toContain('Deployment to PRODUCTION');

      const preview = await admin.post('/v1/projects/ship/webhooks/preview', {
        type: 'slack',
        url: `${receivers.slack.url}/services/T/B/tok`,
        templates: { 'deployment.create': template },
        event,
      });
      expect(preview.status).toBe(200);
      expect(preview.body).toEqual({ body: slack.body, templateError: null });
      // Discord's embed carries the event's time: with occurredAt given, the preview is byte for byte the delivery too.
      const [sent] = await receivers.discord.waitFor(1, 10_000);
      const discordPreview = await admin.post('/v1/projects/ship/webhooks/preview', {
        type: 'discord',
        webhookId: discord.body.id,
        templates: { 'deployment.create': template },
        event,
      });
      expect(discordPreview.body).toEqual({ body: sent.body, templateError: null });
      expect(JSON.parse(sent.body).embeds[0].description).toBe('✅ PRODUCTION deploy by Ann — Ship the \\<checkout\\> fix & the \\*new\\*...');
    });

    it('a template that fails to render sends the built-in message, and the worker logs and counts why', async () => {
      const loop = '{% for i in (1..100000000) %}{{ i }}{% endfor %}';
      const before = receivers.slack.requests.length;
      const hook = await admin.post('/v1/projects/ship/webhooks', {
        name: 'slack looping',
        type: 'slack',
        url: `${receivers.slack.url}/services/T/B/loop`,
        events: ['incident.create'],
        templates: { 'incident.create': loop },
      });
      expect(hook.status).toBe(201);
      const incident = { type: 'incident.create', description: 'db down', occurredAt: '2024-05-01T10:00:00Z' };
      expect((await admin.post('/v1/projects/ship/events', incident)).status).toBe(202);
      const requests = await receivers.slack.waitFor(before + 1, 10_000);
      const fallback = requests[before];
      const builtIn = await admin.post('/v1/projects/ship/webhooks/preview', { type: 'slack', event: incident });
      expect(fallback.body).toBe(builtIn.body.body);
      const previewed = await admin.post('/v1/projects/ship/webhooks/preview', { type: 'slack', templates: { 'incident.create': loop }, event: incident });
      expect(previewed.body).toEqual({ body: builtIn.body.body, templateError: expect.stringContaining('limit exceeded') });
      await eventually(async () => (await metricSum(worker, 'herald_template_fallbacks_total', 'channel="slack"')) === 1, 5000);
      expect(apps[2].output.join('')).toContain('message template failed, built-in message sent');
      const [delivery] = (await admin.get(`/v1/projects/ship/deliveries?webhookId=${hook.body.id}`)).body.items;
      expect(delivery.status).toBe('succeeded');
    });

    it('the preview answers 400 naming every bad input', async () => {
      const res = await admin.post('/v1/projects/ship/webhooks/preview', {
        type: 'slack',
        url: 'https://evil.example.com/hook',
        templates: { 'deployment.create': '{% if %}' },
        event: { type: 'deployment.created', level: 'LOUD', issue: { status: {}, stauts: 'x' }, mentions: 'ann' },
      });
      expect(res.status).toBe(400);
      expect(res.body.details.map((d: { field: string }) => d.field)).toEqual([
        'url',
        'templates["deployment.create"]',
        'event.type',
        'event.level',
        'event.issue.status',
        'event.issue.stauts',
        'event.mentions',
      ]);
      expect(
        (await admin.post('/v1/projects/ship/webhooks/preview', { type: 'custom', templates: { 'bb.issue.create': 'x' }, event: { type: 'bb.issue.create' } }))
          .body.details,
      ).toEqual([{ field: 'templates', message: expect.stringContaining('custom webhooks send the signed event as JSON') }]);
      expect((await admin.post('/v1/projects/ship/webhooks/preview', { type: 'slack' })).body.details).toEqual([
        { field: 'event', message: expect.stringContaining('event must be a JSON object') },
      ]);
      expect((await admin.post('/v1/projects/other/webhooks/preview', { type: 'slack', event: { type: 'bb.issue.create' } })).status).toBe(404);
    });

    it('is in the OpenAPI description', async () => {
      const doc = (await admin.get('/docs-json')).body;
      const op = doc.paths['/v1/projects/{key}/webhooks/preview'].post;
      expect(op.responses['200']).toBeDefined();
      const schemas = doc.components.schemas;
      expect(Object.keys(schemas.WebhookPreviewDto.properties).sort()).toEqual(['event', 'locale', 'templates', 'type', 'url', 'webhookId']);
      expect(schemas.CreateWebhookDto.properties).toHaveProperty('filter');
      expect(schemas.CreateWebhookDto.properties).toHaveProperty('templates');
      expect(schemas.WebhookDto.properties).toHaveProperty('filter');
    });
  });
});
