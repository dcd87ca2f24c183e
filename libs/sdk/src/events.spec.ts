import { createHeraldClient } from './client';
import { HeraldApiError, retryAfter } from './errors';
import { postEvent } from './events';

/** A fetch that answers from a script and records what it was sent. */
function scripted(...answers: Array<{ status: number; body: unknown; headers?: Record<string, string> }>) {
  const sent: Array<{ url: string; headers: Headers; body: string }> = [];
  const fetch = (async (input: Request) => {
    sent.push({ url: input.url, headers: input.headers, body: await input.text() });
    const a = answers.shift() ?? { status: 500, body: { message: 'script exhausted' } };
    return new Response(JSON.stringify(a.body), { status: a.status, headers: { 'content-type': 'application/json', ...a.headers } });
  }) as unknown as typeof globalThis.fetch;
  return { fetch, sent };
}

describe('postEvent', () => {
  it('retries a 503 after Retry-After with the same Idempotency-Key, and returns the accepted event', async () => {
    const { fetch, sent } = scripted(
      { status: 503, body: { statusCode: 503, message: 'the database is unavailable; retry later' }, headers: { 'retry-after': '3' } },
      { status: 429, body: { statusCode: 429, message: 'slow down' } },
      { status: 202, body: { id: 'e1', type: 'deployment.create', duplicate: false } },
    );
    const slept: number[] = [];
    const client = createHeraldClient({ baseUrl: 'http://herald.test/', token: 'hk_key', fetch });
    const accepted = await postEvent(
      client,
      'payments',
      { type: 'deployment.create' },
      { idempotencyKey: 'run-981', sleep: async (ms) => void slept.push(ms) },
    );
    expect(accepted).toEqual({ id: 'e1', type: 'deployment.create', duplicate: false });
    expect(sent.map((s) => s.url)).toEqual(Array(3).fill('http://herald.test/v1/projects/payments/events'));
    expect(sent.map((s) => s.headers.get('idempotency-key'))).toEqual(['run-981', 'run-981', 'run-981']);
    expect(sent.every((s) => s.headers.get('authorization') === 'Bearer hk_key')).toBe(true);
    // Retry-After when given (3 s), else doubling from 1 s (second try → 2 s).
    expect(slept).toEqual([3000, 2000]);
  });

  it('throws other errors at once, with the fields a 400 names', async () => {
    const { fetch, sent } = scripted({
      status: 400,
      body: { statusCode: 400, message: 'link: must be an absolute http(s) URL', details: [{ field: 'link', message: 'must be an absolute http(s) URL' }] },
    });
    const client = createHeraldClient({ baseUrl: 'http://herald.test', token: () => 'adm', fetch });
    const error = await postEvent(client, 'p', { type: 'bb.issue.create', link: 'nope' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HeraldApiError);
    expect((error as HeraldApiError).status).toBe(400);
    expect((error as HeraldApiError).forField('link')).toEqual(['must be an absolute http(s) URL']);
    expect(sent).toHaveLength(1);
  });

  it('gives up after maxAttempts', async () => {
    const { fetch, sent } = scripted({ status: 503, body: {} }, { status: 503, body: {} });
    const client = createHeraldClient({ baseUrl: 'http://herald.test', token: 't', fetch });
    await expect(postEvent(client, 'p', { type: 'bb.issue.create' }, { maxAttempts: 2, sleep: async () => undefined })).rejects.toMatchObject({ status: 503 });
    expect(sent).toHaveLength(2);
  });
});

describe('retryAfter', () => {
  it('reads seconds or an HTTP date', () => {
    expect(retryAfter('7')).toBe(7);
    expect(retryAfter('Wed, 01 May 2024 12:00:10 GMT', Date.parse('2024-05-01T12:00:00Z'))).toBe(10);
    expect(retryAfter('soon')).toBeNull();
    expect(retryAfter(null)).toBeNull();
  });
});
