import { BROKEN_CHARACTER, GOLDEN_CONTEXT, GOLDEN_EVENTS, describeGolden, reply, target } from '../testing/golden';
import { WECOM_MARKDOWN_BYTES, wecomAdapter } from './wecom.adapter';

const url = 'https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=693a91f6-7xxx-4bc4-97a0-0ec2sifa5aaa';
describeGolden(wecomAdapter, __dirname, { default: target(url), zh: target(url, { locale: 'zh' }) });

describe('wecom adapter', () => {
  it('keeps markdown within 4096 bytes with multi-byte text, cut on a character boundary with an ellipsis', () => {
    for (const locale of ['en', 'zh'] as const) {
      const content: string = JSON.parse(wecomAdapter.render(GOLDEN_EVENTS['long-description'], target(url, { locale }), GOLDEN_CONTEXT).body).markdown.content;
      expect(Buffer.byteLength(content, 'utf8')).toBeLessThanOrEqual(WECOM_MARKDOWN_BYTES);
      expect(Buffer.byteLength(content, 'utf8')).toBeGreaterThan(WECOM_MARKDOWN_BYTES - 64);
      expect(content).toContain('…');
      expect(content).not.toMatch(BROKEN_CHARACTER);
      expect(content).not.toContain('\uFFFD');
      // The facts and link survive the cut: only the description is shortened.
      expect(content).toContain(
        '[View details](https://bytebase.example.com/incidents/5)'.replace('View details', locale === 'zh' ? '查看详情' : 'View details'),
      );
    }
  });

  describe('classify (docs/contract.md §6.4)', () => {
    it('errcode 0 is delivered', () => expect(wecomAdapter.classify(reply(200, '{"errcode":0,"errmsg":"ok"}'))).toEqual({ kind: 'delivered' }));
    it('45009 holds the webhook', () =>
      expect(wecomAdapter.classify(reply(200, '{"errcode":45009,"errmsg":"api freq out of limit"}'))).toMatchObject({
        kind: 'rate_limited',
        retryAfterMs: 60_000,
      }));
    it('93000 (invalid robot key) is permanent', () =>
      expect(wecomAdapter.classify(reply(200, '{"errcode":93000,"errmsg":"invalid webhook url"}')).kind).toBe('rejected'));
    it('other codes retry', () => expect(wecomAdapter.classify(reply(200, '{"errcode":-1,"errmsg":"system busy"}')).kind).toBe('retryable'));
  });
});
