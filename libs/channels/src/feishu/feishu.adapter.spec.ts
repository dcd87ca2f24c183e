import { createHmac } from 'node:crypto';
import { GOLDEN_CONTEXT, GOLDEN_EVENTS, describeGolden, reply, target } from '../testing/golden';
import { feishuAdapter } from './feishu.adapter';

const url = 'https://open.feishu.cn/open-apis/bot/v2/hook/00000000-1111-2222-3333-444444444444';
const secret = 'feishuBotSecret123';
describeGolden(feishuAdapter, __dirname, { default: target(url), zh: target(url, { locale: 'zh' }), signed: target(url, { secret }) });

describe('feishu adapter', () => {
  it('signs as the Feishu docs describe: HMAC-SHA256 keyed by "timestamp\\nsecret" over empty data, base64', () => {
    const body = JSON.parse(feishuAdapter.render(GOLDEN_EVENTS['issue-created'], target(url, { secret }), GOLDEN_CONTEXT).body);
    const timestamp = Math.floor(GOLDEN_CONTEXT.now.getTime() / 1000);
    const stringToSign = `${timestamp}\n${secret}`;
    const expected = createHmac('sha256', stringToSign).update(Buffer.alloc(0)).digest('base64');
    expect(body.timestamp).toBe(String(timestamp));
    expect(body.sign).toBe(expected);
    expect(body.msg_type).toBe('interactive');
  });

  it('escapes angle brackets and ampersands in card markdown', () => {
    const body = JSON.parse(feishuAdapter.render(GOLDEN_EVENTS['special-characters'], target(url), GOLDEN_CONTEXT).body);
    expect(body.card.elements[0].content).toContain('a &lt; b &amp;&amp; c &gt; d');
  });

  describe('classify (docs/contract.md §6.4)', () => {
    it('code 0 or StatusCode 0 is delivered', () => {
      expect(feishuAdapter.classify(reply(200, '{"code":0,"data":{},"msg":"success"}'))).toEqual({ kind: 'delivered' });
      expect(feishuAdapter.classify(reply(200, '{"Extra":null,"StatusCode":0,"StatusMessage":"success"}'))).toEqual({ kind: 'delivered' });
    });
    it('9499 and 11232 hold the webhook', () => {
      expect(feishuAdapter.classify(reply(200, '{"code":9499,"msg":"too many request"}'))).toMatchObject({ kind: 'rate_limited' });
      expect(feishuAdapter.classify(reply(400, '{"code":11232,"msg":"frequency limited"}'))).toMatchObject({ kind: 'rate_limited' });
    });
    it('19021 (bad signature) is permanent', () =>
      expect(feishuAdapter.classify(reply(200, '{"code":19021,"msg":"sign match fail or timestamp is not within one hour from current time"}'))).toMatchObject({
        kind: 'rejected',
        reason: expect.stringContaining('19021'),
      }));
    it('other codes are retried', () => expect(feishuAdapter.classify(reply(200, '{"code":9999,"msg":"?"}')).kind).toBe('retryable'));
  });

  it('defaults to 5/s and 100/min at once', () =>
    expect(feishuAdapter.defaultRateLimit).toEqual([
      { count: 5, perSeconds: 1 },
      { count: 100, perSeconds: 60 },
    ]));
});
