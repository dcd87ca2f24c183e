import { ValidationFailed } from '@herald/domain';
import type { ChannelAdapter, PreparedRequest } from '../channel-adapter';
import { classifyJsonCode } from '../classify';
import { checkUrlAgainstAllowList } from '../http/target-policy';
import { fitMarkdown, type MarkdownStyle } from '../render/markdown';
import { buildMessage, dingtalkMobile, type MessageView } from '../render/message';
import { dingtalkSignature, jsonRequest } from '../render/request';
import { byteLength, truncateBytes } from '../render/text';

export const DINGTALK_HOSTS = ['oapi.dingtalk.com', 'api.dingtalk.com'];
/** DingTalk refuses robot messages over 20000 bytes; the markdown keeps a margin for the JSON around it. */
const TEXT_BYTES = 18_000;

/** DingTalk's markdown subset has no escaping: user text goes in as written, as Bytebase does. */
export const DINGTALK_MARKDOWN: MarkdownStyle = {
  heading: (title) => `### ${title}`,
  fact: (name, value) => `- **${name}:** ${value}`,
  escape: (text) => text,
};

/** Mentioned users' phones as DingTalk's national numbers, de-duplicated (Bytebase left these empty). */
export function mentionedMobiles(view: MessageView): string[] {
  return [...new Set(view.mentions.map((m) => dingtalkMobile(m.phone)).filter((m): m is string => !!m))];
}

/** The DingTalk markdown text, `@mobile` tokens included (DingTalk only notifies users named in the text). */
export function dingtalkMarkdown(view: MessageView): { title: string; text: string } {
  const mobiles = mentionedMobiles(view);
  const suffix = mobiles.length ? `\n\n${mobiles.map((m) => `@${m}`).join(' ')}` : '';
  return { title: view.title, text: fitMarkdown(view, DINGTALK_MARKDOWN, TEXT_BYTES, byteLength, truncateBytes, suffix) };
}

export const dingtalkAdapter: ChannelAdapter = {
  type: 'dingtalk',
  // "Each robot may send at most 20 messages per minute" (DingTalk custom robot docs).
  defaultRateLimit: { count: 20, perSeconds: 60 },
  defaultLocale: 'zh',
  directMessages: true,

  validateSecret(secret) {
    if (!/^SEC[0-9a-f]{16,128}$/i.test(secret)) {
      throw new ValidationFailed([{ field: 'secret', message: 'a DingTalk signing secret starts with SEC followed by hex digits (robot settings → 加签)' }]);
    }
  },

  validateUrl(url, extraHosts) {
    checkUrlAgainstAllowList(url, 'dingtalk', DINGTALK_HOSTS, extraHosts);
  },

  render(event, target, context): PreparedRequest {
    const view = buildMessage(event, context.project, target.locale);
    let url = target.url;
    if (target.secret) {
      const timestamp = context.now.getTime();
      const signed = new URL(target.url);
      signed.searchParams.set('timestamp', String(timestamp));
      signed.searchParams.set('sign', dingtalkSignature(target.secret, timestamp));
      url = signed.toString();
    }
    return jsonRequest(url, {
      msgtype: 'markdown',
      markdown: dingtalkMarkdown(view),
      at: { atMobiles: mentionedMobiles(view), isAtAll: false },
    });
  },

  /**
   * SPEC §6.4: 200 with `errcode` 0. 130101 "send too fast" holds the webhook; 310000 (keyword,
   * signature or IP check failed), 300001 (unknown token) and 400013 (group dissolved) are
   * configuration problems a retry cannot fix.
   */
  classify(response) {
    return classifyJsonCode(response, {
      platform: 'dingtalk',
      codeKeys: ['errcode'],
      messageKeys: ['errmsg'],
      rateLimitCodes: [130101],
      permanentCodes: [310000, 300001, 400013],
    });
  },
};
