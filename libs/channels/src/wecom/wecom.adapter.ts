import type { EventLevel } from '@herald/domain';
import type { ChannelAdapter, PreparedRequest } from '../channel-adapter';
import { classifyJsonCode } from '../classify';
import { checkUrlAgainstAllowList } from '../http/target-policy';
import { fitMarkdown, type MarkdownStyle } from '../render/markdown';
import { buildMessage, type MessageView } from '../render/message';
import { jsonRequest } from '../render/request';
import { byteLength, truncateBytes } from '../render/text';

export const WECOM_HOSTS = ['qyapi.weixin.qq.com'];
/** A group robot's markdown `content` holds at most 4096 bytes of UTF-8. */
export const WECOM_MARKDOWN_BYTES = 4096;
/** An app message's (`message/send`, direct messages) markdown holds at most 2048 bytes. */
export const WECOM_APP_MARKDOWN_BYTES = 2048;

/** WeCom's documented markdown colours are `info` (green), `comment` (grey) and `warning` (orange). */
const FONT: Record<EventLevel, string | null> = { INFO: null, SUCCESS: 'info', WARN: 'warning', ERROR: 'warning' };

function style(level: EventLevel): MarkdownStyle {
  return {
    heading: (title) => (FONT[level] ? `### <font color="${FONT[level]}">${title}</font>` : `### ${title}`),
    fact: (name, value) => `**${name}:** ${value}`,
    escape: (text) => text,
  };
}

/** WeCom markdown cut to `maxBytes`: 4096 for the group robot, 2048 for app direct messages. */
export function wecomMarkdown(view: MessageView, maxBytes = WECOM_MARKDOWN_BYTES): string {
  return fitMarkdown(view, style(view.level), maxBytes, byteLength, truncateBytes);
}

export const wecomAdapter: ChannelAdapter = {
  type: 'wecom',
  // "Each robot may send at most 20 messages per minute" (WeCom group robot docs).
  defaultRateLimit: { count: 20, perSeconds: 60 },
  defaultLocale: 'en',
  validateSecret: null,
  directMessages: true,

  validateUrl(url, extraHosts) {
    checkUrlAgainstAllowList(url, 'wecom', WECOM_HOSTS, extraHosts);
  },

  render(event, target, context): PreparedRequest {
    return jsonRequest(target.url, { msgtype: 'markdown', markdown: { content: wecomMarkdown(buildMessage(event, context.project, target.locale)) } });
  },

  /**
   * SPEC §6.4: 200 with `errcode` 0. 45009 is the frequency limit; 93000 (invalid robot key),
   * 93004 (robot disabled), 40008 (bad message type) and 45002 (content too long) are permanent.
   */
  classify(response) {
    return classifyJsonCode(response, {
      platform: 'wecom',
      codeKeys: ['errcode'],
      messageKeys: ['errmsg'],
      rateLimitCodes: [45009],
      permanentCodes: [93000, 93004, 40008, 45002],
    });
  },
};
