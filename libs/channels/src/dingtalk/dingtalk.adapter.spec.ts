import { createHmac } from 'node:crypto';
import { GOLDEN_CONTEXT, GOLDEN_EVENTS, describeGolden, reply, target } from '../testing/golden';
import { dingtalkAdapter } from './dingtalk.adapter';

const url = 'https://oapi.dingtalk.com/robot/send?access_token=0123456789abcdef';
const secret = 'SEC0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcd';
describeGolden(dingtalkAdapter, __dirname, {
  default: target(url, { locale: 'zh' }),
  en: target(url, { locale: 'en' }),
  signed: target(url, { locale: 'zh', secret }),
});

describe('dingtalk adapter', () => {
  it('writes Chinese titles by default and English on request', () => {
    expect(dingtalkAdapter.defaultLocale).toBe('zh');
    const zh = JSON.parse(dingtalkAdapter.render(GOLDEN_EVENTS['rollout-failed'], target(url, { locale: 'zh' }), GOLDEN_CONTEXT).body);
    expect(zh.markdown.title).toBe('发布失败');
    expect(zh.markdown.text).toMatch(/^### ❗ 发布失败/);
    const en = JSON.parse(dingtalkAdapter.render(GOLDEN_EVENTS['rollout-failed'], target(url, { locale: 'en' }), GOLDEN_CONTEXT).body);
    expect(en.markdown.title).toBe('Rollout failed');
  });

  it("fills at.atMobiles from the mentioned users' phones and names them in the text (Bytebase left it empty)", () => {
    const body = JSON.parse(dingtalkAdapter.render(GOLDEN_EVENTS['approval-needed'], target(url, { locale: 'zh' }), GOLDEN_CONTEXT).body);
    expect(body.at).toEqual({ atMobiles: ['13800000001', '13800000002'], isAtAll: false });
    expect(body.markdown.text).toMatch(/@13800000001 @13800000002$/);
  });

  it('signs as the DingTalk docs describe: timestamp (ms) and URL-encoded base64 HMAC-SHA256 of "timestamp\\nsecret"', () => {
    const request = dingtalkAdapter.render(GOLDEN_EVENTS['issue-created'], target(url, { secret, locale: 'zh' }), GOLDEN_CONTEXT);
    const timestamp = GOLDEN_CONTEXT.now.getTime();
    const hmac = createHmac('sha256', Buffer.from(secret, 'utf8'));
    hmac.update(Buffer.from(`${timestamp}\n${secret}`, 'utf8'));
    const expected = encodeURIComponent(hmac.digest('base64'));
    expect(request.url).toBe(`${url}&timestamp=${timestamp}&sign=${expected}`);
  });

  it('keeps the access token and sends no signature without a secret', () => {
    expect(dingtalkAdapter.render(GOLDEN_EVENTS['issue-created'], target(url), GOLDEN_CONTEXT).url).toBe(url);
  });

  describe('classify (docs/contract.md §6.4)', () => {
    it('errcode 0 is delivered', () => expect(dingtalkAdapter.classify(reply(200, '{"errcode":0,"errmsg":"ok"}'))).toEqual({ kind: 'delivered' }));
    it('130101 holds the webhook', () =>
      expect(dingtalkAdapter.classify(reply(200, '{"errcode":130101,"errmsg":"send too fast, exceed 20 times per minute"}'))).toMatchObject({
        kind: 'rate_limited',
        retryAfterMs: 60_000,
      }));
    it('310000 is a permanent configuration error', () =>
      expect(dingtalkAdapter.classify(reply(200, '{"errcode":310000,"errmsg":"keywords not in content"}'))).toEqual({
        kind: 'rejected',
        reason: 'dingtalk answered code 310000: keywords not in content',
      }));
    it('another code is retried, a non-JSON 200 too', () => {
      expect(dingtalkAdapter.classify(reply(200, '{"errcode":-1,"errmsg":"系统繁忙"}')).kind).toBe('retryable');
      expect(dingtalkAdapter.classify(reply(200, '<html>')).kind).toBe('retryable');
    });
  });

  it('defaults to 20 per minute', () => expect(dingtalkAdapter.defaultRateLimit).toEqual({ count: 20, perSeconds: 60 }));
});
