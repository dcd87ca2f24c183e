import { randomBytes } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import type { HeraldEvent } from '@herald/domain';
import { SecretBox, secretContext, type HeraldConfig } from '@herald/platform';
import type { ChannelResponse, PreparedRequest } from '../channel-adapter';
import { TransportError, type SafeHttpClient } from '../http/safe-http-client';
import { ChannelRegistry } from '../registry';
import { ChannelSender, LOGGED_BODY_CHARS, UNDECRYPTABLE_TARGET, type StoredEndpoint } from './channel-sender';

const event: HeraldEvent = {
  id: '01a203fd-ff72-7447-ab60-7aa1ca208cae',
  projectKey: 'payments',
  type: 'bb.issue.create',
  level: 'INFO',
  title: 'Issue created',
  occurredAt: '2026-11-22T10:00:00.000Z',
  receivedAt: '2026-11-22T10:00:01.000Z',
  source: 'api',
};
const context = { deliveryId: '01a203fd-ff8c-753d-98a2-78a466645ac5', now: new Date(), project: { id: 3, key: 'payments', name: 'Payments' } };
const SECRET = `whsec_${Buffer.alloc(32, 9).toString('base64')}`;
const OLD_SECRET = `whsec_${Buffer.alloc(32, 1).toString('base64')}`;
const URL_ = 'https://receiver.example.com/hooks/tok3n-s3cret';

/** An HTTP client that answers from a script and remembers what it was asked to send (no network). */
class ScriptedHttp {
  sent: PreparedRequest[] = [];
  constructor(private readonly answer: (p: PreparedRequest) => ChannelResponse | Error) {}
  async send(prepared: PreparedRequest): Promise<ChannelResponse> {
    this.sent.push(prepared);
    const a = this.answer(prepared);
    if (a instanceof Error) throw a;
    return a;
  }
}

const ok = (body = 'ok'): ChannelResponse => ({ statusCode: 200, headers: {}, body });

