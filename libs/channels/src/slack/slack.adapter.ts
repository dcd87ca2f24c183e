import type { ChannelAdapter, PreparedRequest } from '../channel-adapter';
import { classifyStatus } from '../classify';
import { checkUrlAgainstAllowList } from '../http/target-policy';
import { buildMessage, titleWithEmoji, type MessageView } from '../render/message';
import { jsonRequest } from '../render/request';
import { escapeSlackMrkdwn, fitEscaped, truncateChars } from '../render/text';
import { SlackImClient } from './slack.im-client';

export const SLACK_HOSTS = ['hooks.slack.com', 'hooks.slack-gov.com'];
/**
 * Block Kit limits (https://api.slack.com/reference/block-kit/blocks): a section's text and a
 * context element's text hold 3000 characters, a button's label 75 and its URL 3000.
 */
export const SLACK_LIMITS = { sectionText: 3000, buttonText: 75, buttonUrl: 3000, contextElements: 10, blocks: 50 } as const;
/** The tile's share of the second section; the description gets the rest of its 3000. */
const TILE_TITLE_CHARS = 300;
const TILE_DESCRIPTION_CHARS = 700;
/** The linked title in mrkdwn: escaping can grow it, so it is budgeted after escaping. */
const TITLE_CHARS = 1500;

export type SlackText = { type: 'plain_text'; text: string } | { type: 'mrkdwn'; text: string };
export type SlackBlock =
  | { type: 'section'; text: SlackText }
  | { type: 'context'; elements: SlackText[] }
  | { type: 'actions'; elements: Array<{ type: 'button'; text: { type: 'plain_text'; text: string }; url: string }> };
export interface SlackAttachment {
  color: string;
  fallback: string;
  blocks: SlackBlock[];
}

const plain = (text: string): SlackText => ({ type: 'plain_text', text });

/**
 * Slack's attachment with Block Kit blocks (docs/contract.md §7.2: section, section, context, actions): the
 * title, then the description with the tile under it, a context line of facts and a button. Used
 * by the incoming webhook and by `chat.postMessage` for direct messages.
 *
 * User text goes in plain_text, which Slack shows as written: mrkdwn cannot escape `*`, `_`, `~`
 * or backticks, and reads `<!channel>` and `<@U123>` as mentions. Only the title needs mrkdwn (bold,
 * and the link), and there escapeSlackMrkdwn neutralises it.
 */
export function slackAttachments(view: MessageView): SlackAttachment[] {
  const blocks: SlackBlock[] = [];
  const title = fitEscaped(view.title, TITLE_CHARS, escapeSlackMrkdwn);
  // The link is percent-encoded (safeLink), so neither `|` nor `>` can end it early.
  const linked = view.link && view.link.length + title.length + 8 <= SLACK_LIMITS.sectionText ? `*<${view.link}|${title}>*` : `*${title}*`;
  blocks.push({ type: 'section', text: { type: 'mrkdwn', text: view.emoji ? `${view.emoji} ${linked}` : linked } });
  // The tile is reserved first (short by construction) so a long description cannot push it out.
  const tile = view.tile
    ? `${truncateChars(view.tile.title, TILE_TITLE_CHARS)}${view.tile.description ? `\n${truncateChars(view.tile.description, TILE_DESCRIPTION_CHARS, view.more)}` : ''}`
    : '';
  const room = SLACK_LIMITS.sectionText - (tile ? tile.length + 2 : 0);
  const description = view.description ? truncateChars(view.description, room, view.more) : '';
  const body = [description, tile].filter(Boolean).join('\n\n');
  if (body) blocks.push({ type: 'section', text: plain(body) });
  if (view.facts.length) {
    blocks.push({ type: 'context', elements: [plain(truncateChars(view.facts.map((f) => `${f.name}: ${f.value}`).join('  |  '), SLACK_LIMITS.sectionText))] });
  }
  if (view.link) {
    blocks.push({
      type: 'actions',
      elements: [{ type: 'button', text: { type: 'plain_text', text: truncateChars(view.linkLabel, SLACK_LIMITS.buttonText) }, url: view.link }],
    });
  }
  return [{ color: view.color, fallback: titleWithEmoji(view), blocks }];
}

export const slackAdapter: ChannelAdapter = {
  type: 'slack',
  defaultRateLimit: { count: 1, perSeconds: 1 },
  defaultLocale: 'en',
  validateSecret: null,
  // Direct messages: a Slack app's bot user (users.lookupByEmail → conversations.open → chat.postMessage).
  im: {
    provider: 'slack',
    credentialFields: [
      {
        name: 'token',
        label: 'Bot token (xoxb-…)',
        secret: true,
        check: (v) => (v.startsWith('xoxb-') ? null : 'token must be the Bot User OAuth Token (xoxb-...)'),
      },
    ],
    defaultApiBaseUrl: { api: { env: 'HERALD_SLACK_API_URL', url: 'https://slack.com/api' } },
    createClient: ({ http, bases }) => new SlackImClient(http, bases.api),
  },

  validateUrl(url, extraHosts) {
    checkUrlAgainstAllowList(url, 'slack', SLACK_HOSTS, extraHosts);
  },

  render(event, target, context): PreparedRequest {
    return jsonRequest(target.url, { attachments: slackAttachments(buildMessage(event, context.project, target.locale, target.text)) });
  },

  /** docs/contract.md §6.4: 200 with body `ok`; Slack reports `invalid_payload`, `no_text`... as 4xx, a 200 with another body is retried. */
  classify(response) {
    const byStatus = classifyStatus(response);
    if (byStatus) return byStatus;
    if (response.statusCode === 200 && response.body.trim() === 'ok') return { kind: 'delivered' };
    return { kind: 'retryable', reason: `slack answered HTTP ${response.statusCode} with "${response.body.trim().slice(0, 100)}" instead of "ok"` };
  },
};
