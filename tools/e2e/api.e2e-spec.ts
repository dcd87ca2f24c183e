import { createServer, request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
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
 * The management API and the events API through the gateway (docs/contract.md §2, §3, §5.1): credentials and
 * tenancy, resource shapes, validation errors that name every bad field, idempotency, batches.
 */
describe('management and events API', () => {
  let gateway: RunningApp;
  let ingestion: RunningApp;
  let admin: TestClient;
  let anonymous: TestClient;
  let prefix: string;

  beforeAll(async () => {
    prefix = uniqueQueuePrefix();
    const ingestionPort = await freePort();
    const env = testEnv(await createTestDatabase(), prefix, {
      HERALD_INGESTION_URL: `http://127.0.0.1:${ingestionPort}`,
      HERALD_MAX_BODY_BYTES: '65536',
    });
    [ingestion, gateway] = await Promise.all([startApp('ingestion', env, ingestionPort), startApp('api-gateway', env, await freePort())]);
    admin = new TestClient(gateway.url, TEST_ADMIN_TOKEN);
    anonymous = new TestClient(gateway.url);
    expect((await admin.post('/v1/projects', { key: 'alpha', name: 'Alpha' })).status).toBe(201);
    expect((await admin.post('/v1/projects', { key: 'beta', name: 'Beta' })).status).toBe(201);
  }, 60_000);

  afterAll(async () => {
    await Promise.all([gateway, ingestion].filter(Boolean).map((app) => stopApp(app)));
    await deleteQueueKeys(prefix);
  });

  describe('credentials (docs/contract.md §2)', () => {
    it('refuses every /v1 route without credentials, and with a wrong token', async () => {
      expect((await anonymous.get('/v1/projects')).status).toBe(401);
      expect((await anonymous.post('/v1/projects/alpha/events', { type: 'bb.issue.create' })).status).toBe(401);
      expect((await anonymous.as('nope-not-a-key').get('/v1/projects')).status).toBe(401);
    });

    it('serves health, readiness, metrics and docs without credentials', async () => {
      for (const path of ['/healthz', '/readyz', '/metrics', '/docs-json', '/docs', '/docs/swagger-ui-bundle.js', '/docs/swagger-ui.css']) {
        expect([path, (await anonymous.get(path)).status]).toEqual([path, 200]);
      }
    });

    it('gives a project key its own project only: other tenants answer 404, project admin 403', async () => {
      const created = await admin.post('/v1/projects/alpha/api-keys', { name: 'ci' });
      expect(created.status).toBe(201);
      expect(created.body).toEqual({ id: expect.any(String), name: 'ci', key: expect.stringMatching(/^hk_/) });
      const key = new TestClient(gateway.url, created.body.key);

      expect((await key.get('/v1/projects/alpha')).status).toBe(200);
      expect((await key.get('/v1/projects')).body.items.map((p: { key: string }) => p.key)).toEqual(['alpha']);
      expect((await key.get('/v1/projects/beta')).status).toBe(404);
      expect((await key.get('/v1/projects/beta/webhooks')).status).toBe(404);
      expect((await key.post('/v1/projects/beta/events', { type: 'bb.issue.create' })).status).toBe(404);
      expect((await key.post('/v1/projects', { key: 'gamma', name: 'G' })).status).toBe(403);
      // The admin check runs before the body is validated: a project key learns nothing from a 400.
      const invalid = await key.post('/v1/projects', { key: 'Bad Key!', extra: 1 });
      expect([invalid.status, invalid.body.message]).toEqual([403, 'a project API key cannot create projects; use the admin token']);
      expect((await key.delete('/v1/projects/alpha')).status).toBe(403);
      expect((await key.delete('/v1/projects/beta')).status).toBe(403);
      expect((await admin.get('/v1/projects/beta')).status).toBe(200);
      expect((await key.post('/v1/projects/alpha/events', { type: 'bb.issue.create' })).status).toBe(202);

      const listed = await admin.get('/v1/projects/alpha/api-keys');
      expect(listed.body.items[0]).not.toHaveProperty('key');
      expect(listed.body.items[0].hint).toBe(created.body.key.slice(-4));

      expect((await admin.delete(`/v1/projects/alpha/api-keys/${created.body.id}`)).status).toBe(204);
      expect((await key.get('/v1/projects/alpha')).status).toBe(401);
      // Ingestion cached the key while it was valid; the revocation reaches it through Postgres NOTIFY.
      await eventually(
        async () => (await key.post('/v1/projects/alpha/events', { type: 'bb.issue.create' })).status === 401,
        2000,
        'ingestion refuses the revoked key',
      );
    });
  });

  describe('API keys (docs/contract.md §2)', () => {
    it('lets only the admin token create and revoke API keys: a project key gets 403 (issue 10, item 10)', async () => {
      const created = await admin.post('/v1/projects/alpha/api-keys', { name: 'leaky' });
      const leaked = new TestClient(gateway.url, created.body.key);
      const minted = await leaked.post('/v1/projects/alpha/api-keys', { name: 'backdoor' });
      expect([minted.status, minted.body.message]).toEqual([403, 'a project API key cannot create API keys; use the admin token']);
      // Whatever the body: the admin check comes first.
      expect((await leaked.post('/v1/projects/alpha/api-keys', { nope: 1 })).status).toBe(403);
      const revoked = await leaked.delete(`/v1/projects/alpha/api-keys/${created.body.id}`);
      expect([revoked.status, revoked.body.message]).toEqual([403, 'a project API key cannot revoke API keys; use the admin token']);
      expect((await leaked.get('/v1/projects/alpha/api-keys')).status).toBe(200);
      // Revoking a leaked key locks its holder out: it could not mint a spare one.
      expect((await admin.delete(`/v1/projects/alpha/api-keys/${created.body.id}`)).status).toBe(204);
      expect((await leaked.get('/v1/projects/alpha')).status).toBe(401);
      expect((await admin.get('/v1/projects/alpha/api-keys')).body.items.map((k: { name: string }) => k.name)).not.toContain('backdoor');
    });

    it('pages the key list with limit and nextCursor, oldest first', async () => {
      expect((await admin.post('/v1/projects', { key: 'keyring', name: 'Keyring' })).status).toBe(201);
      const ids: string[] = [];
      for (const name of ['k1', 'k2', 'k3']) ids.push((await admin.post('/v1/projects/keyring/api-keys', { name })).body.id);

      const page1 = await admin.get('/v1/projects/keyring/api-keys?limit=2');
      expect(page1.status).toBe(200);
      expect(page1.body.items.map((k: { id: string }) => k.id)).toEqual(ids.slice(0, 2));
      expect(page1.body.nextCursor).toEqual(expect.any(String));
      const page2 = await admin.get(`/v1/projects/keyring/api-keys?limit=2&cursor=${page1.body.nextCursor}`);
      expect(page2.body).toEqual({ items: [expect.objectContaining({ id: ids[2], name: 'k3' })], nextCursor: null });
      expect((await admin.get('/v1/projects/keyring/api-keys')).body.items).toHaveLength(3);

      const tooMany = await admin.get('/v1/projects/keyring/api-keys?limit=101');
      expect([tooMany.status, tooMany.body.details?.[0]?.field]).toEqual([400, 'limit']);
      const garbage = await admin.get('/v1/projects/keyring/api-keys?cursor=garbage');
      expect([garbage.status, garbage.body.details?.[0]?.field]).toEqual([400, 'cursor']);
    });
  });

  describe('projects and webhooks (docs/contract.md §3)', () => {
    it('names every bad field of a body', async () => {
      const res = await admin.post('/v1/projects', { key: 'Bad Key!', name: '', extra: 1 });
      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({ statusCode: 400, error: 'Bad Request' });
      expect(res.body.details.map((d: { field: string }) => d.field).sort()).toEqual(['extra', 'key', 'name']);
    });

    it('answers 409 for a duplicate key', async () => {
      expect((await admin.post('/v1/projects', { key: 'alpha', name: 'again' })).status).toBe(409);
    });

    it('creates a custom webhook with a secret shown at creation and by GET .../secret, never its URL', async () => {
      const res = await admin.post('/v1/projects/alpha/webhooks', {
        name: 'ops',
        type: 'custom',
        url: 'https://receiver.example.com/hooks/abcdefSECRET9876',
        events: ['bb.issue.create'],
      });
      expect(res.status).toBe(201);
      expect(res.body).toMatchObject({
        name: 'ops',
        type: 'custom',
        urlMasked: 'https://receiver.example.com/…9876',
        events: ['bb.issue.create'],
        directMessage: false,
        enabled: true,
        status: 'active',
        disabledReason: null,
        disabledAt: null,
        rateLimit: null,
        secret: expect.stringMatching(/^whsec_/),
      });
      expect(res.text).not.toContain('abcdefSECRET');
      const read = await admin.get(`/v1/projects/alpha/webhooks/${res.body.id}`);
      expect(read.body).not.toHaveProperty('secret');
      expect(read.text).not.toContain('abcdefSECRET');
      expect((await admin.get(`/v1/projects/alpha/webhooks/${res.body.id}/secret`)).body).toEqual({ secret: res.body.secret });
      expect((await admin.get(`/v1/projects/beta/webhooks/${res.body.id}`)).status).toBe(404);
      expect((await admin.get('/v1/projects/alpha/webhooks/not-a-uuid')).status).toBe(404);

      const disabled = await admin.patch(`/v1/projects/alpha/webhooks/${res.body.id}`, { enabled: false });
      expect(disabled.body).toMatchObject({ enabled: false, status: 'disabled', disabledReason: expect.any(String) });
      const enabled = await admin.patch(`/v1/projects/alpha/webhooks/${res.body.id}`, { enabled: true });
      expect(enabled.body).toMatchObject({ enabled: true, status: 'active', disabledReason: null, disabledAt: null });
    });

    it('rejects bad webhook input naming every bad field in one answer', async () => {
      const fields = (res: { body: { details: Array<{ field: string }> } }) => res.body.details.map((d) => d.field).sort();
      const res = await admin.post('/v1/projects/alpha/webhooks', { name: 'x', type: 'pager', url: 'ftp://x', events: ['nope'] });
      expect(res.status).toBe(400);
      expect(fields(res)).toEqual(['events', 'type', 'url']);
      const scheme = await admin.post('/v1/projects/alpha/webhooks', { name: 'x', type: 'custom', url: 'ftp://x.example.com/', events: ['bb.issue.create'] });
      expect(scheme.status).toBe(400);
      expect(scheme.body.details).toEqual([{ field: 'url', message: 'url scheme "ftp" is not allowed: use http or https' }]);
      // The channel's rules (host allow-list, secret form, directMessage) run in the same pass as the rest.
      const all = await admin.post('/v1/projects/alpha/webhooks', {
        name: '',
        type: 'discord',
        url: 'https://evil.example/api/webhooks/1/TOKEN',
        events: [],
        secret: 's',
        directMessage: true,
      });
      expect(all.status).toBe(400);
      expect(fields(all)).toEqual(['directMessage', 'events', 'name', 'secret', 'url']);
      expect(JSON.stringify(all.body)).toContain('host evil.example is not a discord webhook host');
      expect(JSON.stringify(all.body)).not.toContain('TOKEN');
      const dingtalk = await admin.post('/v1/projects/alpha/webhooks', {
        name: 'd',
        type: 'dingtalk',
        url: 'https://oapi.dingtalk.com/robot/send?access_token=t',
        events: ['bb.issue.create'],
        secret: 'not-sec',
      });
      expect(dingtalk.status).toBe(400);
      expect(dingtalk.body.details).toEqual([{ field: 'secret', message: expect.stringContaining('starts with SEC') }]);
      // PATCH carries no type: the stored webhook's channel judges it, every field at once.
      const hook = await admin.post('/v1/projects/alpha/webhooks', {
        name: 'slack-rules',
        type: 'slack',
        url: 'https://hooks.slack.com/services/T0/B0/x',
        events: ['bb.issue.create'],
      });
      expect(hook.status).toBe(201);
      const patch = await admin.patch(`/v1/projects/alpha/webhooks/${hook.body.id}`, { url: 'https://evil.example/x', secret: 'x', directMessage: true });
      expect(patch.status).toBe(400);
      expect(fields(patch)).toEqual(['secret', 'url']);
      expect((await admin.delete(`/v1/projects/alpha/webhooks/${hook.body.id}`)).status).toBe(204);
    });
  });

  describe('events API (docs/contract.md §5.1)', () => {
    it('applies the catalogue defaults and lists events newest first with keyset pagination', async () => {
      for (const status of ['DONE', 'CANCELED', 'OPEN']) {
        expect((await admin.post('/v1/projects/beta/events', { type: 'bb.issue.status.update', issue: { id: 1, status } })).status).toBe(202);
      }
      const page1 = await admin.get('/v1/projects/beta/events?type=bb.issue.status.update&limit=2');
      expect(page1.body.items.map((e: { title: string; level: string }) => [e.title, e.level])).toEqual([
        ['Issue reopened', 'INFO'],
        ['Issue canceled', 'WARN'],
      ]);
      expect(page1.body.items[0]).toMatchObject({ projectKey: 'beta', source: 'api', issue: { id: 1, status: 'OPEN' } });
      const page2 = await admin.get(`/v1/projects/beta/events?type=bb.issue.status.update&limit=2&cursor=${page1.body.nextCursor}`);
      expect(page2.body.items.map((e: { title: string }) => e.title)).toEqual(['Issue resolved']);
      expect(page2.body.nextCursor).toBeNull();
      expect((await admin.get('/v1/projects/beta/events?cursor=garbage')).status).toBe(400);
      expect((await admin.get('/v1/projects/beta/events?limit=1000')).status).toBe(400);
    });

    it('answers every docs/contract.md §4.1 field of an event, null when the producer left it out', async () => {
      const posted = await admin.post('/v1/projects/beta/events', { type: 'bb.issue.field.update', title: 'bare' });
      expect(posted.status).toBe(202);
      const event = (await admin.get(`/v1/projects/beta/events/${posted.body.id}`)).body;
      const absent = ['description', 'link', 'actor', 'issue', 'stage', 'task', 'rollout', 'comment', 'deployment', 'mentions'];
      expect(Object.keys(event).sort()).toEqual(
        [...absent, 'id', 'projectKey', 'type', 'level', 'title', 'occurredAt', 'receivedAt', 'source', 'deliveries'].sort(),
      );
      for (const field of absent) expect(event[field]).toBeNull();
      expect(event).toMatchObject({ id: posted.body.id, projectKey: 'beta', title: 'bare', source: 'api' });
      const listed = (await admin.get('/v1/projects/beta/events?type=bb.issue.field.update')).body.items;
      expect(listed.find((e: { id: string }) => e.id === posted.body.id)).toEqual(
        Object.fromEntries(Object.entries(event).filter(([k]) => k !== 'deliveries')),
      );
    });

    it('reads since/until as RFC 3339 with an offset or Z, and names a parameter that is not', async () => {
      const posted = await admin.post('/v1/projects/beta/events', { type: 'bb.pipeline.failed', title: 'dated' });
      const receivedAt = Date.parse((await admin.get(`/v1/projects/beta/events/${posted.body.id}`)).body.receivedAt);
      const at = (ms: number, zone = 'Z') => new Date(ms).toISOString().replace('Z', zone);
      const ids = async (query: string) =>
        (await admin.get(`/v1/projects/beta/events?type=bb.pipeline.failed&${query}`)).body.items.map((e: { id: string }) => e.id);
      expect(await ids(`since=${at(receivedAt - 1000)}`)).toContain(posted.body.id);
      expect(await ids(`since=${at(receivedAt + 1000)}`)).not.toContain(posted.body.id);
      expect(await ids(`until=${encodeURIComponent(at(receivedAt + 1000, '+00:00'))}`)).toContain(posted.body.id);

      // since=1 used to be read as 2001; a date without a zone as the server's local time.
      for (const [path, field] of [
        ['/v1/projects/beta/events?since=1', 'since'],
        ['/v1/projects/beta/events?until=2024-01-01', 'until'],
        ['/v1/projects/beta/events?since=2024-01-01T00:00:00', 'since'],
        ['/v1/projects/beta/events?since=2024-02-30T00:00:00Z', 'since'],
        ['/v1/projects/beta/deliveries?since=yesterday', 'since'],
        // Past the year 9999 in UTC: Postgres would refuse it (a 500 if it got there).
        ['/v1/projects/beta/events?until=9999-12-31T23:59:59-05:00', 'until'],
      ]) {
        const res = await admin.get(path);
        expect([path, res.status, res.body.details]).toEqual([
          path,
          400,
          [{ field, message: expect.stringContaining(`${field} must be an RFC 3339 date-time`) }],
        ]);
      }
    });

    it('refuses unknown types and fields, naming them', async () => {
      const res = await admin.post('/v1/projects/beta/events', { type: 'bb.issue.created', colour: 'red', issue: { status: 'WIP' } });
      expect(res.status).toBe(400);
      expect(res.body.details.map((d: { field: string }) => d.field).sort()).toEqual(['colour', 'issue.status', 'type']);
    });

    it('replays the first answer for a repeated Idempotency-Key and stores nothing new', async () => {
      const headers = { 'idempotency-key': 'deploy-42' };
      const first = await admin.post('/v1/projects/beta/events', { type: 'bb.pipeline.completed', title: 'once' }, headers);
      const again = await admin.post('/v1/projects/beta/events', { type: 'bb.pipeline.completed', title: 'once' }, headers);
      expect(first.status).toBe(202);
      expect(again.status).toBe(202);
      expect(again.body).toEqual({ ...first.body, duplicate: true });
      const stored = await admin.get('/v1/projects/beta/events?type=bb.pipeline.completed');
      expect(stored.body.items).toHaveLength(1);
      const tooLong = await admin.post('/v1/projects/beta/events', { type: 'bb.pipeline.completed' }, { 'idempotency-key': 'k'.repeat(256) });
      expect(tooLong.status).toBe(400);
    });

    it('accepts a batch as a whole, in order, or refuses it as a whole', async () => {
      const bad = await admin.post('/v1/projects/beta/events/batch', [
        { type: 'incident.create' },
        { type: 'incident.create' },
        { type: 'incident.create' },
        { type: 'nope' },
      ]);
      expect(bad.status).toBe(400);
      expect(bad.body.details.map((d: { field: string }) => d.field)).toEqual(['[3].type']);
      expect((await admin.get('/v1/projects/beta/events?type=incident.create')).body.items).toHaveLength(0);

      const ok = await admin.post('/v1/projects/beta/events/batch', [
        { type: 'incident.create', title: 'a' },
        { type: 'incident.resolve', title: 'b' },
      ]);
      expect(ok.status).toBe(202);
      expect(ok.body.items.map((i: { type: string; duplicate: boolean }) => [i.type, i.duplicate])).toEqual([
        ['incident.create', false],
        ['incident.resolve', false],
      ]);
      const tooMany = await admin.post(
        '/v1/projects/beta/events/batch',
        Array.from({ length: 1001 }, () => ({ type: 'incident.create' })),
      );
      expect(tooMany.status).toBe(400);
      expect((await admin.post('/v1/projects/beta/events/batch', { type: 'incident.create' })).status).toBe(400);
    });

    it('answers 400 for malformed JSON, 415 for other media types, 413 for a body over the limit', async () => {
      expect((await admin.post('/v1/projects/beta/events', '{"type":', { 'content-type': 'application/json' })).status).toBe(400);
      expect((await admin.post('/v1/projects/beta/events', 'type=x', { 'content-type': 'text/plain' })).status).toBe(415);
      const huge = JSON.stringify({ type: 'incident.create', description: 'x'.repeat(70_000) });
      expect((await admin.post('/v1/projects/beta/events', huge)).status).toBe(413);
      const poisoned = await admin.post('/v1/projects/beta/events', '{"type":"incident.create","__proto__":{"admin":true}}');
      expect(poisoned.status).toBe(400);
      // Postgres cannot store NUL: a 400 that names the field, not a 500 at the INSERT.
      const nul = await admin.post('/v1/projects/beta/events', '{"type":"incident.create","title":"a\\u0000b"}');
      expect([nul.status, nul.body.message]).toEqual([400, 'body.title: text must not contain the NUL character (\\u0000)']);
      expect((await admin.patch('/v1/projects/beta', { name: 'x\u0000' })).status).toBe(400);
    });

    it('counts accepted events in /metrics and documents intake in the gateway OpenAPI', async () => {
      const ingestionMetrics = await new TestClient(ingestion.url).get('/metrics');
      expect(ingestionMetrics.text).toMatch(/herald_intake_events_total\{source="api",route="single"\} \d+/);
      const docs = await anonymous.get('/docs-json');
      expect(Object.keys(docs.body.paths)).toEqual(
        expect.arrayContaining(['/v1/projects', '/v1/projects/{key}/webhooks', '/v1/projects/{key}/events', '/v1/projects/{key}/events/batch']),
      );
    });
  });

  describe('bad input is a 400 naming the problem, never a 500 (issue 10, item 8)', () => {
    it('answers a malformed percent-encoding in the URL with 400 through the gateway', async () => {
      for (const path of ['/v1/projects/alpha/events?a=%', '/v1/projects/alpha/events/batch?x=%E0%A4%A', '/api/plugins/webhook/1/deployments?a=%zz']) {
        const res = await admin.post(path, path.includes('batch') ? [{ type: 'bb.issue.create' }] : { type: 'bb.issue.create' });
        expect([path, res.status]).toEqual([path, 400]);
        expect(res.text).toMatch(/percent-encoding/);
      }
    });

    it('refuses a cursor past the integer range of the id it pages by', async () => {
      for (const path of [
        '/v1/projects?cursor=OTk5OTk5OTk5OTk5',
        '/v1/projects/alpha/connections?cursor=OTk5OTk5OTk5OTk5',
        '/v1/projects?cursor=MjE0NzQ4MzY0OA',
      ]) {
        const res = await admin.get(path);
        expect([path, res.status, res.body.details]).toEqual([path, 400, [{ field: 'cursor', message: 'cursor is not one this API returned' }]]);
      }
      expect((await admin.get('/v1/projects?cursor=MjE0NzQ4MzY0Nw')).status).toBe(200);
    });

    it('refuses a lone surrogate in any string of a body, naming where it is', async () => {
      const single = await admin.post('/v1/projects/alpha/events', '{"type":"bb.issue.create","title":"\\ud800"}');
      expect([single.status, single.body.message]).toEqual([
        400,
        'body.title: text must not contain a lone UTF-16 surrogate (\\ud800-\\udfff without its pair)',
      ]);
      const nested = await admin.post('/v1/projects/alpha/events', '{"type":"bb.issue.create","deployment":{"x":["ok","\\udc00 tail"]}}');
      expect([nested.status, nested.body.message]).toEqual([400, expect.stringMatching(/^body\.deployment\.x\[1\]: /)]);
      const batch = await admin.post('/v1/projects/alpha/events/batch', '[{"type":"bb.issue.create"},{"type":"bb.issue.create","description":"a\\udbff"}]');
      expect([batch.status, batch.body.message]).toEqual([400, expect.stringMatching(/^body\[1\]\.description: /)]);
      const key = await admin.post('/v1/projects/alpha/events', '{"type":"bb.issue.create","deployment":{"\\ud800":1}}');
      expect(key.status).toBe(400);
      // A pair is a character, escaped or not.
      expect((await admin.post('/v1/projects/alpha/events', '{"type":"bb.issue.create","title":"ok \\ud83d\\ude00 😀"}')).status).toBe(202);
    });
  });

  describe('event links and titles (issue 10 item 6, issue 11 item 3)', () => {
    it('accepts only an absolute http(s) URL as link, naming link otherwise', async () => {
      for (const link of [
        'https://ok|x> <!channel> <https://phish|Reset password',
        '/projects/payments/issues/42',
        'javascript:alert(1)',
        'ftp://files.example.com/a',
        'https://',
        'https://example.com/a b',
        'https://example.com/<b>',
        'mailto:a@example.com',
      ]) {
        const res = await admin.post('/v1/projects/alpha/events', { type: 'bb.issue.create', link });
        expect([link, res.status, res.body.details?.map((d: { field: string }) => d.field)]).toEqual([link, 400, ['link']]);
      }
      const batch = await admin.post('/v1/projects/alpha/events/batch', [
        { type: 'bb.issue.create', link: 'https://example.com/ok' },
        { type: 'bb.issue.create', link: 'not a url' },
      ]);
      expect([batch.status, batch.body.details.map((d: { field: string }) => d.field)]).toEqual([400, ['[1].link']]);
      for (const link of ['https://example.com/issues/42?tab=1#c', 'http://localhost:3000/a(b)', 'https://例子.测试/路径']) {
        const res = await admin.post('/v1/projects/alpha/events', { type: 'bb.issue.create', link });
        expect([link, res.status]).toEqual([link, 202]);
        expect((await admin.get(`/v1/projects/alpha/events/${res.body.id}`)).body.link).toBe(link);
      }
    });

    it("reads a blank title as the catalogue's default", async () => {
      for (const [title, type, expected] of [
        ['', 'bb.issue.create', 'Issue created'],
        ['   ', 'incident.create', 'Incident opened'],
        ['\t\n', 'bb.pipeline.failed', 'Rollout failed'],
        [' Kept ', 'bb.issue.create', ' Kept '],
      ]) {
        const res = await admin.post('/v1/projects/alpha/events', { type, title });
        expect(res.status).toBe(202);
        expect([JSON.stringify(title), (await admin.get(`/v1/projects/alpha/events/${res.body.id}`)).body.title]).toEqual([JSON.stringify(title), expected]);
      }
      const batch = await admin.post('/v1/projects/alpha/events/batch', [
        { type: 'bb.issue.create', title: '' },
        { type: 'bb.issue.create', title: null },
      ]);
      for (const item of batch.body.items) expect((await admin.get(`/v1/projects/alpha/events/${item.id}`)).body.title).toBe('Issue created');
    });
  });

  describe('a body over the limit (issue 10, lower priority)', () => {
    it('gets its 413, not a reset connection, while the client is still sending', async () => {
      const body = Buffer.from(JSON.stringify({ type: 'incident.create', description: 'x'.repeat(2 * 1024 * 1024) }));
      // One connection per request, written in 64 KiB pieces as a client streaming an upload does.
      const send = (port: number) =>
        new Promise<string>((resolve) => {
          const headers = { authorization: `Bearer ${TEST_ADMIN_TOKEN}`, 'content-type': 'application/json', 'content-length': String(body.length) };
          const req = httpRequest({ host: '127.0.0.1', port, method: 'POST', path: '/v1/projects/alpha/events', agent: false, headers }, (res) => {
            res.resume();
            res.on('end', () => resolve(String(res.statusCode)));
          });
          req.on('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
          let offset = 0;
          const write = (): void => {
            while (offset < body.length) {
              const more = req.write(body.subarray(offset, offset + 65_536));
              offset += 65_536;
              if (!more) return void req.once('drain', write);
            }
            req.end();
          };
          write();
        });
      for (const app of [gateway, ingestion]) {
        const outcomes = await Promise.all(Array.from({ length: 30 }, () => send(app.port)));
        expect([app.name, [...new Set(outcomes)]]).toEqual([app.name, ['413']]);
      }
    });
  });

  describe('authentication under attack (issue 10, item 12)', () => {
    it('answers 429 with Retry-After to an address that keeps failing, on the management API and on intake', async () => {
      // The gateway believes X-Forwarded-For from loopback (HERALD_TRUSTED_PROXIES), and ingestion believes the gateway.
      const from = (token: string) => new TestClient(gateway.url, token);
      const at = (address: string) => ({ 'x-forwarded-for': address });
      const guess = (address: string, i: number) => from(`hk_guess-${address}-${i}`).request('GET', '/v1/projects', undefined, at(address));
      const statuses: number[] = [];
      for (let i = 0; i < 31; i++) statuses.push((await guess('203.0.113.50', i)).status);
      expect(statuses.slice(0, 30)).toEqual(Array(30).fill(401));
      const refused = await guess('203.0.113.50', 99);
      expect([refused.status, refused.body.message]).toEqual([429, expect.stringMatching(/too many failed authentication attempts/)]);
      expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
      // A valid project key from that address waits too; the admin token and other addresses do not.
      const key = (await admin.post('/v1/projects/alpha/api-keys', { name: 'throttled' })).body.key;
      expect((await from(key).request('GET', '/v1/projects/alpha', undefined, at('203.0.113.50'))).status).toBe(429);
      expect((await admin.request('GET', '/v1/projects/alpha', undefined, at('203.0.113.50'))).status).toBe(200);
      expect((await from(key).request('GET', '/v1/projects/alpha', undefined, at('203.0.113.51'))).status).toBe(200);

      // Intake, forwarded by the gateway: ingestion counts per client, not per gateway.
      const intake = (address: string, i: number) =>
        anonymous.post('/api/plugins/webhook/connections/1/pull_requests', { id: 'x' }, { authorization: `Bearer hc_guess-${i}`, ...at(address) });
      for (let i = 0; i < 30; i++) expect((await intake('198.51.100.60', i)).status).toBe(403);
      const intakeRefused = await intake('198.51.100.60', 99);
      expect([intakeRefused.status, intakeRefused.body.code, intakeRefused.headers.get('retry-after')]).toEqual([429, 429, expect.stringMatching(/^\d+$/)]);
      expect((await intake('198.51.100.61', 0)).status).toBe(403);
      const events = await new TestClient(gateway.url, key).post('/v1/projects/alpha/events', { type: 'bb.issue.create' }, at('198.51.100.61'));
      expect(events.status).toBe(202);
    });

    it('says only "intake unavailable" when ingestion cannot be reached, and logs where it looked', async () => {
      const closed = await freePort();
      const env = testEnv(await createTestDatabase(), prefix, { HERALD_INGESTION_URL: `http://127.0.0.1:${closed}` });
      const lonely = await startApp('api-gateway', env, await freePort());
      try {
        const res = await new TestClient(lonely.url, TEST_ADMIN_TOKEN).post('/v1/projects/alpha/events', { type: 'bb.issue.create' });
        expect([res.status, res.body.message, res.headers.get('retry-after')]).toEqual([503, 'intake unavailable; nothing was accepted, retry later', '5']);
        expect(res.text).not.toContain(String(closed));
        expect(res.text).not.toMatch(/ECONNREFUSED|127\.0\.0\.1/);
        await eventually(() => lonely.output.join('').includes(`127.0.0.1:${closed}`), 5000, 'the gateway logs the address it could not reach');
        // DevLake's routes answer in DevLake's envelope, from the gateway too (libs/intake's route dialect).
        const devlake = await new TestClient(lonely.url, TEST_ADMIN_TOKEN).post('/api/rest/plugins/webhook/connections/1/deployments', { commit_sha: 'x' });
        expect([devlake.status, devlake.body]).toEqual([
          503,
          { code: 503, success: false, message: 'intake unavailable; nothing was accepted, retry later', causes: [], data: null },
        ]);
      } finally {
        await stopApp(lonely);
      }
    });

    it("answers 502, saying the request may have been accepted, when ingestion's answer is cut off; the body reaches ingestion as sent", async () => {
      const received: Array<{ contentType: string | undefined; body: string }> = [];
      // An ingestion that reads the request, starts a 202 and dies midway through its body.
      const cutting = createServer((req, res) => {
        const chunks: Buffer[] = [];
        req.on('data', (c: Buffer) => chunks.push(c));
        req.on('end', () => {
          received.push({ contentType: req.headers['content-type'], body: Buffer.concat(chunks).toString('utf8') });
          res.writeHead(202, { 'content-type': 'application/json', 'content-length': '100' });
          res.write('{"id":"', () => res.socket?.destroy());
        });
      });
      await new Promise<void>((resolve) => cutting.listen(0, '127.0.0.1', resolve));
      const env = testEnv(await createTestDatabase(), prefix, { HERALD_INGESTION_URL: `http://127.0.0.1:${(cutting.address() as AddressInfo).port}` });
      const gatewayToCutting = await startApp('api-gateway', env, await freePort());
      try {
        const sent = '{ "type": "bb.issue.create",  "title": "é" }';
        const res = await fetch(`${gatewayToCutting.url}/v1/projects/alpha/events`, {
          method: 'POST',
          headers: { authorization: `Bearer ${TEST_ADMIN_TOKEN}`, 'content-type': 'application/json; charset=utf-8' },
          body: sent,
        });
        const answer = (await res.json()) as { message: string };
        expect([res.status, answer.message]).toEqual([
          502,
          expect.stringMatching(/cut off; the request may have been accepted \(retry with the same Idempotency-Key\)/),
        ]);
        expect(received).toEqual([{ contentType: 'application/json; charset=utf-8', body: sent }]);
      } finally {
        await stopApp(gatewayToCutting);
        await new Promise((resolve) => cutting.close(resolve));
      }
    });
  });
});
