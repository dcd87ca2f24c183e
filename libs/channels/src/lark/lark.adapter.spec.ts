import { createHmac } from 'node:crypto';
import { GOLDEN_CONTEXT, GOLDEN_EVENTS, describeGolden, reply, target } from '../testing/golden';
import { larkAdapter } from './lark.adapter';

const url = 'https://open.larksuite.com/open-apis/bot/v2/hook/00000000-1111-2222-3333-555555555555';
const secret = 'larkSecret';
describeGolden(larkAdapter, __dirname, { default: target(url), signed: target(url, { secret }) });

describe('lark adapter', () => {
  it('accepts only Lark hosts', () => {
    expect(() => larkAdapter.validateUrl(url, [])).not.toThrow();
    expect(() => larkAdapter.validateUrl('https://open.feishu.cn/open-apis/bot/v2/hook/x', [])).toThrow(/host open\.feishu\.cn is not a lark webhook host/);
  });

  it('signs like Feishu', () => {
    const body = JSON.parse(larkAdapter.render(GOLDEN_EVENTS['rollout-failed'], target(url, { secret }), GOLDEN_CONTEXT).body);
    const ts = Math.floor(GOLDEN_CONTEXT.now.getTime() / 1000);
    expect(body.sign).toBe(createHmac('sha256', `${ts}\n${secret}`).digest('base64'));
  });

  it('classifies like Feishu', () => {
    expect(larkAdapter.classify(reply(200, '{"code":0}'))).toEqual({ kind: 'delivered' });
    expect(larkAdapter.classify(reply(200, '{"code":9499,"msg":"Too Many Request"}')).kind).toBe('rate_limited');
    expect(larkAdapter.classify(reply(200, '{"code":19021,"msg":"sign match fail"}')).kind).toBe('rejected');
  });
});
