import type { EventLevel } from '@herald/domain';
import type { ChannelAdapter, PreparedRequest } from '../channel-adapter';
import { classifyJsonCode } from '../classify';
import { checkUrlAgainstAllowList } from '../http/target-policy';
import { fitView } from '../render/budget';
import { assembleMarkdown, type MarkdownStyle } from '../render/markdown';
import { buildMessage, type MessageView } from '../render/message';
import { jsonRequest } from '../render/request';
import { byteLength, neutraliseMarkdown } from '../render/text';
import { WecomImClient } from './wecom.im-client';

export const WECOM_HOSTS = ['qyapi.weixin.qq.com'];
/** A group robot's markdown `content` holds at most 4096 bytes of UTF-8. */
export const WECOM_MARKDOWN_BYTES = 4096;
/** An app message's (`message/send`, direct messages) markdown holds at most 2048 bytes. */
export const WECOM_APP_MARKDOWN_BYTES = 2048;

/** WeCom's documented markdown colours are `info` (green), `comment` (grey) and `warning` (orange). */
const FONT: Record<EventLevel, string | null> = { INFO: null, SUCCESS: 'info', WARN: 'warning', ERROR: 'warning' };

/**
 * WeCom's markdown has no escaping, and reads `<@userid>` as a mention and `<font>` as colour in any
 * text: user text is broken up where those start (see neutraliseMarkdown).
 */
function style(level: EventLevel): MarkdownStyle {
  return {
    heading: (title) => (FONT[level] ? `### <font color="${FONT[level]}">${title}</font>` : `### ${title}`),
    fact: (name, value) => `**${name}:** ${value}`,
    escape: neutraliseMarkdown,
    titleChars: 256,
  };
}

/** WeCom markdown within `maxBytes` of UTF-8: 4096 for the group robot, 2048 for app direct messages. */
export function wecomMarkdown(view: MessageView, maxBytes = WECOM_MARKDOWN_BYTES): string {
  const content = (v: MessageView) => assembleMarkdown(v, style(v.level));
  return content(fitView(view, (v) => byteLength(content(v)), maxBytes));
}

/**
 * Codes that say the request or the robot is wrong (sources in docs/channels.md): 40008 invalid
 * message type, 40033 invalid characters (a \uXXXX escape), 40035 and 40058 invalid parameter
 * (40058: "markdown.content exceed max length 4096"), 44004 empty content, 45002 content too long,
 * 93000 invalid webhook URL or robot removed from the group, 93004 robot disabled.
 */
export const WECOM_PERMANENT_CODES = [40008, 40033, 40035, 40058, 44004, 45002, 93000, 93004];

export const wecomAdapter: ChannelAdapter = {
  type: 'wecom',
  // "Each robot may send at most 20 messages per minute" (WeCom group robot docs).
  defaultRateLimit: { count: 20, perSeconds: 60 },
  defaultLocale: 'en',
  validateSecret: null,
  // Direct messages: a self-built app (gettoken → user/get_userid_by_email → message/send).
  im: {
    provider: 'wecom',
    credentialFields: [
      { name: 'corpId', label: 'Corp ID', secret: false },
      { name: 'agentId', label: 'Agent ID', secret: false, type: 'integer', invalid: 'agentId must be the WeCom app AgentId, a positive integer' },
      { name: 'secret', label: 'App secret', secret: true },
    ],
    defaultApiBaseUrl: { api: { env: 'HERALD_WECOM_API_URL', url: 'https://qyapi.weixin.qq.com/cgi-bin' } },
    createClient: ({ http, bases, tokens }) => new WecomImClient(http, bases.api, tokens),
  },

  validateUrl(url, extraHosts) {
    checkUrlAgainstAllowList(url, 'wecom', WECOM_HOSTS, extraHosts);
  },

  render(event, target, context): PreparedRequest {
    return jsonRequest(target.url, {
      msgtype: 'markdown',
      markdown: { content: wecomMarkdown(buildMessage(event, context.project, target.locale, target.text)) },
    });
  },

  /** docs/contract.md §6.4: 200 with `errcode` 0. 45009 is the frequency limit; WECOM_PERMANENT_CODES are permanent. */
  classify(response) {
    return classifyJsonCode(response, {
      platform: 'wecom',
      codeKeys: ['errcode'],
      messageKeys: ['errmsg'],
      rateLimitCodes: [45009],
      permanentCodes: WECOM_PERMANENT_CODES,
    });
  },
};