describe('ChannelSender: the one send path', () => {
  const box = new SecretBox({ encryptionKeys: [randomBytes(32)] } as unknown as HeraldConfig);
  const registry = new ChannelRegistry();
  const sender = (http: ScriptedHttp, secrets: SecretBox = box) => new ChannelSender(registry, http as unknown as SafeHttpClient, secrets);
  const stored = (patch: Partial<StoredEndpoint> & { url?: string; secret?: string | null; previous?: string } = {}): StoredEndpoint => {
    const id = patch.id ?? '0190d5b0-0000-7000-8000-000000000001';
    const { url = URL_, secret = SECRET, previous, ...rest } = patch;
    return {
      id,
      type: 'custom',
      urlEncrypted: box.encrypt(url, secretContext.webhookUrl(id)),
      secretEncrypted: secret ? box.encrypt(secret, secretContext.webhookSecret(id)) : null,
      previousSecretEncrypted: previous ? box.encrypt(previous, secretContext.webhookSecret(id)) : null,
      previousSecretExpiresAt: previous ? new Date(Date.now() + 3600_000) : null,
      locale: null,
      ...rest,
    };
  };

  it('decrypts a stored target, renders it signed, sends it and lets the adapter classify the answer', async () => {
    const http = new ScriptedHttp(() => ok('thanks'));
    const result = await sender(http).send({ endpoint: stored(), event, context });
    expect(result).toMatchObject({ classification: { kind: 'delivered' }, statusCode: 200, responseBody: 'thanks' });
    expect(result.durationMs).toBeGreaterThanOrEqual(0);
    const [request] = http.sent;
    expect(request.url).toBe(URL_);
    expect(() => new Webhook(SECRET).verify(request.body, request.headers)).not.toThrow();
    expect(request.headers['webhook-id']).toBe(context.deliveryId);
  });

  it('signs with both secrets while a rotation keeps the previous one valid, and with one after it expired', async () => {
    const http = new ScriptedHttp(() => ok());
    await sender(http).send({ endpoint: stored({ previous: OLD_SECRET }), event, context });
    expect(http.sent[0].headers['webhook-signature'].split(' ')).toHaveLength(2);
    await sender(http).send({ endpoint: { ...stored({ previous: OLD_SECRET }), previousSecretExpiresAt: new Date(Date.now() - 1) }, event, context });
    expect(http.sent[1].headers['webhook-signature'].split(' ')).toHaveLength(1);
  });

  it("renders in the webhook's language, or its channel's default", async () => {
    const http = new ScriptedHttp(() => ({ statusCode: 200, headers: {}, body: '{"errcode":0}' }));
    const s = sender(http);
    const dingtalk = { type: 'dingtalk' as const, url: 'https://oapi.dingtalk.com/robot/send?access_token=abc', secret: null };
    await s.send({ endpoint: dingtalk, event, context });
    await s.send({ endpoint: { ...dingtalk, locale: 'en' }, event, context });
    expect(http.sent[0].body).toContain('创建'); // DingTalk defaults to Chinese titles
    expect(http.sent[1].body).not.toContain('创建');
  });

  it('maps transport errors: retryable ones to retryable, a refused target to rejected', async () => {
    const retry = await sender(new ScriptedHttp(() => new TransportError('receiver.example.com did not answer within 10 s', true))).send({
      endpoint: stored(),
      event,
      context,
    });
    expect(retry.classification).toEqual({ kind: 'retryable', reason: 'receiver.example.com did not answer within 10 s' });
    expect(retry.statusCode).toBeNull();
    const refused = await sender(new ScriptedHttp(() => new TransportError('target 10.0.0.1 is not allowed', false))).send({
      endpoint: stored(),
      event,
      context,
    });
    expect(refused.classification.kind).toBe('rejected');
  });

  it('rejects a stored target that does not decrypt, without sending, and says how to fix it', async () => {
    const http = new ScriptedHttp(() => ok());
    const otherKey = new SecretBox({ encryptionKeys: [randomBytes(32)] } as unknown as HeraldConfig);
    const result = await sender(http, otherKey).send({ endpoint: stored(), event, context });
    expect(result.classification).toEqual({ kind: 'rejected', reason: UNDECRYPTABLE_TARGET });
    expect(result.classification.kind === 'rejected' && result.classification.reason).toContain('HERALD_ENCRYPTION_KEY changed');
    expect(http.sent).toHaveLength(0);
  });

  it('turns an internal error into a retryable outcome that names the host, never the URL', async () => {
    const http = new ScriptedHttp((p) => new Error(`socket exploded while posting ${p.url}`));
    const result = await sender(http).send({ endpoint: stored(), event, context });
    expect(result.classification).toEqual({
      kind: 'retryable',
      reason: 'internal error rendering or sending: socket exploded while posting receiver.example.com',
    });
  });

  it('keeps the URL and the secrets out of reasons and response excerpts, and cuts the excerpt at 1 KiB', async () => {
    const echo = `you sent to ${URL_} signed with ${SECRET}; ` + 'x'.repeat(3000);
    const http = new ScriptedHttp(() => ({ statusCode: 400, headers: {}, body: echo }));
    const result = await sender(http).send({ endpoint: stored(), event, context });
    expect(result.classification.kind).toBe('rejected');
    const texts = JSON.stringify(result);
    expect(texts).not.toContain('tok3n-s3cret');
    expect(texts).not.toContain(SECRET);
    expect(result.responseBody).toMatch(/^you sent to receiver\.example\.com signed with <secret>; x+$/);
    expect(result.responseBody).toHaveLength(LOGGED_BODY_CHARS);
  });

  it('checks the allow-list first when asked (a test send), and sends nothing to a host it refuses', async () => {
    const http = new ScriptedHttp(() => ok());
    const slack = { type: 'slack' as const, url: 'https://example.org/services/T/B/tok3n', secret: null };
    const refused = await sender(http).send({ endpoint: slack, event, context, allowListExtraHosts: [] });
    expect(refused.classification.kind).toBe('rejected');
    expect(JSON.stringify(refused)).toContain('example.org');
    expect(JSON.stringify(refused)).not.toContain('tok3n');
    expect(http.sent).toHaveLength(0);
    const allowed = await sender(http).send({ endpoint: slack, event, context, allowListExtraHosts: ['example.org'] });
    expect(allowed.classification.kind).toBe('delivered');
  });

  it('tells the caller the host just before the request goes out', async () => {
    const hosts: string[] = [];
    const http = new ScriptedHttp(() => {
      expect(hosts).toEqual(['receiver.example.com']);
      return ok();
    });
    await sender(http).send({ endpoint: stored(), event, context, onSend: (h) => hosts.push(h) });
    expect(hosts).toEqual(['receiver.example.com']);
  });

  it("uses the webhook's template for a single message, and a given body (a digest) untemplated", async () => {
    const slack = stored({ type: 'slack', url: 'https://hooks.slack.com/services/T/B/X', secret: null, template: 'TEMPLATED {{ title }}' });
    const http = new ScriptedHttp(() => ok());
    const single = await sender(http).send({ endpoint: slack, event, context });
    expect(http.sent[0].body).toContain('TEMPLATED Issue created');
    expect(single.templateError).toBeNull();
    const digestBody: PreparedRequest = { method: 'POST', url: '', headers: { 'content-type': 'application/json' }, body: '{"text":"digest"}' };
    const digest = await sender(http).send({
      endpoint: { ...slack, template: '{% broken' },
      event,
      context,
      render: (target) => ({ ...digestBody, url: target.url }),
    });
    expect(http.sent[1]).toMatchObject({ url: 'https://hooks.slack.com/services/T/B/X', body: '{"text":"digest"}' });
    expect(digest).toMatchObject({ classification: { kind: 'delivered' }, templateError: null });
  });

  it('decrypts each stored value once (cached by place and ciphertext)', async () => {
    const http = new ScriptedHttp(() => ok());
    let decrypts = 0;
    const counting = Object.assign(Object.create(box), {
      decrypt: (...args: Parameters<SecretBox['decrypt']>) => (decrypts++, box.decrypt(...args)),
    }) as SecretBox;
    const s = sender(http, counting);
    const endpoint = stored();
    for (let i = 0; i < 3; i++) await s.send({ endpoint, event, context });
    expect(decrypts).toBe(2); // URL and secret
    // The same ciphertext on another webhook is another place: it misses, and does not open.
    const copied = { ...endpoint, id: '0190d5b0-0000-7000-8000-000000000002' };
    expect((await s.send({ endpoint: copied, event, context })).classification.kind).toBe('rejected');
  });
});
