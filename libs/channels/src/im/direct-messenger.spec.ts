import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { HeraldEvent } from '@herald/domain';
import { SecretBox, loadConfig, secretContext } from '@herald/platform';
import { FakeImApis } from '@herald/testing';
import { GOLDEN_CONTEXT, GOLDEN_EVENTS } from '../testing/golden';
import { DirectMessenger } from './direct-messenger';
import { FEISHU_LOOKUP_BATCH } from '../feishu/feishu.im-client';
import { ImHttp } from './im-http';
import { DM_PROVIDERS, maskImCredentials } from './im-registry';
import type { DmProvider, DmRecipientLedger } from './im-types';

/** The ledger's contract in memory (the Postgres one is covered by dm-recipient.int-spec). */
class MemoryLedger implements DmRecipientLedger {
  readonly rows = new Map<string, 'claimed' | 'sent'>();
  private key = (d: string, p: string, u: string) => `${d}|${p}|${u}`;
  async states(d: string, p: DmProvider) {
    const out = new Map<string, 'claimed' | 'sent'>();
    for (const [k, v] of this.rows) if (k.startsWith(`${d}|${p}|`)) out.set(k.split('|')[2], v);
    return out;
  }
  async claim(d: string, p: DmProvider, users: string[]) {
    return users.filter((u) => !this.rows.has(this.key(d, p, u)) && this.rows.set(this.key(d, p, u), 'claimed'));
  }
  async markSent(d: string, p: DmProvider, users: string[]) {
    for (const u of users) this.rows.set(this.key(d, p, u), 'sent');
  }
  async release(d: string, p: DmProvider, users: string[]) {
    for (const u of users) if (this.rows.get(this.key(d, p, u)) === 'claimed') this.rows.delete(this.key(d, p, u));
  }
}

