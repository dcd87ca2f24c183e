import {
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
  withPg,
  type RunningApp,
} from '@herald/testing';

/**
 * DevLake-compatible incoming webhooks and DORA through the three apps (issue 3; docs/contract.md §3.7, §5.2,
 * §8): connections and their keys, the seed's curl bodies verbatim on the seed's path form, the
 * auth rules of each prefix, every rejection in DevLake's envelope, upserts and the events they
 * cause (delivered through the same fan-out as API events), and the DORA route.
 */
const PUBLIC_URL = 'https://herald.example.com';
const BASIC = { user: 'lake', password: 's3cret:with-colon' };
const SUCCESS = { code: 0, success: true, message: 'success', causes: null, data: null };

// The seed's sample bodies, character for character (seeds/003: "Deployment - Sample API Calls", "Issues Sample API Calls").
const SEED_DEPLOYMENT = `{
"commit_sha":"015e3d3b480e417aede5a1293bd61de9b0fd051d",
"repo_url":"https://github.com/apache/incubator-devlake/",
"environment":"PRODUCTION",
"start_time":"2020-01-01T12:00:00+00:00",
"end_time":"2020-01-02T12:00:00+00:00"
}`;
const SEED_ISSUE =
  '{"board_key":"DLK","url":"","issue_key":"DLK-1234","title":"a feature from DLK","description":"","epic_key":"","type":"BUG","status":"TODO","original_status":"created","story_point":0,"resolution_date":null,"created_date":"2020-01-01T12:00:00+00:00","updated_date":null,"lead_time_minutes":0,"parent_issue_key":"DLK-1200","priority":"","original_estimate_minutes":0,"time_spent_minutes":0,"time_remaining_minutes":0,"creator_id":"user1131","creator_name":"Nick name 1","assignee_id":"user1132","assignee_name":"Nick name 2","severity":"","component":""}';
