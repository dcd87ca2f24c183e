import { dingtalkAdapter } from './dingtalk/dingtalk.adapter';
import { feishuAdapter } from './feishu/feishu.adapter';
import { larkAdapter } from './lark/lark.adapter';
import { teamsAdapter } from './teams/teams.adapter';
import { reply } from './testing/golden';
import { wecomAdapter } from './wecom/wecom.adapter';

/**
 * Issue 11 item 2: codes that say the request itself is wrong end the delivery at once (docs/contract.md §6.2)
 * instead of being retried until attempts run out. docs/channels.md lists each with its source.
 */
describe('issue 11 item 2: documented permanent error codes are rejected, not retried', () => {
  const json = (key: string, code: number, msg: string) => JSON.stringify({ [key]: code, [key === 'code' ? 'msg' : 'errmsg']: msg });

  it.each([
    [460101, 'description: body 大小不合法;solution:请保持大小在 20000bytes 以内;'],
    [300001, 'token is not exist'],
    [310000, 'sign not match'],
    [400013, '群已被解散'],
    [400101, 'access_token不存在'],
    [400102, '机器人已停用'],
    [400105, '不支持的消息类型'],
    [400106, '机器人不存在'],
    [430101, '含有不安全的外链'],
    [430102, '含有不合适的文本'],
    [430103, '含有不合适的图片'],
    [430104, '含有不合适的内容'],
  ])('DingTalk %i', (code, msg) => {
    expect(dingtalkAdapter.classify(reply(200, json('errcode', code, msg)))).toEqual({ kind: 'rejected', reason: `dingtalk answered code ${code}: ${msg}` });
  });

  it('DingTalk 410100 ("send too fast") holds the webhook like 130101', () => {
    expect(dingtalkAdapter.classify(reply(200, json('errcode', 410100, '发送速度太快而限流')))).toMatchObject({ kind: 'rate_limited' });
  });

  it.each([
    [19036, 'The message exceeds the size limit of 30KB'],
    [19001, 'param invalid: incoming webhook access token invalid'],
    [19021, 'sign match fail or timestamp is not within one hour from current time'],
    [19022, 'Ip Not Allowed'],
    [19024, 'Key Words Not Found'],
  ])('Feishu and Lark %i', (code, msg) => {
    for (const adapter of [feishuAdapter, larkAdapter]) {
      expect(adapter.classify(reply(200, json('code', code, msg)))).toEqual({ kind: 'rejected', reason: `${adapter.type} answered code ${code}: ${msg}` });
    }
  });

  it.each([
    [40058, 'markdown.content exceed max length 4096. invalid Request Parameter'],
    [40033, 'invalid charset. please check your request, if include \\uxxxx will create fail!'],
    [40035, 'invalid parameter'],
    [44004, 'empty content'],
    [40008, 'invalid message type'],
    [45002, 'content size out of limit'],
    [93000, 'invalid webhook url'],
    [93004, 'webhook robot is disabled'],
  ])('WeCom %i', (code, msg) => {
    expect(wecomAdapter.classify(reply(200, json('errcode', code, msg)))).toEqual({ kind: 'rejected', reason: `wecom answered code ${code}: ${msg}` });
  });

  it('Teams connector: a 200 naming HTTP 413 (message too large) or a missing summary is rejected', () => {
    const connector = { url: 'https://contoso.webhook.office.com/webhookb2/a/IncomingWebhook/b/c', method: 'POST' as const, headers: {}, body: '' };
    expect(
      teamsAdapter.classify(
        reply(200, 'Webhook message delivery failed with error: Microsoft Teams endpoint returned HTTP error 413 with ContextId tcid=0'),
        connector,
      ),
    ).toMatchObject({ kind: 'rejected' });
    expect(teamsAdapter.classify(reply(200, 'Summary or Text is required.'), connector)).toMatchObject({ kind: 'rejected' });
    expect(
      teamsAdapter.classify(
        reply(200, 'Webhook message delivery failed with error: Microsoft Teams endpoint returned HTTP error 429 with ContextId'),
        connector,
      ),
    ).toMatchObject({ kind: 'rate_limited' });
    expect(
      teamsAdapter.classify(reply(200, 'Webhook message delivery failed with error: Microsoft Teams endpoint returned HTTP error 502'), connector).kind,
    ).toBe('retryable');
  });

  it('a code outside the lists is still retried, and a 5xx with a permanent code too', () => {
    expect(dingtalkAdapter.classify(reply(200, json('errcode', -1, '系统繁忙'))).kind).toBe('retryable');
    expect(wecomAdapter.classify(reply(502, json('errcode', 40058, 'x'))).kind).toBe('retryable');
  });
});
