import type { ChannelType } from '@herald/domain';
import type { ChannelTarget, PreparedRequest, RenderContext } from '../channel-adapter';
import { DINGTALK_BODY_BYTES } from '../dingtalk/dingtalk.adapter';
import { DISCORD_LIMITS } from '../discord/discord.adapter';
import { FEISHU_BODY_BYTES } from '../feishu/feishu-family';
import { GOOGLECHAT_BODY_BYTES } from '../googlechat/googlechat.adapter';
import { colorInt } from '../render/message';
import { dingtalkSignedUrl, feishuSignedFields, jsonRequest } from '../render/request';
import { escapeAngle, escapeHtml, escapeMarkdown, escapeSlackMrkdwn, fitEscaped, neutraliseMarkdown, truncateBytes, truncateChars } from '../render/text';
import { SLACK_LIMITS } from '../slack/slack.adapter';
import { TEAMS_CONNECTOR_BYTES, TEAMS_WORKFLOW_BYTES, isTeamsWorkflowUrl, messageCard } from '../teams/teams.adapter';
import { WECOM_MARKDOWN_BYTES } from '../wecom/wecom.adapter';
import { digestTitle, fittingCount, itemText, moreLine, type DigestItem, type DigestView } from './digest-view';

/**
 * A digest (issue 16) as each chat platform's own message, within the same limits the adapters
 * keep (docs/channels.md, "Limits"): a title and a summary line counting every delivery carried,
 * then one line per delivery linking to it, as many as the platform's budget holds, and "… and K
 * more" for the rest. User text is escaped or neutralised as in the adapters' messages. Pure: the
 * same view, target and context give the same request.
 */

const bytesOf = (body: unknown) => Buffer.byteLength(JSON.stringify(body), 'utf8');
/** Square brackets would end a Markdown link's label early: they become their full-width look-alikes. */
const bracketFree = (text: string) => text.replace(/\[/g, '［').replace(/\]/g, '］');
/** A Markdown link, or the label alone without a link. */
const mdLink = (label: string, link: string | null) => (link ? `[${label}](${link})` : label);
/**
 * The item's link unless it is longer than `max` characters: links run up to 3 000 characters
 * (Slack's button limit), and on the smaller budgets one such link would crowd out every other
 * item; its line then shows without a link rather than not at all.
 */
const linkWithin = (item: DigestItem, max: number) => (item.link && item.link.length <= max ? item.link : null);

// --- Slack: an attachment with Block Kit blocks (≤ 50 blocks, section and context text ≤ 3000) ---

export type SlackDigestText = { type: 'plain_text'; text: string } | { type: 'mrkdwn'; text: string };
export type SlackDigestBlock = { type: 'section'; text: SlackDigestText } | { type: 'context'; elements: SlackDigestText[] };

function slackLine(item: DigestItem): string {
  const label = fitEscaped(itemText(item), 1000, escapeSlackMrkdwn);
  // The link is percent-encoded (safeLink): neither `|` nor `>` can end it early.
  const linked = item.link ? `• <${item.link}|${label}>` : '';
  return linked && linked.length <= SLACK_LIMITS.sectionText ? linked : `• ${label}`;
}

function slackBlocks(view: DigestView, shown: number): SlackDigestBlock[] {
  const blocks: SlackDigestBlock[] = [
    { type: 'section', text: { type: 'mrkdwn', text: `*${fitEscaped(digestTitle(view), 1500, escapeSlackMrkdwn)}*` } },
    { type: 'context', elements: [{ type: 'plain_text', text: truncateChars(view.summary, SLACK_LIMITS.sectionText) }] },
  ];
  let section = '';
  const flush = () => {
    if (section) blocks.push({ type: 'section', text: { type: 'mrkdwn', text: section } });
    section = '';
  };
  for (const item of view.items.slice(0, shown)) {
    const line = slackLine(item);
    if (section && section.length + 1 + line.length > SLACK_LIMITS.sectionText) flush();
    section = section ? `${section}\n${line}` : line;
  }
  flush();
  const hidden = view.items.length - shown;
  if (hidden > 0) blocks.push({ type: 'context', elements: [{ type: 'plain_text', text: moreLine(view.locale, hidden) }] });
  return blocks;
}

export function slackDigest(view: DigestView) {
  const shown = fittingCount(view.items.length, (n) => slackBlocks(view, n).length <= SLACK_LIMITS.blocks);
  return {
    attachments: [
      { color: view.color, fallback: truncateChars(`${digestTitle(view)}: ${view.summary}`, SLACK_LIMITS.sectionText), blocks: slackBlocks(view, shown) },
    ],
  };
}

// --- Discord: one embed (title 256, description 4096, 6000 in all) ---

function discordDescription(view: DigestView, shown: number): string {
  const lines = view.items.slice(0, shown).map((item) => `• ${mdLink(fitEscaped(itemText(item), 400, escapeMarkdown), linkWithin(item, 2000))}`);
  const hidden = view.items.length - shown;
  if (hidden > 0) lines.push(escapeMarkdown(moreLine(view.locale, hidden)));
  return [fitEscaped(view.summary, 500, escapeMarkdown), lines.join('\n')].filter(Boolean).join('\n\n');
}