describe('DirectMessenger against fake IM APIs (docs/contract.md §7.4)', () => {
  let fake: FakeImApis;
  let box: SecretBox;
  let ledger: MemoryLedger;
  let stored: Partial<Record<DmProvider, string>>;
  let messenger: DirectMessenger;

  const event = (mentions: HeraldEvent['mentions'], type: HeraldEvent['type'] = 'bb.issue.approval.notify'): HeraldEvent => ({
    ...GOLDEN_EVENTS['approval-needed'],
    type,
    mentions,
  });
  const ctx = (deliveryId = '01a203fd-0000-7000-8000-000000000001') => ({ ...GOLDEN_CONTEXT, deliveryId });
  const hook = (type: DmProvider, directMessage = true) => ({ type, directMessage, locale: null });

  beforeAll(async () => {
    fake = await FakeImApis.start();
  });
  afterAll(() => fake.stop());

  beforeEach(() => {
    fake.calls.length = 0;
    fake.users.clear();
    fake.failingUsers.clear();
    fake.tokenUses = Infinity;
    fake.lookupError = false;
    const config = loadConfig({
      HERALD_ADMIN_TOKEN: 'x'.repeat(32),
      HERALD_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
      HERALD_DELIVERY_TIMEOUT_MS: '2000',
      ...fake.env,
    });
    box = new SecretBox(config);
    ledger = new MemoryLedger();
    stored = {
      slack: box.encrypt(JSON.stringify({ token: 'xoxb-test' }), secretContext.imCredentials('slack')),
      feishu: box.encrypt(JSON.stringify({ appId: 'cli_a', appSecret: 's1' }), secretContext.imCredentials('feishu')),
      lark: box.encrypt(JSON.stringify({ appId: 'cli_b', appSecret: 's2' }), secretContext.imCredentials('lark')),
      wecom: box.encrypt(JSON.stringify({ corpId: 'ww1', agentId: 1000002, secret: 's3' }), secretContext.imCredentials('wecom')),
      dingtalk: box.encrypt(JSON.stringify({ clientId: 'ding1', clientSecret: 's4', robotCode: 'robot1' }), secretContext.imCredentials('dingtalk')),
    };
    messenger = new DirectMessenger(
      new ImHttp(config),
      config,
      box,
      { find: async (p) => (stored[p] ? { credentialsEncrypted: stored[p] as string, apiBaseUrl: null } : null) },
      ledger,
    );
  });

  it("Slack: the message's text (mrkdwn, the notification) cannot mention or link from the title (issue 11 item 5)", async () => {
    fake.users.set('bob@example.com', 'U1');
    const ev = { ...event([{ name: 'Bob', email: 'bob@example.com' }]), title: 'Approve <!channel> <https://phish.example|now> *please*' };
    await messenger.send(ev, hook('slack'), ctx());
    const text = new URLSearchParams(fake.callsTo('slack', '/chat.postMessage')[0].body).get('text');
    expect(text).toBe('Approve &lt;!channel&gt; &lt;https://phish.example|now&gt; \u2217please\u2217');
  });

  it('Slack: looks the user up, opens a DM and posts, once per delivery even when called again', async () => {
    fake.users.set('bob@example.com', 'U1');
    const ev = event([{ name: 'Bob', email: 'Bob@Example.com' }]);
    const first = await messenger.send(ev, hook('slack'), ctx());
    expect(first).toMatchObject({ attempted: true, messaged: ['bob@example.com'], fallback: [], postToChannel: false });
    const post = fake.callsTo('slack', '/chat.postMessage');
    expect(post).toHaveLength(1);
    expect(post[0].headers.authorization).toBe('Bearer xoxb-test');
    expect(JSON.parse(new URLSearchParams(post[0].body).get('attachments') as string)[0].blocks[0].text.text).toContain('Issue approval needed');

    const retry = await messenger.send(ev, hook('slack'), ctx());
    expect(retry).toMatchObject({ messaged: [], alreadyMessaged: ['bob@example.com'], postToChannel: false });
    expect(fake.callsTo('slack', '/chat.postMessage')).toHaveLength(1);
  });

  it('falls back to the channel for users not found, and when nobody matches sends no DM at all', async () => {
    fake.users.set('bob@example.com', 'U1');
    const some = await messenger.send(event([{ email: 'bob@example.com' }, { email: 'ghost@example.com' }, { name: 'No Email' }]), hook('slack'), ctx());
    expect(some).toMatchObject({ messaged: ['bob@example.com'], postToChannel: true });
    expect(some.fallback.sort()).toEqual(['No Email', 'ghost@example.com']);

    fake.calls.length = 0;
    const none = await messenger.send(event([{ email: 'ghost@example.com' }]), hook('slack'), ctx('01a203fd-0000-7000-8000-000000000002'));
    expect(none).toMatchObject({ attempted: true, messaged: [], fallback: ['ghost@example.com'], postToChannel: true });
    expect(fake.callsTo('slack', '/chat.postMessage')).toHaveLength(0);
    // "Not found" is cached too: no second lookup.
    expect(fake.callsTo('slack', '/users.lookupByEmail')).toHaveLength(0);
  });

  it('Feishu: a token that expires mid-way is refreshed once and the send succeeds', async () => {
    fake.users.set('bob@example.com', 'ou_1');
    fake.tokenUses = 1; // the lookup uses it up; the send sees "invalid token"
    const result = await messenger.send(event([{ email: 'bob@example.com' }]), hook('feishu'), ctx());
    expect(result).toMatchObject({ messaged: ['bob@example.com'], postToChannel: false });
    expect(fake.callsTo('feishu', '/auth/v3/tenant_access_token/internal')).toHaveLength(2);
    const sends = fake.callsTo('feishu', '/im/v1/messages');
    expect(sends).toHaveLength(2);
    const sent = JSON.parse(sends[1].body);
    expect(sent).toMatchObject({ receive_id: 'ou_1', msg_type: 'interactive' });
    expect(JSON.parse(sent.content).header.title.content).toBe('⚠️ Issue approval needed');
  });

  it('Feishu tokens are cached until shortly before expiry; Lark uses its own base', async () => {
    fake.users.set('bob@example.com', 'ou_1');
    await messenger.send(event([{ email: 'bob@example.com' }]), hook('lark'), ctx('01a203fd-0000-7000-8000-000000000010'));
    await messenger.send(event([{ email: 'bob@example.com' }]), hook('lark'), ctx('01a203fd-0000-7000-8000-000000000011'));
    expect(fake.callsTo('lark', '/auth/v3/tenant_access_token/internal')).toHaveLength(1);
    expect(fake.callsTo('lark', '/contact/v3/users/batch_get_id')).toHaveLength(1);
    expect(fake.callsTo('lark', '/im/v1/messages')).toHaveLength(2);
    expect(fake.callsTo('feishu', '/im/v1/messages')).toHaveLength(0);
  });

  it('WeCom: one send for all users; a user the API refuses falls back; expired token refreshed (errcode 42001)', async () => {
    fake.users.set('bob@example.com', 'bob');
    fake.users.set('chen@example.com', 'chen');
    fake.failingUsers.add('chen');
    fake.tokenUses = 2;
    const result = await messenger.send(event([{ email: 'bob@example.com' }, { email: 'chen@example.com' }]), hook('wecom'), ctx());
    expect(result).toMatchObject({ messaged: ['bob@example.com'], fallback: ['chen@example.com'], postToChannel: true });
    const send = fake.callsTo('wecom', '/message/send');
    expect(JSON.parse(send[send.length - 1].body)).toMatchObject({ touser: 'bob|chen', msgtype: 'markdown', agentid: 1000002 });
    expect(fake.callsTo('wecom', '/gettoken')).toHaveLength(2);
    // The refused user was released: a retry tries them again, Bob is not messaged twice.
    fake.failingUsers.clear();
    const retry = await messenger.send(event([{ email: 'bob@example.com' }, { email: 'chen@example.com' }]), hook('wecom'), ctx());
    expect(retry).toMatchObject({ messaged: ['chen@example.com'], alreadyMessaged: ['bob@example.com'], postToChannel: false });
    expect(JSON.parse(fake.callsTo('wecom', '/message/send').pop()?.body as string).touser).toBe('chen');
  });

  it('an API error during lookup falls back to the channel for everyone', async () => {
    fake.lookupError = true;
    const result = await messenger.send(event([{ email: 'bob@example.com' }]), hook('wecom'), ctx());
    expect(result).toMatchObject({ attempted: true, messaged: [], fallback: ['bob@example.com'], postToChannel: true });
    expect(fake.callsTo('wecom', '/message/send')).toHaveLength(0);
    expect(ledger.rows.size).toBe(0);
  });

  it('DingTalk: matches by mobile, carries the oapi token from the first call, sends one batch', async () => {
    fake.users.set('13800000001', 'ding-bob');
    const result = await messenger.send(
      event([
        { name: 'Bob', phone: '+86 138 0000 0001' },
        { name: 'Dee', email: 'dee@example.com' },
      ]),
      hook('dingtalk'),
      ctx(),
    );
    expect(result).toMatchObject({ messaged: ['13800000001'], fallback: ['dee@example.com'], postToChannel: true });
    expect(fake.callsTo('dingtalk-oapi', '/topapi/v2/user/getbymobile')).toHaveLength(1);
    const [batch] = fake.callsTo('dingtalk', '/v1.0/robot/oToMessages/batchSend');
    const body = JSON.parse(batch.body);
    expect(body).toMatchObject({ robotCode: 'robot1', userIds: ['ding-bob'], msgKey: 'sampleMarkdown' });
    expect(JSON.parse(body.msgParam).title).toBe('工单待审批');
  });

  it('never re-messages a user whose earlier send is unknown (claimed, not confirmed): the channel covers them', async () => {
    fake.users.set('bob@example.com', 'U1');
    await ledger.claim(ctx().deliveryId, 'slack', ['bob@example.com']);
    const result = await messenger.send(event([{ email: 'bob@example.com' }]), hook('slack'), ctx());
    expect(result).toMatchObject({ messaged: [], fallback: ['bob@example.com'], postToChannel: true });
    expect(fake.callsTo('slack', '/chat.postMessage')).toHaveLength(0);
  });

  it('does nothing unless the flag, the event type, mentions and an integration all allow it', async () => {
    const mentions = [{ email: 'bob@example.com' }];
    expect(await messenger.send(event(mentions), hook('slack', false), ctx())).toMatchObject({ attempted: false, skipped: 'disabled', postToChannel: true });
    expect(await messenger.send(event(mentions, 'bb.issue.create'), hook('slack'), ctx())).toMatchObject({ attempted: false, skipped: 'event type' });
    expect(await messenger.send(event([]), hook('slack'), ctx())).toMatchObject({ attempted: false, skipped: 'no mentions' });
    expect(await messenger.send(event(mentions), { type: 'discord', directMessage: true }, ctx())).toMatchObject({
      attempted: false,
      skipped: 'not an IM channel',
    });
    delete stored.slack;
    expect(await messenger.send(event(mentions), hook('slack'), ctx())).toMatchObject({ attempted: false, skipped: 'no integration' });
    expect(fake.calls).toHaveLength(0);
  });
  it('enters the DM time budget (an AsyncLocalStorage: a hook on every promise from then on) only for a delivery that may send DMs', async () => {
    const config = loadConfig({ HERALD_ADMIN_TOKEN: 'x'.repeat(32), HERALD_ENCRYPTION_KEY: randomBytes(32).toString('base64'), ...fake.env });
    const http = new ImHttp(config);
    const budget = jest.spyOn(http, 'withBudget');
    const plain = new DirectMessenger(http, config, box, { find: async () => null }, ledger);
    const mentions = [{ email: 'bob@example.com' }];
    await plain.send(event(mentions), hook('slack', false), ctx());
    await plain.send(event(mentions), { type: 'discord', directMessage: true }, ctx());
    await plain.send(event([]), hook('slack'), ctx());
    expect(budget).not.toHaveBeenCalled();
    expect(await plain.send(event(mentions), hook('slack'), ctx())).toMatchObject({ skipped: 'no integration' });
    expect(budget).toHaveBeenCalledTimes(1);
  });
  it('a definite refusal gives the claim back: a retry tries that user again', async () => {
    fake.users.set('bob@example.com', 'U1');
    fake.failingUsers.add('U1'); // chat.postMessage answers ok:false, cannot_dm_bot
    const first = await messenger.send(event([{ email: 'bob@example.com' }]), hook('slack'), ctx());
    expect(first).toMatchObject({ messaged: [], fallback: ['bob@example.com'], postToChannel: true });
    expect(ledger.rows.size).toBe(0);
    fake.failingUsers.clear();
    const retry = await messenger.send(event([{ email: 'bob@example.com' }]), hook('slack'), ctx());
    expect(retry).toMatchObject({ messaged: ['bob@example.com'], postToChannel: false });
    expect(fake.callsTo('slack', '/chat.postMessage')).toHaveLength(2);
  });

  it('DingTalk: more than 20 users go out in batches of at most 20, each user once', async () => {
    const mentions = Array.from({ length: 45 }, (_, i) => {
      const mobile = `1380000${String(i).padStart(4, '0')}`;
      fake.users.set(mobile, `ding-${i}`);
      return { name: `u${i}`, phone: mobile };
    });
    const result = await messenger.send(event(mentions), hook('dingtalk'), ctx());
    expect(result.messaged).toHaveLength(45);
    expect(result.postToChannel).toBe(false);
    const batches = fake.callsTo('dingtalk', '/v1.0/robot/oToMessages/batchSend').map((c) => JSON.parse(c.body).userIds as string[]);
    expect(batches.map((b) => b.length)).toEqual([20, 20, 5]);
    expect(new Set(batches.flat()).size).toBe(45);
  });

  it('Feishu: more than 50 emails are looked up in calls of at most 50', async () => {
    const mentions = Array.from({ length: 120 }, (_, i) => ({ email: `user${i}@example.com` }));
    for (let i = 0; i < 120; i += 2) fake.users.set(`user${i}@example.com`, `ou_${i}`);
    const result = await messenger.send(event(mentions), hook('feishu'), ctx());
    const lookups = fake.callsTo('feishu', '/contact/v3/users/batch_get_id').map((c) => JSON.parse(c.body).emails as string[]);
    expect(lookups.map((l) => l.length)).toEqual([FEISHU_LOOKUP_BATCH, FEISHU_LOOKUP_BATCH, 20]);
    expect(new Set(lookups.flat()).size).toBe(120);
    expect(result.messaged).toHaveLength(60);
    expect(result.fallback).toHaveLength(60);
    expect(fake.callsTo('feishu', '/im/v1/messages')).toHaveLength(60);
  });

  it('WeCom app messages keep the markdown within 2048 bytes (the group robot allows 4096)', async () => {
    fake.users.set('bob@example.com', 'bob');
    const long = { ...GOLDEN_EVENTS['long-description'], type: 'bb.issue.approval.notify' as const, mentions: [{ email: 'bob@example.com' }] };
    await messenger.send(long, hook('wecom'), ctx());
    const [send] = fake.callsTo('wecom', '/message/send');
    const content = JSON.parse(send.body).markdown.content as string;
    expect(Buffer.byteLength(content)).toBeLessThanOrEqual(2048);
    expect(Buffer.byteLength(content)).toBeGreaterThan(1900);
    expect(content).toContain('… (see View details for the full text)');
    expect(content).toMatch(/\[View details\]\(https:\/\/bytebase\.example\.com\/incidents\/5\)$/);
  });
});

