import type { ChannelType } from '@herald/domain';
import type { ChannelAdapter, PreparedRequest } from '../channel-adapter';
import type { ImApiBase } from '../im/im-types';
import { classifyJsonCode } from '../classify';
import { checkUrlAgainstAllowList } from '../http/target-policy';
import { fitView } from '../render/budget';
import { assembleMarkdown, type MarkdownStyle } from '../render/markdown';
import { type MessageView, titleWithEmoji } from '../render/message';
import { buildMessage } from '../render/message';
import { feishuSignedFields, jsonRequest } from '../render/request';
import { escapeAngle, neutraliseMarkdown, truncateChars } from '../render/text';
import { FeishuImClient } from './feishu.im-client';

/**
 * "发送消息时，请求体的数据大小不能超过 20 KB" (custom bot guide); larger bodies are refused with
 * 19036 ("The message exceeds the size limit of 30KB"). Budgeted as 20 000 bytes, the card leaving
 * room for the envelope around it (msg_type, timestamp, sign).
 */
export const FEISHU_BODY_BYTES = 20_000;
const ENVELOPE_BYTES = 200;

/**
 * Card markdown reads `<`, `>` and `&` as HTML (entities show them literally) and `[text](url)` as a
 * link: user text gets both treatments.
 */
export const FEISHU_MARKDOWN: MarkdownStyle = {
  heading: () => '',
  fact: (name, value) => `**${name}:** ${value}`,
  escape: (text) => neutraliseMarkdown(escapeAngle(text)),
  titleChars: 200,
};

const HEADER_TEMPLATE = { INFO: 'blue', SUCCESS: 'green', WARN: 'orange', ERROR: 'red' } as const;

function card(view: MessageView) {
  const elements: unknown[] = [{ tag: 'markdown', content: assembleMarkdown(view, FEISHU_MARKDOWN) }];
  if (view.link) {
    elements.push({ tag: 'action', actions: [{ tag: 'button', text: { tag: 'plain_text', content: view.linkLabel }, type: 'primary', url: view.link }] });
  }
  return {
    config: { wide_screen_mode: true, enable_forward: true },
    header: { template: HEADER_TEMPLATE[view.level], title: { tag: 'plain_text', content: truncateChars(titleWithEmoji(view), 200) } },
    elements,
  };
}

/** The interactive card for bot webhooks and for `im/v1/messages` direct messages, within the 20 KB body. */
export function feishuCard(view: MessageView) {
  return card(fitView(view, (v) => Buffer.byteLength(JSON.stringify(card(v)), 'utf8'), FEISHU_BODY_BYTES - ENVELOPE_BYTES));
}

/**
 * Feishu and Lark are one platform on two hosts (Bytebase copied the package; here one factory
 * builds both adapters).
 */
export function feishuFamilyAdapter(type: Extract<ChannelType, 'feishu' | 'lark'>, hosts: readonly string[], api: ImApiBase): ChannelAdapter {
  return {
    type,
    // 5 per second and 100 per minute per bot (docs/contract.md §6.3): both windows must have room.
    defaultRateLimit: [
      { count: 5, perSeconds: 1 },
      { count: 100, perSeconds: 60 },
    ],
    defaultLocale: 'en',
    // Direct messages: a custom app with the Bot capability (tenant_access_token/internal →
    // contact/v3/users/batch_get_id → im/v1/messages), the same API on each platform's host.
    im: {
      provider: type,
      credentialFields: [
        { name: 'appId', label: 'App ID', secret: false },
        { name: 'appSecret', label: 'App secret', secret: true },
      ],
      defaultApiBaseUrl: { api },
      createClient: ({ http, bases, tokens }) => new FeishuImClient(type, http, bases.api, tokens),
    },
    // Feishu/Lark show the bot's signing secret as free text; any non-empty value is accepted.
    validateSecret: () => undefined,

    validateUrl(url, extraHosts) {
      checkUrlAgainstAllowList(url, type, hosts, extraHosts);
    },

    render(event, target, context): PreparedRequest {
      const view = buildMessage(event, context.project, target.locale, target.text);
      return jsonRequest(target.url, { ...feishuSignedFields(target.secret, context.now), msg_type: 'interactive', card: feishuCard(view) });
    },

    /**
     * docs/contract.md §6.4: 200 with `code` (or `StatusCode`) 0. 9499 and 11232 are rate limits; 19021
     * (signature or timestamp), 19022 (IP not allowed), 19024 (keyword missing) and 19001
     * (unknown bot) need the user to fix the bot's settings; 19036 (message over the size limit)
     * will not shrink on a retry.
     */
    classify(response) {
      return classifyJsonCode(response, {
        platform: type,
        codeKeys: ['code', 'StatusCode'],
        messageKeys: ['msg', 'StatusMessage'],
        rateLimitCodes: [9499, 11232],
        permanentCodes: [19001, 19021, 19022, 19024, 19036],
      });
    },
  };
}