export function discordDigest(view: DigestView) {
  const L = DISCORD_LIMITS;
  const title = truncateChars(digestTitle(view), L.title);
  const fits = (n: number) => {
    const description = discordDescription(view, n);
    return description.length <= L.description && title.length + description.length <= L.total;
  };
  return { embeds: [{ title, description: discordDescription(view, fittingCount(view.items.length, fits)), color: colorInt(view.color) }] };
}

// --- Teams: an Adaptive Card 1.4 (Workflows, 28 000 bytes) or a MessageCard (connectors, 20 000) ---

const ADAPTIVE_COLOR = { INFO: 'Accent', SUCCESS: 'Good', WARN: 'Warning', ERROR: 'Attention' } as const;

function adaptiveDigest(view: DigestView, shown: number) {
  // User text in TextRuns (shown as written); a linked item opens its link when selected.
  const body: unknown[] = [
    {
      type: 'RichTextBlock',
      inlines: [{ type: 'TextRun', text: truncateChars(digestTitle(view), 500), size: 'Large', weight: 'Bolder', color: ADAPTIVE_COLOR[view.level] }],
    },
    { type: 'RichTextBlock', inlines: [{ type: 'TextRun', text: truncateChars(view.summary, 2000), isSubtle: true }] },
  ];
  for (const item of view.items.slice(0, shown)) {
    const run: Record<string, unknown> = { type: 'TextRun', text: `• ${truncateChars(itemText(item), 300)}` };
    if (item.link) Object.assign(run, { color: 'Accent', selectAction: { type: 'Action.OpenUrl', url: item.link } });
    body.push({ type: 'RichTextBlock', inlines: [run], spacing: 'None' });
  }
  const hidden = view.items.length - shown;
  if (hidden > 0) body.push({ type: 'RichTextBlock', inlines: [{ type: 'TextRun', text: moreLine(view.locale, hidden), isSubtle: true }], spacing: 'Medium' });
  const card = { $schema: 'http://adaptivecards.io/schemas/adaptive-card.json', type: 'AdaptiveCard', version: '1.4', body };
  return { type: 'message', attachments: [{ contentType: 'application/vnd.microsoft.card.adaptive', contentUrl: null, content: card }] };
}

function connectorDigest(view: DigestView, shown: number) {
  // Every MessageCard field is read as Markdown: user text is neutralised, brackets made harmless.
  const title = neutraliseMarkdown(truncateChars(digestTitle(view), 500));
  const lines = view.items.slice(0, shown).map((item) => `- ${mdLink(neutraliseMarkdown(bracketFree(truncateChars(itemText(item), 300))), item.link)}`);
  const hidden = view.items.length - shown;
  if (hidden > 0) lines.push(neutraliseMarkdown(moreLine(view.locale, hidden)));
  const section: Record<string, unknown> = { markdown: true, text: neutraliseMarkdown(truncateChars(view.summary, 2000)) };
  return messageCard(title, view.color, lines.length ? [section, { markdown: true, text: lines.join('\n') }] : [section]);
}

export function teamsDigest(view: DigestView, url: string) {
  const [build, max] = isTeamsWorkflowUrl(url) ? [adaptiveDigest, TEAMS_WORKFLOW_BYTES] : [connectorDigest, TEAMS_CONNECTOR_BYTES];
  return build(
    view,
    fittingCount(view.items.length, (n) => bytesOf(build(view, n)) <= max),
  );
}

// --- DingTalk, Feishu/Lark, WeCom: Markdown within the platform's bytes ---

interface MarkdownDigestStyle {
  heading(view: DigestView): string;
  /** Makes user text show as text (see neutraliseMarkdown). */
  escape(text: string): string;
  bullet: string;
  /** Cuts raw text before escaping: characters for most, UTF-8 bytes where the platform counts bytes of one field (WeCom). */
  cut(text: string, max: number): string;
  summaryMax: number;
  itemMax: number;
  linkMax: number;
}

function markdownDigest(view: DigestView, shown: number, style: MarkdownDigestStyle): string {
  const lines = view.items
    .slice(0, shown)
    .map((item) => `${style.bullet}${mdLink(style.escape(bracketFree(style.cut(itemText(item), style.itemMax))), linkWithin(item, style.linkMax))}`);
  const hidden = view.items.length - shown;
  if (hidden > 0) lines.push(style.escape(moreLine(view.locale, hidden)));
  return [style.heading(view), style.escape(style.cut(view.summary, style.summaryMax)), lines.join('\n')].filter(Boolean).join('\n\n');
}