/**
 * An integration's own API base (issue 15): a self-hosted platform, or a proxy. The DM goes there,
 * not to the deployment's default (HERALD_*_API_URL), through the webhooks' SSRF policy.
 */
describe("DirectMessenger on an integration's own API base", () => {
  let fallbackApi: FakeImApis;
  let own: FakeImApis;
  beforeAll(async () => {
    [fallbackApi, own] = await Promise.all([FakeImApis.start(), FakeImApis.start()]);
  });
  afterAll(() => Promise.all([fallbackApi.stop(), own.stop()]));
  beforeEach(() => {
    fallbackApi.calls.length = 0;
    own.calls.length = 0;
  });

  const CREDENTIALS: Record<string, Record<string, string | number>> = {
    slack: { token: 'xoxb-own' },
    feishu: { appId: 'cli_o', appSecret: 'o1' },
    lark: { appId: 'cli_p', appSecret: 'o2' },
    wecom: { corpId: 'wwo', agentId: 7, secret: 'o3' },
    dingtalk: { clientId: 'dingo', clientSecret: 'o4', robotCode: 'roboto' },
  };
  const messengerWith = (apiBaseUrl: (provider: string) => string | null, env: Record<string, string> = {}) => {
    const config = loadConfig({
      HERALD_ADMIN_TOKEN: 'x'.repeat(32),
      HERALD_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
      HERALD_DELIVERY_TIMEOUT_MS: '2000',
      ...fallbackApi.env,
      ...env,
    });
    const box = new SecretBox(config);
    const ledger = new MemoryLedger();
    const source = {
      find: async (p: DmProvider) =>
        CREDENTIALS[p]
          ? { credentialsEncrypted: box.encrypt(JSON.stringify(CREDENTIALS[p]), secretContext.imCredentials(p)), apiBaseUrl: apiBaseUrl(p) }
          : null,
    };
    return new DirectMessenger(new ImHttp(config), config, box, source, ledger);
  };
  const mention = { name: 'Ann', email: 'ann@example.com', phone: '13800000009' };

  it('covers every provider the registry declares', () => {
    expect([...DM_PROVIDERS].sort()).toEqual(Object.keys(CREDENTIALS).sort());
  });

  for (const provider of Object.keys(CREDENTIALS)) {
    it(`${provider}: the DM goes to the integration's base, never to the default`, async () => {
      own.users.set('ann@example.com', 'own-ann');
      own.users.set('13800000009', 'own-ann');
      const messenger = messengerWith((p) => `${own.base}/${p}`, { HERALD_ALLOW_PRIVATE_TARGETS: 'true' });
      const ev: HeraldEvent = { ...GOLDEN_EVENTS['approval-needed'], mentions: [mention] };
      const result = await messenger.send(ev, { type: provider as DmProvider, directMessage: true }, GOLDEN_CONTEXT);
      expect(result).toMatchObject({
        attempted: true,
        messaged: [provider === 'dingtalk' ? '13800000009' : 'ann@example.com'],
        fallback: [],
        postToChannel: false,
      });
      expect(own.calls.length).toBeGreaterThanOrEqual(2);
      // DingTalk's two hosts are one base here: every call, oapi paths included, went to it.
      expect(new Set(own.calls.map((c) => c.provider))).toEqual(new Set([provider]));
      expect(fallbackApi.calls).toEqual([]);
    });
  }

  it("with no base of its own, the integration uses the default, and users found on one base are not taken for another's", async () => {
    fallbackApi.users.set('ann@example.com', 'default-ann');
    own.users.clear();
    let base: string | null = null;
    const messenger = messengerWith(() => base, { HERALD_ALLOW_PRIVATE_TARGETS: 'true' });
    const ev: HeraldEvent = { ...GOLDEN_EVENTS['approval-needed'], mentions: [{ email: 'ann@example.com' }] };
    expect(
      await messenger.send(ev, { type: 'slack', directMessage: true }, { ...GOLDEN_CONTEXT, deliveryId: '01a203fd-0000-7000-8000-000000000041' }),
    ).toMatchObject({ messaged: ['ann@example.com'] });
    expect(fallbackApi.callsTo('slack', '/chat.postMessage')).toHaveLength(1);
    base = `${own.base}/slack`;
    // The default base's user id is cached, but this server has no Ann: she falls back to the channel.
    expect(
      await messenger.send(ev, { type: 'slack', directMessage: true }, { ...GOLDEN_CONTEXT, deliveryId: '01a203fd-0000-7000-8000-000000000042' }),
    ).toMatchObject({ messaged: [], fallback: ['ann@example.com'] });
    expect(own.callsTo('slack', '/users.lookupByEmail')).toHaveLength(1);
    expect(own.callsTo('slack', '/chat.postMessage')).toHaveLength(0);
  });

  it('refuses a base on a loopback address, literal or resolved, unless HERALD_ALLOW_PRIVATE_TARGETS: nothing is sent, the channel covers everyone', async () => {
    own.users.set('ann@example.com', 'own-ann');
    const port = new URL(own.base).port;
    for (const host of ['127.0.0.1', 'localhost']) {
      const messenger = messengerWith((p) => `http://${host}:${port}/${p}`);
      const result = await messenger.send(
        { ...GOLDEN_EVENTS['approval-needed'], mentions: [{ email: 'ann@example.com' }] },
        { type: 'slack', directMessage: true },
        GOLDEN_CONTEXT,
      );
      expect(result).toMatchObject({ attempted: true, messaged: [], fallback: ['ann@example.com'], postToChannel: true });
    }
    expect(own.calls).toEqual([]);
    // The deployment's own variables are operator configuration: a loopback default still works.
    fallbackApi.users.set('ann@example.com', 'default-ann');
    const byDefault = await messengerWith(() => null).send(
      { ...GOLDEN_EVENTS['approval-needed'], mentions: [{ email: 'ann@example.com' }] },
      { type: 'slack', directMessage: true },
      GOLDEN_CONTEXT,
    );
    expect(byDefault).toMatchObject({ messaged: ['ann@example.com'] });
  });
});

