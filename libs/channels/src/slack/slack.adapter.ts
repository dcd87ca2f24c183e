import type { ChannelAdapter, PreparedRequest } from '../channel-adapter';
import { classifyStatus } from '../classify';
import { checkUrlAgainstAllowList } from '../http/target-policy';
import { buildMessage, titleWithEmoji, type MessageView } from '../render/message';
import { jsonRequest } from '../render/request';
import { escapeSlack, fitEscaped } from '../render/text';

export const SLACK_HOSTS = ['hooks.slack.com', 'hooks.slack-gov.com'];
/** Block Kit: a section's text holds at most 3000 characters, a button label 75. */
const SECTION_CHARS = 3000;
const BUTTON_CHARS = 75;
/** The tile's share of the second section; the description gets the rest of its 3000. */
const TILE_TITLE_CHARS = 300;
const TILE_DESCRIPTION_CHARS = 700;

const mrkdwn = (text: string) => ({ type: 'mrkdwn', text });
const fitSlack = (text: string, max = SECTION_CHARS) => fitEscaped(text, max, escapeSlack);

/**
 * Slack's attachment with Block Kit blocks (SPEC §7: section, section, context, actions): the
 * title, then the description with the tile under it, a context line of facts and a button. Used
 * by the incoming webhook and by `chat.postMessage` for direct messages.
 */
export function slackAttachments(view: MessageView) {
  const blocks: unknown[] = [];
  const title = view.link ? `*<${view.link}|${fitSlack(view.title, SECTION_CHARS - view.link.length - 10)}>*` : `*${fitSlack(view.title, SECTION_CHARS - 10)}*`;
  blocks.push({ type: 'section', text: mrkdwn(view.emoji ? `${view.emoji} ${title}` : title) });
  // The tile is reserved first (short by construction) so a long description cannot push it out.
  const tile = view.tile
    ? `*${fitSlack(view.tile.title, TILE_TITLE_CHARS)}*${view.tile.description ? `\n${fitEscaped(view.tile.description, TILE_DESCRIPTION_CHARS, escapeSlack, undefined, view.more)}` : ''}`
    : '';
  const room = SECTION_CHARS - (tile ? tile.length + 2 : 0);
  const description = view.description ? fitEscaped(view.description, room, escapeSlack, undefined, view.more) : '';
  const body = [description, tile].filter(Boolean).join('\n\n');
  if (body) blocks.push({ type: 'section', text: mrkdwn(body) });
  if (view.facts.length) {
    blocks.push({ type: 'context', elements: [mrkdwn(fitSlack(view.facts.map((f) => `*${f.name}:* ${f.value}`).join('  |  ')))] });
  }
  if (view.link) {
    blocks.push({ type: 'actions', elements: [{ type: 'button', text: { type: 'plain_text', text: view.linkLabel.slice(0, BUTTON_CHARS) }, url: view.link }] });
  }
  return [{ color: view.color, fallback: titleWithEmoji(view), blocks }];
}

export const slackAdapter: ChannelAdapter = {
  type: 'slack',
  defaultRateLimit: { count: 1, perSeconds: 1 },
  defaultLocale: 'en',
  validateSecret: null,
  directMessages: true,

  validateUrl(url, extraHosts) {
    checkUrlAgainstAllowList(url, 'slack', SLACK_HOSTS, extraHosts);
  },

  render(event, target, context): PreparedRequest {
    return jsonRequest(target.url, { attachments: slackAttachments(buildMessage(event, context.project, target.locale)) });
  },

  /** SPEC §6.4: 200 with body `ok`; Slack reports `invalid_payload`, `no_text`... as 4xx, a 200 with another body is retried. */
  classify(response) {
    const byStatus = classifyStatus(response);
    if (byStatus) return byStatus;
    if (response.statusCode === 200 && response.body.trim() === 'ok') return { kind: 'delivered' };
    return { kind: 'retryable', reason: `slack answered HTTP ${response.statusCode} with "${response.body.trim().slice(0, 100)}" instead of "ok"` };
  },
};