const DINGTALK_STYLE: MarkdownDigestStyle = {
  heading: (v) => `### ${neutraliseMarkdown(truncateChars(digestTitle(v), 256))}`,
  escape: neutraliseMarkdown,
  bullet: '- ',
  cut: truncateChars,
  summaryMax: 1000,
  itemMax: 300,
  linkMax: 3000,
};
const FEISHU_STYLE: MarkdownDigestStyle = { ...DINGTALK_STYLE, heading: () => '', escape: (text) => neutraliseMarkdown(escapeAngle(text)) };
const WECOM_FONT = { INFO: null, SUCCESS: 'info', WARN: 'warning', ERROR: 'warning' } as const;
const WECOM_STYLE: MarkdownDigestStyle = {
  heading: (v) => {
    const title = neutraliseMarkdown(truncateBytes(digestTitle(v), 256));
    return WECOM_FONT[v.level] ? `### <font color="${WECOM_FONT[v.level]}">${title}</font>` : `### ${title}`;
  },
  escape: neutraliseMarkdown,
  // WeCom's markdown documents no lists: one item per line.
  bullet: '• ',
  // 4 096 bytes for the whole content: the parts are cut in bytes, so one item always fits.
  cut: truncateBytes,
  summaryMax: 600,
  itemMax: 400,
  linkMax: 1000,
};

export function dingtalkDigest(view: DigestView) {
  const body = (n: number) => ({
    msgtype: 'markdown',
    markdown: { title: neutraliseMarkdown(truncateChars(view.title, 256)), text: markdownDigest(view, n, DINGTALK_STYLE) },
    // A digest mentions nobody: it is not a direct-message event's message.
    at: { atMobiles: [] as string[], isAtAll: false },
  });
  return body(fittingCount(view.items.length, (n) => bytesOf(body(n)) <= DINGTALK_BODY_BYTES));
}

const FEISHU_TEMPLATE = { INFO: 'blue', SUCCESS: 'green', WARN: 'orange', ERROR: 'red' } as const;
/** Room for the envelope around the card (msg_type, timestamp, sign), as the adapter leaves. */
const FEISHU_ENVELOPE_BYTES = 200;

export function feishuDigestCard(view: DigestView) {
  const card = (n: number) => ({
    config: { wide_screen_mode: true, enable_forward: true },
    header: { template: FEISHU_TEMPLATE[view.level], title: { tag: 'plain_text', content: truncateChars(digestTitle(view), 200) } },
    elements: [{ tag: 'markdown', content: markdownDigest(view, n, FEISHU_STYLE) }],
  });
  return card(fittingCount(view.items.length, (n) => bytesOf(card(n)) <= FEISHU_BODY_BYTES - FEISHU_ENVELOPE_BYTES));
}

export function wecomDigest(view: DigestView) {
  const content = (n: number) => markdownDigest(view, n, WECOM_STYLE);
  return {
    msgtype: 'markdown',
    markdown: { content: content(fittingCount(view.items.length, (n) => Buffer.byteLength(content(n), 'utf8') <= WECOM_MARKDOWN_BYTES)) },
  };
}

// --- Google Chat: a cardsV2 card within 32 000 bytes ---

function googlechatCardOf(view: DigestView, shown: number) {
  // Header texts are plain; a paragraph is a small HTML subset, so user text there is escaped.
  const lines = view.items.slice(0, shown).map((item) => {
    const text = escapeHtml(truncateChars(itemText(item), 300));
    return item.link ? `• <a href="${escapeHtml(item.link)}">${text}</a>` : `• ${text}`;
  });
  const hidden = view.items.length - shown;
  if (hidden > 0) lines.push(escapeHtml(moreLine(view.locale, hidden)));
  return {
    header: { title: truncateChars(digestTitle(view), 200), subtitle: truncateChars(view.summary, 200) },
    ...(lines.length ? { sections: [{ widgets: [{ textParagraph: { text: lines.join('<br>') } }] }] } : {}),
  };
}

export function googlechatDigest(view: DigestView) {
  const body = (n: number) => ({ cardsV2: [{ cardId: 'herald-digest', card: googlechatCardOf(view, n) }] });
  return body(fittingCount(view.items.length, (n) => bytesOf(body(n)) <= GOOGLECHAT_BODY_BYTES));
}

/**
 * The digest's request for a chat webhook, signed as its adapter signs (DingTalk in the query,
 * Feishu and Lark in the body). Custom webhooks never get digests (docs/contract.md §10).
 */
export function renderDigest(type: ChannelType, view: DigestView, target: ChannelTarget, context: RenderContext): PreparedRequest {
  switch (type) {
    case 'slack':
      return jsonRequest(target.url, slackDigest(view));
    case 'discord':
      return jsonRequest(target.url, discordDigest(view));
    case 'teams':
      return jsonRequest(target.url, teamsDigest(view, target.url));
    case 'dingtalk':
      return jsonRequest(dingtalkSignedUrl(target.url, target.secret, context.now), dingtalkDigest(view));
    case 'feishu':
    case 'lark':
      return jsonRequest(target.url, { ...feishuSignedFields(target.secret, context.now), msg_type: 'interactive', card: feishuDigestCard(view) });
    case 'wecom':
      return jsonRequest(target.url, wecomDigest(view));
    case 'googlechat':
      return jsonRequest(target.url, googlechatDigest(view), 'application/json; charset=UTF-8');
    case 'custom':
      throw new Error('custom webhooks never get digests: their receivers expect one signed event per request');
  }
}