/** Runs `server` on a free port for the enclosing describe. */
function serveDuring(server: Server): void {
  beforeAll(async () => {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });
}

/** A DirectMessenger whose Slack API is `server` (a Slack integration stored), with an empty ledger. */
function slackMessengerOn(server: Server, timeoutMs: number): { messenger: DirectMessenger; ledger: MemoryLedger } {
  const config = loadConfig({
    HERALD_ADMIN_TOKEN: 'x'.repeat(32),
    HERALD_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
    HERALD_DELIVERY_TIMEOUT_MS: String(timeoutMs),
    HERALD_SLACK_API_URL: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
  });
  const box = new SecretBox(config);
  const stored = box.encrypt(JSON.stringify({ token: 'xoxb-test' }), secretContext.imCredentials('slack'));
  const ledger = new MemoryLedger();
  return {
    ledger,
    messenger: new DirectMessenger(
      new ImHttp(config),
      config,
      box,
      { find: async (p) => (p === 'slack' ? { credentialsEncrypted: stored, apiBaseUrl: null } : null) },
      ledger,
    ),
  };
}

/**
 * When a send gets no verdict (timeout, broken connection, 5xx) the provider may have delivered:
 * the user stays claimed, is covered by the channel post, and is never messaged again.
 */
describe('DirectMessenger when the send outcome is unknown', () => {
  let mode: 'hang' | 'reset' | '502' = 'hang';
  const posts: string[] = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const json = (body: unknown) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    if (req.url?.startsWith('/users.lookupByEmail')) return json({ ok: true, user: { id: 'U1' } });
    if (req.url?.startsWith('/conversations.open')) return json({ ok: true, channel: { id: 'D1' } });
    posts.push(mode);
    if (mode === 'reset') return req.socket.destroy();
    if (mode === '502') return res.writeHead(502, { 'content-type': 'text/html' }).end('<html>Bad Gateway</html>');
    // 'hang': never answer; the client's timeout gives up.
  });
  let messenger: DirectMessenger;
  let ledger: MemoryLedger;
  serveDuring(server);
  beforeEach(() => {
    posts.length = 0;
    ({ messenger, ledger } = slackMessengerOn(server, 300));
  });

  for (const m of ['hang', 'reset', '502'] as const) {
    it(`${m}: keeps the user claimed, falls back to the channel, and a retry does not re-send`, async () => {
      mode = m;
      const ev: HeraldEvent = { ...GOLDEN_EVENTS['approval-needed'], mentions: [{ email: 'bob@example.com' }] };
      const context = { ...GOLDEN_CONTEXT, deliveryId: `01a203fd-0000-7000-8000-0000000000${m === 'hang' ? '21' : m === 'reset' ? '22' : '23'}` };
      const first = await messenger.send(ev, { type: 'slack', directMessage: true }, context);
      expect(first).toMatchObject({ attempted: true, messaged: [], fallback: ['bob@example.com'], postToChannel: true });
      expect([...ledger.rows.values()]).toEqual(['claimed']);
      const retry = await messenger.send(ev, { type: 'slack', directMessage: true }, context);
      expect(retry).toMatchObject({ messaged: [], fallback: ['bob@example.com'], postToChannel: true });
      expect(posts).toEqual([m]);
    });
  }
});