/** What `curl -d` sends. */
const FORM = { 'content-type': 'application/x-www-form-urlencoded' };
const basicHeader = (user: string, password: string) => ({ authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` });

describe('DevLake-compatible incoming webhooks and DORA', () => {
  let receiver: FakeReceiver;
  /** Receives the issue events of the seed's sample issue (bb.issue.create, bb.issue.status.update). */
  let issueReceiver: FakeReceiver;
  let gateway: RunningApp;
  let ingestion: RunningApp;
  let worker: RunningApp;
  let prefix: string;
  let dbUrl: string;
  let admin: TestClient;
  let anonymous: TestClient;
  let first: { id: number; apiKey: string; name: string; endpoints: Record<string, string> };
  let second: { id: number; apiKey: string };

  const sql = <T = any>(text: string, params: unknown[] = []) => withPg(async (c) => (await c.query(text, params)).rows as T[], dbUrl);
  const eventsOf = async (project: string, type?: string) =>
    (await admin.get(`/v1/projects/${project}/events?limit=100${type ? `&type=${type}` : ''}`)).body.items as Array<{
      type: string;
      title: string;
      level: string;
      source: string;
      link?: string | null;
      issue?: any;
      deployment?: any;
    }>;

  beforeAll(async () => {
    [receiver, issueReceiver] = await Promise.all([FakeReceiver.start(), FakeReceiver.start()]);
    prefix = uniqueQueuePrefix();
    dbUrl = await createTestDatabase();
    const ingestionPort = await freePort();
    const env = testEnv(dbUrl, prefix, {
      HERALD_INGESTION_URL: `http://127.0.0.1:${ingestionPort}`,
      HERALD_PUBLIC_URL: PUBLIC_URL,
      HERALD_BASIC_AUTH: `${BASIC.user}:${BASIC.password}`,
    });
    [ingestion, gateway, worker] = await Promise.all([
      startApp('ingestion', env, ingestionPort),
      startApp('api-gateway', env, await freePort()),
      startApp('delivery-worker', env, await freePort()),
    ]);
    admin = new TestClient(gateway.url, TEST_ADMIN_TOKEN);
    anonymous = new TestClient(gateway.url);
    for (const key of ['lake', 'other']) expect((await admin.post('/v1/projects', { key, name: key })).status).toBe(201);
  }, 60_000);

  afterAll(async () => {
    await Promise.all([gateway, ingestion, worker].filter(Boolean).map((app) => stopApp(app)));
    await Promise.all([receiver?.stop(), issueReceiver?.stop()]);
    await deleteQueueKeys(prefix);
  });

  describe('connections (docs/contract.md §3.7)', () => {
    it('creates a connection with its key once, endpoints on HERALD_PUBLIC_URL and curl commands', async () => {
      const res = await admin.post('/v1/projects/lake/connections', { name: 'ci' });
      expect(res.status).toBe(201);
      const base = `${PUBLIC_URL}/api/rest/plugins/webhook/connections/1`;
      expect(res.body).toEqual({
        id: 1,
        name: 'ci',
        apiKey: expect.stringMatching(/^hc_/),
        keyHint: res.body.apiKey.slice(-4),
        endpoints: {
          deployments: `${base}/deployments`,
          issues: `${base}/issues`,
          closeIssue: `${base}/issue/:issueKey/close`,
          pullRequests: `${base}/pull_requests`,
        },
        curl: { deployments: expect.any(String), issues: expect.any(String), closeIssue: expect.any(String), pullRequests: expect.any(String) },
        createdAt: expect.any(String),
      });
      expect(res.body.curl.deployments).toContain(`curl ${base}/deployments -X 'POST' -H 'Authorization: Bearer ${res.body.apiKey}' -d '{`);
      expect(res.body.curl.closeIssue).toBe(`curl ${base}/issue/DLK-1234/close -X 'POST' -H 'Authorization: Bearer ${res.body.apiKey}'`);
      first = res.body;
      const [{ key_hash }] = await sql('SELECT key_hash FROM devlake_connections WHERE id = 1');
      expect(key_hash).not.toContain(first.apiKey);
      expect(key_hash).toMatch(/^[0-9a-f]{64}$/);

      second = (await admin.post('/v1/projects/lake/connections', { name: 'tracker' })).body;
      expect(second.id).toBe(2);
    });

    it('lists, reads and renames without the key; names are unique; other tenants see 404', async () => {
      const list = await admin.get('/v1/projects/lake/connections');
      expect(list.body.items.map((c: { name: string }) => c.name)).toEqual(['ci', 'tracker']);
      expect(list.body.nextCursor).toBeNull();
      expect(list.text).not.toContain(first.apiKey);
      const one = await admin.get('/v1/projects/lake/connections/1');
      expect(one.body).toMatchObject({ id: 1, name: 'ci', endpoints: first.endpoints });
      expect(one.body).not.toHaveProperty('apiKey');
      expect(one.body).not.toHaveProperty('curl');
      expect((await admin.patch('/v1/projects/lake/connections/2', { name: 'tracker-2' })).body).toMatchObject({ id: 2, name: 'tracker-2' });
      expect((await admin.patch('/v1/projects/lake/connections/2', { name: 'ci' })).status).toBe(409);
      const bad = await admin.post('/v1/projects/lake/connections', { name: 'a/b', extra: 1 });
      expect(bad.status).toBe(400);
      expect(bad.body.details.map((d: { field: string }) => d.field).sort()).toEqual(['extra', 'name']);
      expect((await admin.get('/v1/projects/other/connections/1')).status).toBe(404);
      expect((await admin.get('/v1/projects/lake/connections/nope')).status).toBe(404);
      expect((await anonymous.get('/v1/projects/lake/connections')).status).toBe(401);
    });

    it("scopes connection names to their project: by-name routes resolve in the caller's project, ambiguity is a 409 (issue 10, item 7)", async () => {
      let n = 100;
      const pr = (id: string) => ({ id, displayTitle: 'scoped', pullRequestKey: n++, createdDate: '2024-01-01T00:00:00Z' });
      const stored = async (id: string) =>
        (await sql('SELECT connection_id FROM devlake_pull_requests WHERE external_id = $1', [id])).map((r) => r.connection_id);
      // Another project may use a name; the 409 for a duplicate speaks of this project only.
      const otherCi = await admin.post('/v1/projects/other/connections', { name: 'ci' });
      expect(otherCi.status).toBe(201);
      const duplicate = await admin.post('/v1/projects/other/connections', { name: 'ci' });
      expect([duplicate.status, duplicate.body.message]).toEqual([409, 'a connection named "ci" already exists in this project']);

      // {key}_deployments belongs to project {key}, whether or not it exists yet.
      for (const name of ['other_deployments', 'nobody-yet_deployments']) {
        const squat = await admin.post('/v1/projects/lake/connections', { name });
        expect([name, squat.status, squat.body.details?.map((d: { field: string }) => d.field)]).toEqual([name, 400, ['name']]);
      }
      expect((await admin.patch(`/v1/projects/lake/connections/2`, { name: 'other_deployments' })).status).toBe(400);
      const own = await admin.post('/v1/projects/other/connections', { name: 'other_deployments' });
      expect(own.status).toBe(201);
      expect((await admin.delete(`/v1/projects/other/connections/${own.body.id}`)).status).toBe(204);

      // A project's API key and a connection's key reach their own connection named "ci".
      const lakeKey = (await admin.post('/v1/projects/lake/api-keys', { name: 'by-name' })).body.key;
      const otherKey = (await admin.post('/v1/projects/other/api-keys', { name: 'by-name' })).body.key;
      const byName = (path: string, body: unknown, headers: Record<string, string>) =>
        anonymous.post(`/api/plugins/webhook/connections/by-name/ci/${path}`, body, headers);
      expect((await byName('pull_requests', pr('scoped-lake'), { authorization: `Bearer ${lakeKey}` })).status).toBe(200);
      expect((await byName('pull_requests', pr('scoped-other'), { authorization: `Bearer ${otherKey}` })).status).toBe(200);
      expect((await byName('pull_requests', pr('scoped-conn'), { authorization: `Bearer ${otherCi.body.apiKey}` })).status).toBe(200);
      expect(await stored('scoped-lake')).toEqual([first.id]);
      expect(await stored('scoped-other')).toEqual([otherCi.body.id]);
      expect(await stored('scoped-conn')).toEqual([otherCi.body.id]);

      // The admin token and Basic auth carry no project: a name two projects use is ambiguous.
      for (const headers of [{ authorization: `Bearer ${TEST_ADMIN_TOKEN}` }, basicHeader(BASIC.user, BASIC.password)]) {
        const ambiguous = await byName('pull_requests', pr('scoped-nobody'), headers);
        expect([ambiguous.status, ambiguous.body.message]).toEqual([409, expect.stringContaining('connection name "ci" is used by several projects')]);
        expect(ambiguous.body.message).not.toMatch(/other|lake/);
      }
      expect(await stored('scoped-nobody')).toEqual([]);

      expect((await admin.delete(`/v1/projects/other/connections/${otherCi.body.id}`)).status).toBe(204);
      expect((await byName('pull_requests', pr('scoped-admin'), { authorization: `Bearer ${TEST_ADMIN_TOKEN}` })).status).toBe(200);
      expect(await stored('scoped-admin')).toEqual([first.id]);
    });

    it('rotates a key: the old one stops at once, the new one works', async () => {
      const temp = (await admin.post('/v1/projects/other/connections', { name: 'temp' })).body;
      const post = (key: string) =>
        new TestClient(gateway.url, key).post(`/api/rest/plugins/webhook/connections/${temp.id}/pull_requests`, {
          id: 'p',
          displayTitle: 't',
          pullRequestKey: 1,
          createdDate: '2024-01-01T00:00:00Z',
        });
      expect((await post(temp.apiKey)).status).toBe(200);
      const rotated = await admin.post(`/v1/projects/other/connections/${temp.id}/rotate-key`);
      expect(rotated.status).toBe(200);
      expect(rotated.body.apiKey).not.toBe(temp.apiKey);
      expect(rotated.body.curl.issues).toContain(rotated.body.apiKey);
      expect((await post(temp.apiKey)).body).toMatchObject({ code: 403, success: false, message: 'api key is invalid' });
      expect((await post(rotated.body.apiKey)).status).toBe(200);
      expect((await admin.delete(`/v1/projects/other/connections/${temp.id}`)).status).toBe(204);
      expect((await admin.get(`/v1/projects/other/connections/${temp.id}`)).status).toBe(404);
      expect((await post(rotated.body.apiKey)).status).toBe(403);
      expect(await sql('SELECT 1 FROM devlake_pull_requests WHERE connection_id = $1', [temp.id])).toHaveLength(0);
    });
  });

  describe("the seed's curl samples (seeds/003), verbatim on /api/plugins/webhook/1/...", () => {
    it('registers the sample deployment with Basic auth, as curl -u sends it, through the gateway', async () => {
      const res = await anonymous.post('/api/plugins/webhook/1/deployments', SEED_DEPLOYMENT, { ...FORM, ...basicHeader(BASIC.user, BASIC.password) });
      expect(res.status).toBe(200);
      expect(res.body).toEqual(SUCCESS);
      const rows = await sql('SELECT id, environment, result, finished_date, started_date FROM devlake_deployments WHERE connection_id = 1');
      expect(rows).toHaveLength(1);
      expect(rows[0]).toMatchObject({
        id: expect.stringMatching(/^1:[0-9a-f]{16}:015e3d3b480e417aede5a1293bd61de9b0fd051d$/),
        environment: 'PRODUCTION',
        result: 'SUCCESS',
      });
      expect(new Date(rows[0].finished_date).toISOString()).toBe('2020-01-02T12:00:00.000Z');
    });

    it('registers the sample issue and closes it with the seed form, with the generated key, and delivers both events', async () => {
      const hook = await admin.post('/v1/projects/lake/webhooks', {
        name: 'issues',
        type: 'custom',
        url: `${issueReceiver.url}/issues`,
        events: ['bb.issue.create', 'bb.issue.status.update'],
      });
      expect(hook.status).toBe(201);
      const key = new TestClient(gateway.url, first.apiKey);
      expect((await key.post('/api/plugins/webhook/1/issues', SEED_ISSUE, FORM)).body).toEqual(SUCCESS);
      const close = await key.request('POST', '/api/plugins/webhook/1/issue/DLK/DLK-1234/close');
      expect(close.status).toBe(200);
      expect(close.body).toEqual(SUCCESS);
      const [issue] = await sql('SELECT status, resolution_date, lead_time_minutes FROM devlake_issues WHERE connection_id = 1 AND issue_key = $1', [
        'DLK-1234',
      ]);
      expect(issue.status).toBe('DONE');
      expect(issue.resolution_date).not.toBeNull();
      expect(Number(issue.lead_time_minutes)).toBeGreaterThan(2_000_000);
      // Closing again answers 200 and emits nothing.
      const before = (await eventsOf('lake', 'bb.issue.status.update')).length;
      expect((await key.request('POST', '/api/plugins/webhook/1/issue/DLK/DLK-1234/close')).status).toBe(200);
      expect(await eventsOf('lake', 'bb.issue.status.update')).toHaveLength(before);
      expect((await key.request('POST', '/api/plugins/webhook/1/issue/OTHERBOARD/DLK-1234/close')).status).toBe(404);

      // Through the same outbox and fan-out as API events, in the seed's custom shape.
      const delivered = (await issueReceiver.waitFor(2, 15_000)).map((r) => JSON.parse(r.body));
      const byType = Object.fromEntries(delivered.map((b) => [b.activity_type, b]));
      expect(Object.keys(byType).sort()).toEqual(['bb.issue.create', 'bb.issue.status.update']);
      expect(byType['bb.issue.create']).toMatchObject({
        level: 'INFO',
        title: 'Issue created',
        creator_id: 'user1131',
        creator_name: 'Nick name 1',
        created_ts: Date.parse('2020-01-01T12:00:00Z') / 1000,
        issue: { id: 'DLK-1234', name: 'a feature from DLK', status: 'OPEN', type: 'BUG' },
        project: { name: 'lake' },
      });
      expect(byType['bb.issue.status.update']).toMatchObject({
        level: 'SUCCESS',
        title: 'Issue resolved',
        issue: { id: 'DLK-1234', status: 'DONE' },
        project: { name: 'lake' },
      });
    });

    it("closes through DevLake's legacy alias C/issue/{issueKey}/close under all four prefixes", async () => {
      const key = new TestClient(gateway.url, first.apiKey);
      const prefixes = ['/api/plugins/webhook', '/plugins/webhook', '/api/rest/plugins/webhook', '/rest/plugins/webhook'];
      for (const [i, prefix] of prefixes.entries()) {
        const issueKey = `ALIAS-${i}`;
        const issue = { issueKey, title: 't', status: 'TODO', originalStatus: 'open', createdDate: '2024-01-01T00:00:00Z' };
        expect((await key.post(`${prefix}/1/issues`, issue)).status).toBe(200);
        const close = await key.request('POST', `${prefix}/1/issue/${issueKey}/close`);
        expect([prefix, close.status, close.body]).toEqual([prefix, 200, SUCCESS]);
        const [row] = await sql('SELECT status, resolution_date FROM devlake_issues WHERE connection_id = 1 AND issue_key = $1', [issueKey]);
        expect(row.status).toBe('DONE');
        expect(row.resolution_date).not.toBeNull();
      }
      const missing = await key.request('POST', '/rest/plugins/webhook/1/issue/NOPE-9/close');
      expect([missing.status, missing.body.message]).toEqual([404, expect.stringMatching(/NOPE-9/)]);
    });
  });

  describe('auth rules (docs/contract.md §2, §5.2)', () => {
    const rest = '/api/rest/plugins/webhook/connections/1/pull_requests';
    const plain = '/plugins/webhook/connections/1/pull_requests';
    const pr = { id: 'pr-9', displayTitle: 'T', pullRequestKey: 9, createdDate: '2024-01-01T00:00:00Z' };

    it.each([
      ['gateway', () => gateway.url],
      ['ingestion', () => ingestion.url],
    ])('under the rest prefixes, wants the connection key (%s)', async (_, url) => {
      const as = (headers: Record<string, string>) => new TestClient(url()).post(rest, pr, headers);
      expect((await as({})).body).toEqual({ code: 401, success: false, message: 'token is missing', causes: [], data: null });
      expect((await as(basicHeader(BASIC.user, BASIC.password))).body).toMatchObject({ code: 401, message: 'token is not present or malformed' });
      expect((await as({ authorization: 'Token abc' })).body).toMatchObject({ code: 401, message: 'token is not present or malformed' });
      const invalid = await as({ authorization: 'Bearer hc_not-a-key' });
      expect([invalid.status, invalid.body.message]).toEqual([403, 'api key is invalid']);
      const another = await as({ authorization: `Bearer ${second.apiKey}` });
      expect(another.status).toBe(403);
      expect(another.body.message).toMatch(/another/);
      expect((await as({ authorization: `Bearer ${first.apiKey}` })).status).toBe(200);
      expect((await new TestClient(url()).post(`/rest/plugins/webhook/1/pull_requests`, pr, { authorization: `Bearer ${first.apiKey}` })).status).toBe(200);
    });

    it('under the other prefixes, takes the key, the admin token or HERALD_BASIC_AUTH, never nobody', async () => {
      const as = (headers: Record<string, string>) => anonymous.post(plain, pr, headers);
      expect((await as({})).status).toBe(401);
      expect((await as(basicHeader(BASIC.user, 'wrong'))).status).toBe(401);
      expect((await as(basicHeader(BASIC.user, BASIC.password))).status).toBe(200);
      expect((await as({ authorization: `Bearer ${TEST_ADMIN_TOKEN}` })).status).toBe(200);
      expect((await as({ authorization: `Bearer ${first.apiKey}` })).status).toBe(200);
      expect((await as({ authorization: `Bearer ${second.apiKey}` })).status).toBe(403);
      expect((await anonymous.post('/api/plugins/webhook/connections/by-name/ci/pull_requests', pr, { authorization: `Bearer ${second.apiKey}` })).status).toBe(
        403,
      );
    });

    it("answers another project's API key as if the connection did not exist (docs/contract.md §2)", async () => {
      const otherKey = (await admin.post('/v1/projects/other/api-keys', { name: 'intake' })).body.key;
      const lakeKey = (await admin.post('/v1/projects/lake/api-keys', { name: 'intake' })).body.key;
      const as = (apiKey: string, path: string) => anonymous.post(path, pr, { authorization: `Bearer ${apiKey}` });
      const byId = await as(otherKey, plain);
      const missingId = await as(otherKey, '/plugins/webhook/connections/998/pull_requests');
      expect([byId.status, byId.body]).toEqual([404, { code: 404, success: false, message: 'connection 1 not found', causes: [], data: null }]);
      expect(missingId.body.message).toBe('connection 998 not found');
      const byName = await as(otherKey, '/api/rest/plugins/webhook/connections/by-name/ci/pull_requests');
      expect([byName.status, byName.body.message]).toEqual([404, 'connection named "ci" not found']);
      expect((await as(lakeKey, plain)).status).toBe(200);
    });
  });

  describe('rejections: 4xx in the DevLake envelope, naming the field', () => {
    const key = () => new TestClient(gateway.url, first.apiKey);
    const cases: Array<[string, string, unknown, number, RegExp]> = [
      ['missing commit_sha', '/api/plugins/webhook/1/deployments', { repo_url: 'https://git/x' }, 400, /commit_sha/],
      [
        'status outside TODO|DONE|IN_PROGRESS',
        '/api/plugins/webhook/1/issues',
        { issue_key: 'X-1', title: 't', status: 'OPEN', original_status: 'o', created_date: '2024-01-01T00:00:00Z' },
        400,
        /status.*TODO, DONE, IN_PROGRESS/,
      ],
      [
        'unparsable date',
        '/api/plugins/webhook/1/issues',
        { issue_key: 'X-1', title: 't', status: 'TODO', original_status: 'o', created_date: '01/02/2024' },
        400,
        /created_date/,
      ],
      [
        'empty commit list',
        '/api/plugins/webhook/connections/1/deployments',
        { id: 'd', startedDate: '2024-01-01T00:00:00Z', finishedDate: '2024-01-01T01:00:00Z', deploymentCommits: [] },
        400,
        /deploymentCommits/,
      ],
      ['environment outside the enum', '/api/plugins/webhook/1/deployments', { commit_sha: 'a', repo_url: 'r', environment: 'prod' }, 400, /environment/],
      ['malformed JSON', '/api/plugins/webhook/1/deployments', '{"commit_sha":', 400, /body.*JSON/],
      ['a JSON list', '/api/plugins/webhook/1/issues', '[1,2]', 400, /body/],
      ['non-numeric connection id', '/api/plugins/webhook/abc/deployments', { commit_sha: 'a', repo_url: 'r' }, 400, /connectionId/],
      [
        'pull request key 0',
        '/api/plugins/webhook/1/pull_requests',
        { id: 'x', displayTitle: 't', pullRequestKey: 0, createdDate: '2024-01-01T00:00:00Z' },
        400,
        /pullRequestKey/,
      ],
      ['unknown connection', '/api/plugins/webhook/999/deployments', { commit_sha: 'a', repo_url: 'r' }, 404, /connection 999/],
      ['unknown connection name', '/api/plugins/webhook/connections/by-name/nope/issues', {}, 404, /nope/],
      ['unknown issue', '/api/plugins/webhook/connections/1/issue/NOPE-1/close', undefined, 404, /NOPE-1/],
      ['unknown project', '/api/plugins/webhook/projects/nope/deployments', { commit_sha: 'a', repo_url: 'r' }, 404, /project not found/],
      ['a project key that cannot exist', '/api/plugins/webhook/projects/%00Bad/deployments', { commit_sha: 'a', repo_url: 'r' }, 404, /project not found/],
      ['a NUL in a connection name', '/api/plugins/webhook/connections/by-name/a%00b/issues', {}, 400, /connectionName/],
      // Dates whose offset takes them past year 9999 in UTC: Postgres cannot store them.
      [
        'an issue date past 9999 in UTC',
        '/api/plugins/webhook/1/issues',
        { issue_key: 'X-1', title: 't', status: 'TODO', original_status: 'o', created_date: '9999-12-31T23:59:59-23:59' },
        400,
        /created_date.*0001 to 9999/,
      ],
      [
        'a deployment date past 9999 in UTC',
        '/api/plugins/webhook/1/deployments',
        { commit_sha: 'a', repo_url: 'r', start_time: '9999-12-31T23:00:00-05:00' },
        400,
        /start_time.*0001 to 9999/,
      ],
      [
        'a pull request date past 9999 in UTC',
        '/api/plugins/webhook/1/pull_requests',
        { id: 'x', displayTitle: 't', pullRequestKey: 3, createdDate: '9999-12-31T23:59:59-05:00' },
        400,
        /createdDate.*0001 to 9999/,
      ],
      [
        'a date before year 0001 in UTC',
        '/api/plugins/webhook/1/issues',
        { issue_key: 'X-1', title: 't', status: 'TODO', original_status: 'o', created_date: '0001-01-01T00:00:00+01:00' },
        400,
        /created_date.*0001 to 9999/,
      ],
    ];

    it.each(cases)('%s', async (_, path, body, status, message) => {
      const admin2 = new TestClient(gateway.url, TEST_ADMIN_TOKEN);
      const res = await (path.includes('/999/') || path.includes('by-name/nope') || path.includes('/projects/') ? admin2 : key()).post(path, body, FORM);
      expect(res.status).toBe(status);
      expect(res.body).toMatchObject({ code: status, success: false, data: null });
      expect(res.body.message).toMatch(message);
      // A field problem is also one of the causes; malformed JSON names the body in the message only.
      expect(Array.isArray(res.body.causes)).toBe(true);
      if (status === 400 && !/malformed JSON/.test(res.body.message)) expect(res.body.causes.join('\n')).toMatch(message);
    });

    it('stores nothing of a rejected post', async () => {
      const before = await sql('SELECT count(*)::int AS n FROM devlake_deployments');
      const res = await key().post(
        '/api/plugins/webhook/1/deployments',
        { pipeline_id: 'half', deployment_commits: [{ repo_url: 'a', commit_sha: 'x' }, { repo_url: 'b' }] },
        FORM,
      );
      expect(res.status).toBe(400);
      expect(res.body.causes).toEqual(['deployment_commits[1].commit_sha: is required']);
      expect(await sql('SELECT count(*)::int AS n FROM devlake_deployments')).toEqual(before);
    });
  });

  describe('upserts and events (docs/contract.md §5.2)', () => {
    const issue = { issueKey: 'INC-7', title: 'Checkout down', type: 'INCIDENT', status: 'TODO', originalStatus: 'open', createdDate: '2024-03-05 12:00:00' };

    it('emits create events once, status and field events on change, nothing on an identical re-post, and delivers them', async () => {
      const hook = await admin.post('/v1/projects/lake/webhooks', {
        name: 'devlake-events',
        type: 'custom',
        url: `${receiver.url}/devlake`,
        events: ['incident.create', 'incident.resolve', 'deployment.create'],
      });
      expect(hook.status).toBe(201);
      const key = new TestClient(gateway.url, first.apiKey);
      const post = (body: unknown) => key.post('/api/rest/plugins/webhook/connections/1/issues', body);

      expect((await post(issue)).status).toBe(200);
      expect((await post(issue)).status).toBe(200);
      expect((await eventsOf('lake', 'bb.issue.create')).filter((e) => e.issue?.key === 'INC-7')).toHaveLength(1);
      expect(await eventsOf('lake', 'incident.create')).toHaveLength(1);

      expect((await post({ ...issue, status: 'IN_PROGRESS' })).status).toBe(200);
      const [status] = (await eventsOf('lake', 'bb.issue.status.update')).filter((e) => e.issue?.key === 'INC-7');
      expect(status).toMatchObject({ title: 'Issue status changed', source: 'devlake', issue: { status: 'OPEN' } });
      expect(await eventsOf('lake', 'bb.issue.field.update')).toHaveLength(0);

      expect((await post({ ...issue, status: 'IN_PROGRESS', title: 'Checkout is down', assigneeName: 'Ann' })).status).toBe(200);
      expect(await eventsOf('lake', 'bb.issue.field.update')).toHaveLength(1);

      const close = await key.request('POST', '/api/rest/plugins/webhook/connections/1/issue/INC-7/close');
      expect(close.status).toBe(200);
      const resolved = (await eventsOf('lake', 'bb.issue.status.update')).filter((e) => e.issue?.key === 'INC-7');
      expect(resolved[0]).toMatchObject({ title: 'Issue resolved', level: 'SUCCESS', issue: { status: 'DONE' } });
      expect(await eventsOf('lake', 'incident.resolve')).toHaveLength(1);

      // The same fan-out as API events: the custom webhook receives both, signed, in the seed's shape.
      const received = await receiver.waitFor(2, 15_000);
      const delivered = received.filter((r) => r.path === '/devlake').map((r) => JSON.parse(r.body));
      expect(delivered.map((b) => b.activity_type).sort()).toEqual(['incident.create', 'incident.resolve']);
      expect(delivered[0]).toMatchObject({ issue: { id: 'INC-7', name: expect.any(String) }, project: { name: 'lake' } });
      expect(received[0].headers['webhook-signature']).toMatch(/^v1,/);
    });

    it("takes an issue's url as the event link only when it is an absolute http(s) URL, and never refuses the post for it (issue 10, item 6)", async () => {
      const key = new TestClient(gateway.url, first.apiKey);
      const post = (issueKey: string, url: string) =>
        key.post('/api/plugins/webhook/1/issues', {
          issue_key: issueKey,
          title: 'linked',
          status: 'TODO',
          original_status: 'open',
          created_date: '2024-01-01T00:00:00Z',
          url,
        });
      const cases: Array<[string, string, string | null]> = [
        ['LINK-1', 'https://tracker.example.com/browse/LINK-1', 'https://tracker.example.com/browse/LINK-1'],
        ['LINK-2', 'https://ok|x> <!channel> <https://phish|Reset password', null],
        ['LINK-3', '/browse/LINK-3', null],
        ['LINK-4', 'javascript:alert(1)', null],
      ];
      for (const [issueKey, url] of cases) expect((await post(issueKey, url)).status).toBe(200);
      const created = await eventsOf('lake', 'bb.issue.create');
      for (const [issueKey, url, link] of cases) {
        expect([issueKey, created.find((e) => e.issue?.key === issueKey)?.link]).toEqual([issueKey, link]);
        // The issue keeps the url as DevLake sent it.
        expect(await sql('SELECT url FROM devlake_issues WHERE connection_id = 1 AND issue_key = $1', [issueKey])).toEqual([{ url }]);
      }
    });

    it('replaces a re-posted deployment and emits deployment.create once per id', async () => {
      const key = new TestClient(gateway.url, first.apiKey);
      const body = (result: string, commits: string[]) => ({
        id: 'deploy-42',
        result,
        startedDate: '2024-03-05T09:00:00Z',
        finishedDate: '2024-03-05T10:00:00Z',
        deploymentCommits: commits.map((sha) => ({
          repoUrl: 'https://git/app',
          commitSha: sha,
          startedDate: '2024-03-05T09:00:00Z',
          finishedDate: '2024-03-05T10:00:00Z',
        })),
      });
      expect((await key.post('/api/plugins/webhook/connections/1/deployments', body('FAILURE', ['a1', 'a2']))).status).toBe(200);
      expect((await key.post('/api/plugins/webhook/connections/by-name/ci/deployments', body('SUCCESS', ['a3']))).status).toBe(200);
      const [row] = await sql(`SELECT result, name FROM devlake_deployments WHERE connection_id = 1 AND id = 'deploy-42'`);
      expect(row).toEqual({ result: 'SUCCESS', name: 'deploy a3 to PRODUCTION' });
      expect((await sql(`SELECT commit_sha FROM devlake_deployment_commits WHERE deployment_id = 'deploy-42'`)).map((r) => r.commit_sha)).toEqual(['a3']);
      const created = (await eventsOf('lake', 'deployment.create')).filter((e) => e.deployment?.id === 'deploy-42');
      expect(created).toHaveLength(1);
      expect(created[0]).toMatchObject({ title: 'Deployment to PRODUCTION', level: 'ERROR' });
      const received = await receiver.waitFor(3, 15_000);
      expect(received.map((r) => JSON.parse(r.body).activity_type)).toContain('deployment.create');
    });

    it('creates {key}_deployments on first use of projects/{key}/deployments, and only for a valid body', async () => {
      const refused = await admin.post('/plugins/webhook/projects/other/deployments', '{"commit_sha":"x"}', FORM);
      expect([refused.status, refused.body]).toEqual([
        400,
        { code: 400, success: false, message: 'repo_url: is required', causes: ['repo_url: is required'], data: null },
      ]);
      expect(await sql(`SELECT 1 FROM devlake_connections WHERE name = 'other_deployments'`)).toHaveLength(0);
      const res = await admin.post('/plugins/webhook/projects/other/deployments', {
        commit_sha: 'b1',
        repo_url: 'https://git/b',
        end_time: '2024-03-06T10:00:00Z',
      });
      expect(res.status).toBe(200);
      expect((await admin.post('/api/plugins/webhook/projects/other/deployments', { commit_sha: 'b2', repo_url: 'https://git/b' })).status).toBe(200);
      const list = await admin.get('/v1/projects/other/connections');
      expect(list.body.items.filter((c: { name: string }) => c.name === 'other_deployments')).toHaveLength(1);
      expect(await eventsOf('other', 'deployment.create')).toHaveLength(2);
    });
  });

  describe('DORA (docs/contract.md §8)', () => {
    it('answers the metrics with counts, and refuses bad parameters', async () => {
      const key = new TestClient(gateway.url, first.apiKey);
      // An incident created after deploy-42 (2024-03-05 10:00) and resolved 2 h later.
      await key.post('/api/plugins/webhook/1/issues', {
        issue_key: 'INC-8',
        title: 'x',
        type: 'INCIDENT',
        status: 'DONE',
        original_status: 'closed',
        created_date: '2024-03-05T11:00:00Z',
        resolution_date: '2024-03-05T12:00:00Z',
      });
      const res = await admin.get('/v1/projects/lake/dora?from=2024-03-01T00:00:00Z&to=2024-03-31T00:00:00Z');
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({
        project: 'lake',
        report: '2023',
        environment: 'PRODUCTION',
        deploymentFrequency: { deployments: 1, deploymentDays: 1, monthlyMedianDays: 1, weeklyMedianDays: 0, level: 'medium' },
        changeFailureRate: { value: 1, deployments: 1, failedDeployments: 1, level: 'low' },
        recoveryTime: { kind: 'failed_deployment_recovery_time', medianMinutes: 120, incidents: 1, level: 'high' },
      });
      const r2021 = await admin.get('/v1/projects/lake/dora?from=2024-03-01T00:00:00Z&to=2024-03-31T00:00:00Z&report=2021');
      expect(r2021.body.recoveryTime).toMatchObject({ kind: 'time_to_restore', medianMinutes: 60 });
      const bad = await admin.get('/v1/projects/lake/dora?from=yesterday&report=2022&environment=prod');
      expect(bad.status).toBe(400);
      expect(bad.body.details.map((d: { field: string }) => d.field).sort()).toEqual(['environment', 'from', 'report']);
      // A bare date, or a time without an offset, would be read in the server's zone.
      const zoneless = await admin.get('/v1/projects/lake/dora?from=2024-03-01&to=2024-03-31T00:00:00');
      expect([zoneless.status, zoneless.body.details.map((d: { field: string }) => d.field).sort()]).toEqual([400, ['from', 'to']]);
      const far = await admin.get('/v1/projects/lake/dora?from=2024-03-01T00:00:00Z&to=9999-12-31T23:59:59-05:00');
      expect([far.status, far.body.details]).toEqual([400, [{ field: 'to', message: 'to must fall within the years 0001 to 9999 once converted to UTC' }]]);
      expect((await admin.get('/v1/projects/lake/dora?from=2024-03-01T00:00:00%2B01:00&to=2024-03-31T00:00:00-05:00')).status).toBe(200);
      expect((await anonymous.get('/v1/projects/lake/dora')).status).toBe(401);
      const otherKey = (await admin.post('/v1/projects/other/api-keys', { name: 'k' })).body.key;
      expect((await new TestClient(gateway.url, otherKey).get('/v1/projects/lake/dora')).status).toBe(404);
      expect((await admin.get('/v1/projects/other/dora')).body.changeFailureRate.level).toBe('elite');
    });

    it('documents the new routes in the gateway OpenAPI', async () => {
      const docs = await anonymous.get('/docs-json');
      expect(Object.keys(docs.body.paths)).toEqual(
        expect.arrayContaining([
          '/v1/projects/{key}/connections',
          '/v1/projects/{key}/connections/{id}',
          '/v1/projects/{key}/connections/{id}/rotate-key',
          '/v1/projects/{key}/dora',
          '/api/rest/plugins/webhook/connections/{connectionId}/deployments',
        ]),
      );
    });
  });

  it('counts DevLake intake in /metrics', async () => {
    await eventually(
      async () => /herald_intake_events_total\{source="devlake",route="deployments"\} \d+/.test((await new TestClient(ingestion.url).get('/metrics')).text),
      2000,
      'devlake intake metric',
    );
  });
});
