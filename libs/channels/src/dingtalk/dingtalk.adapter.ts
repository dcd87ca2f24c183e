import { ValidationFailed } from '@herald/domain';
import type { ChannelAdapter, PreparedRequest } from '../channel-adapter';
import { classifyJsonCode } from '../classify';
import { checkUrlAgainstAllowList } from '../http/target-policy';
import { fitView } from '../render/budget';
import { assembleMarkdown, type MarkdownStyle } from '../render/markdown';
import { buildMessage, dingtalkMobile, type MessageView } from '../render/message';
import { dingtalkSignedUrl, jsonRequest } from '../render/request';
import { neutraliseMarkdown, truncateChars } from '../render/text';
import { DingtalkImClient } from './dingtalk.im-client';

export const DINGTALK_HOSTS = ['oapi.dingtalk.com', 'api.dingtalk.com'];
/**
 * DingTalk refuses a robot message whose body is over 20 000 bytes with errcode 460101 ("body 大小
 * 不合法 … 请保持大小在 20000bytes 以内"); the whole serialized body is budgeted against it.
 */
export const DINGTALK_BODY_BYTES = 20_000;
/** `robot/oToMessages/batchSend`: msgParam (the JSON of {title, text}) holds at most 15 000 bytes. */
export const DINGTALK_DM_PARAM_BYTES = 15_000;
/** The markdown `title` shows in the conversation list and the notification; the heading repeats it. */
const TITLE_CHARS = 256;

/** DingTalk's markdown subset has no escaping: links, tags and mentions in user text are broken up instead. */
export const DINGTALK_MARKDOWN: MarkdownStyle = {
  heading: (title) => `### ${title}`,
  fact: (name, value) => `- **${name}:** ${value}`,
  escape: neutraliseMarkdown,
  titleChars: TITLE_CHARS,
};

const mobilesOf = new WeakMap<MessageView['mentions'], string[]>();

/** Mentioned users' phones as DingTalk's national numbers, de-duplicated (Bytebase left these empty). */
export function mentionedMobiles(view: MessageView): string[] {
  // Fitting the body builds it a few times from views that share one mentions list.
  let mobiles = mobilesOf.get(view.mentions);
  if (!mobiles) mobilesOf.set(view.mentions, (mobiles = [...new Set(view.mentions.map((m) => dingtalkMobile(m.phone)).filter((m): m is string => !!m))]));
  return mobiles;
}

function markdownOf(view: MessageView): { title: string; text: string } {
  const mobiles = mentionedMobiles(view);
  // DingTalk only notifies users named in the text as well as in atMobiles: the tokens go last and are never cut.
  const suffix = mobiles.length ? `\n\n${mobiles.map((m) => `@${m}`).join(' ')}` : '';
  return { title: neutraliseMarkdown(truncateChars(view.title, TITLE_CHARS)), text: assembleMarkdown(view, DINGTALK_MARKDOWN, suffix) };
}

function webhookBody(view: MessageView) {
  return { msgtype: 'markdown', markdown: markdownOf(view), at: { atMobiles: mentionedMobiles(view), isAtAll: false } };
}

const bodyBytes = (view: MessageView) => Buffer.byteLength(JSON.stringify(webhookBody(view)), 'utf8');

/**
 * The DingTalk markdown `{title, text}`, `@mobile` tokens included, with the webhook body it goes
 * in at most `maxBytes` (the direct-message client passes its smaller limit).
 */
export function dingtalkMarkdown(view: MessageView, maxBytes = DINGTALK_BODY_BYTES): { title: string; text: string } {
  return markdownOf(fitView(view, bodyBytes, maxBytes));
}

/**
 * 300001 unknown token; 310000 keyword, signature, timestamp or IP check failed; 400013 group
 * dissolved; 400101 access_token does not exist; 400102 robot disabled; 400105 unsupported
 * message type; 400106 robot not in the group; 430101–430104 unsafe link, text, image or
 * content; 460101 body over 20 000 bytes.
 */
export const DINGTALK_PERMANENT_CODES = [300001, 310000, 400013, 400101, 400102, 400105, 400106, 430101, 430102, 430103, 430104, 460101];

export const dingtalkAdapter: ChannelAdapter = {
  type: 'dingtalk',
  // "Each robot may send at most 20 messages per minute" (DingTalk custom robot docs).
  defaultRateLimit: { count: 20, perSeconds: 60 },
  defaultLocale: 'zh',
  // Direct messages: an internal app with the Robot capability, on two hosts — the new API (tokens,
  // robot sends) and the old one (user lookup by mobile); an integration's own apiBaseUrl serves both.
  im: {
    provider: 'dingtalk',
    credentialFields: [
      { name: 'clientId', label: 'Client ID (AppKey)', secret: false },
      { name: 'clientSecret', label: 'Client secret', secret: true },
      { name: 'robotCode', label: 'Robot code', secret: false },
    ],
    defaultApiBaseUrl: {
      api: { env: 'HERALD_DINGTALK_API_URL', url: 'https://api.dingtalk.com' },
      oapi: { env: 'HERALD_DINGTALK_OAPI_URL', url: 'https://oapi.dingtalk.com' },
    },
    createClient: ({ http, bases, tokens }) => new DingtalkImClient(http, bases.api, bases.oapi, tokens),
  },

  validateSecret(secret) {
    if (!/^SEC[0-9a-f]{16,128}$/i.test(secret)) {
      throw new ValidationFailed([{ field: 'secret', message: 'a DingTalk signing secret starts with SEC followed by hex digits (robot settings → 加签)' }]);
    }
  },

  validateUrl(url, extraHosts) {
    checkUrlAgainstAllowList(url, 'dingtalk', DINGTALK_HOSTS, extraHosts);
  },

  render(event, target, context): PreparedRequest {
    const view = buildMessage(event, context.project, target.locale, target.text);
    return jsonRequest(dingtalkSignedUrl(target.url, target.secret, context.now), webhookBody(fitView(view, bodyBytes, DINGTALK_BODY_BYTES)));
  },

  /**
   * docs/contract.md §6.4: 200 with `errcode` 0. 130101 and 410100 ("send too fast") hold the webhook; the
   * codes of DINGTALK_PERMANENT_CODES say the request or the robot's settings are wrong, which a
   * retry cannot fix (sources in docs/channels.md).
   */
  classify(response) {
    return classifyJsonCode(response, {
      platform: 'dingtalk',
      codeKeys: ['errcode'],
      messageKeys: ['errmsg'],
      rateLimitCodes: [130101, 410100],
      permanentCodes: DINGTALK_PERMANENT_CODES,
    });
  },
};
