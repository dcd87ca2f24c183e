import { DEFAULT_RETRY_AFTER_MS, MAX_RETRY_AFTER_MS, retryAfterMs } from './classify';

const res = (value?: string) => ({ statusCode: 429, body: '', headers: value === undefined ? {} : { 'retry-after': value } });

describe('retryAfterMs (docs/contract.md §6.3)', () => {
  it('reads seconds', () => expect(retryAfterMs(res('30'))).toBe(30_000));
  it('reads an HTTP date', () => {
    const now = Date.parse('2026-11-22T10:00:00Z');
    expect(retryAfterMs(res('Sun, 22 Nov 2026 10:02:00 GMT'), now)).toBe(120_000);
  });
  it('defaults to 60 s when absent or unreadable', () => {
    expect(retryAfterMs(res())).toBe(DEFAULT_RETRY_AFTER_MS);
    expect(retryAfterMs(res('soon'))).toBe(DEFAULT_RETRY_AFTER_MS);
  });
  it('caps at 24 h', () => expect(retryAfterMs(res(String(7 * 24 * 3600)))).toBe(MAX_RETRY_AFTER_MS));
});