/**
 * Every IM call of one delivery shares one budget (HERALD_DELIVERY_TIMEOUT_MS), not one timeout
 * per call: a provider answering each call just inside the timeout must not stretch the attempt.
 */
describe('DirectMessenger total budget', () => {
  const BUDGET_MS = 600;
  const CALL_MS = 250;
  const calls: string[] = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    calls.push(req.url?.split('?')[0] ?? '');
    const json = (body: unknown) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    const url = new URL(req.url ?? '/', 'http://fake');
    setTimeout(() => {
      if (url.pathname === '/users.lookupByEmail') return json({ ok: true, user: { id: `U-${url.searchParams.get('email')}` } });
      if (url.pathname === '/conversations.open') return json({ ok: true, channel: { id: 'D1' } });
      return json({ ok: true });
    }, CALL_MS);
  });
  let messenger: DirectMessenger;
  let ledger: MemoryLedger;
  serveDuring(server);
  beforeEach(() => {
    calls.length = 0;
    ({ messenger, ledger } = slackMessengerOn(server, BUDGET_MS));
  });

  it('ends the lookups of many users at the budget, each call being within its own timeout, and falls back to the channel', async () => {
    const mentions = Array.from({ length: 6 }, (_, i) => ({ email: `user${i}@example.com` }));
    const started = Date.now();
    const result = await messenger.send({ ...GOLDEN_EVENTS['approval-needed'], mentions }, { type: 'slack', directMessage: true }, GOLDEN_CONTEXT);
    expect(Date.now() - started).toBeLessThan(BUDGET_MS + 200);
    expect(result).toMatchObject({ attempted: true, messaged: [], postToChannel: true });
    expect(result.fallback).toHaveLength(6);
    expect(calls.filter((c) => c === '/chat.postMessage')).toEqual([]);
  });

  it('stops sending when the budget is spent: users not reached are released for a retry, the channel covers everyone left', async () => {
    // Two users: lookups (2 × 250 ms) leave 100 ms, less than one conversations.open + post.
    const mentions = [{ email: 'a@example.com' }, { email: 'b@example.com' }];
    const context = { ...GOLDEN_CONTEXT, deliveryId: '01a203fd-0000-7000-8000-000000000031' };
    const started = Date.now();
    const result = await messenger.send({ ...GOLDEN_EVENTS['approval-needed'], mentions }, { type: 'slack', directMessage: true }, context);
    expect(Date.now() - started).toBeLessThan(BUDGET_MS + 200);
    expect(result).toMatchObject({ messaged: [], postToChannel: true });
    expect(result.fallback.sort()).toEqual(['a@example.com', 'b@example.com']);
    expect(calls.filter((c) => c === '/chat.postMessage')).toEqual([]);
    // Nothing was sent, so nobody stays claimed: the next attempt may message them.
    expect([...ledger.rows.values()]).toEqual([]);
  });
});

describe('maskImCredentials', () => {
  it('shows identifiers, the last 4 characters of long secrets and nothing of short ones', () => {
    expect(maskImCredentials('feishu', { appId: 'cli_a1', appSecret: 'abcdefghijkl' })).toEqual({ appId: 'cli_a1', appSecret: '****ijkl' });
    expect(maskImCredentials('wecom', { corpId: 'ww1', agentId: 1000002, secret: 'short-sec11' })).toEqual({ corpId: 'ww1', agentId: 1000002, secret: '****' });
    expect(maskImCredentials('slack', { token: 'abcd' })).toEqual({ token: '****' });
    // What the adapter does not declare is treated as a secret.
    expect(maskImCredentials('slack', { token: 'xoxb-0123456789', extra: 'abcdefghijkl' })).toEqual({ token: '****6789', extra: '****ijkl' });
  });
});
