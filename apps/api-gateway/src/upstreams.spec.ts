import { Upstreams, failedBeforeSending } from './upstreams';

describe('Upstreams: the ingestion processes a gateway forwards to', () => {
  it('starts each request with the next one in turn', () => {
    const u = new Upstreams(['a', 'b', 'c']);
    expect([u.order(), u.order(), u.order(), u.order()]).toEqual([
      ['a', 'b', 'c'],
      ['b', 'c', 'a'],
      ['c', 'a', 'b'],
      ['a', 'b', 'c'],
    ]);
  });

  it('tries one that refused a connection last for a while, and first again once it answers', () => {
    let now = 1000;
    const u = new Upstreams(['a', 'b'], 2000, () => now);
    expect(u.refused('a')).toBe(true);
    expect(u.refused('a')).toBe(false);
    expect([u.order(), u.order()]).toEqual([
      ['b', 'a'],
      ['b', 'a'],
    ]);
    now += 2001;
    expect(u.order()).toEqual(['a', 'b']);
    u.refused('b');
    expect(u.order()).toEqual(['a', 'b']);
    u.answered('b');
    expect([u.order(), u.order()]).toEqual([
      ['a', 'b'],
      ['b', 'a'],
    ]);
  });

  it('still tries every one when all refused lately', () => {
    const u = new Upstreams(['a', 'b']);
    u.refused('a');
    u.refused('b');
    expect(u.order().sort()).toEqual(['a', 'b']);
  });
});

describe('failedBeforeSending', () => {
  const err = (code: string) => Object.assign(new Error(code), { code });

  it('knows the connect-phase failures, also as the cause of a wrapping error', () => {
    expect(failedBeforeSending(err('ECONNREFUSED'))).toBe(true);
    expect(failedBeforeSending(new Error('Internal Server Error', { cause: err('ECONNREFUSED') }))).toBe(true);
    expect(failedBeforeSending(new Error('x', { cause: err('UND_ERR_CONNECT_TIMEOUT') }))).toBe(true);
  });

  it('does not count a failure after the request may have been sent', () => {
    expect(failedBeforeSending(err('ECONNRESET'))).toBe(false);
    expect(failedBeforeSending(new Error('x', { cause: err('UND_ERR_SOCKET') }))).toBe(false);
    expect(failedBeforeSending(new Error('x', { cause: err('UND_ERR_HEADERS_TIMEOUT') }))).toBe(false);
    expect(failedBeforeSending(undefined)).toBe(false);
  });
});
