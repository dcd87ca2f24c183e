import type { ChannelAdapter, ChannelResponse, Classification, PreparedRequest } from '../channel-adapter';
import { DEFAULT_RETRY_AFTER_MS, classifyStatus } from '../classify';
import { checkUrlAgainstAllowList, hostMatches } from '../http/target-policy';
import { fitView } from '../render/budget';
import { buildMessage, titleWithEmoji, type MessageView } from '../render/message';
import { jsonRequest } from '../render/request';
import { neutraliseMarkdown, truncateChars } from '../render/text';

export const TEAMS_HOSTS = ['.office.com', '.office365.com', '.logic.azure.com', '.powerplatform.com'];
const WORKFLOW_HOSTS = ['.logic.azure.com', '.powerplatform.com'];
/**
 * "The message size limit is 28 KB" (Teams incoming webhooks). Connector URLs were measured to
 * refuse bodies from about 21 KB (HTTP 413 inside a 200), so MessageCards get 20 000 bytes.
 */
export const TEAMS_WORKFLOW_BYTES = 28_000;
export const TEAMS_CONNECTOR_BYTES = 20_000;
/** The description's share before the byte budget applies. */
const DESCRIPTION_CHARS = 8000;
const TITLE_CHARS = 500;

/**
 * docs/contract.md §6.4: a Workflows (Power Automate) URL has its host under `.logic.azure.com` or
 * `.powerplatform.com`, or `/workflows/` or `/powerautomate/` in its path; any other Teams URL is
 * an Office 365 connector URL.
 */
export function isTeamsWorkflowUrl(raw: string): boolean {
  try {
    const url = new URL(raw);
    return hostMatches(url.hostname, WORKFLOW_HOSTS) || /\/(workflows|powerautomate)\//i.test(url.pathname);
  } catch {
    return false;
  }
}

const ADAPTIVE_COLOR = { INFO: 'Accent', SUCCESS: 'Good', WARN: 'Warning', ERROR: 'Attention' } as const;

type TextRun = {
  type: 'TextRun';
  text: string;
  size?: 'Large';
  weight?: 'Bolder';
  color?: (typeof ADAPTIVE_COLOR)[keyof typeof ADAPTIVE_COLOR];
  isSubtle?: boolean;
};
export type AdaptiveElement =
  { type: 'RichTextBlock'; inlines: TextRun[]; spacing?: 'Medium' } | { type: 'FactSet'; facts: Array<{ title: string; value: string }> };
export interface AdaptiveCardBody {
  $schema: string;
  type: 'AdaptiveCard';
  version: '1.4';
  body: AdaptiveElement[];
  actions?: Array<{ type: 'Action.OpenUrl'; title: string; url: string }>;
}

/** A block of plain text: a TextRun does not read Markdown, a TextBlock would (Adaptive Cards schema). */
const richText = (run: Omit<TextRun, 'type'>, spacing?: 'Medium'): AdaptiveElement => ({
  type: 'RichTextBlock',
  inlines: [{ type: 'TextRun', ...run }],
  ...(spacing ? { spacing } : {}),
});

/**
 * Adaptive Card 1.4: title, description, tile, facts, a button. User text is in TextRuns (shown as
 * written); facts stay a FactSet, whose values Teams reads as Markdown, so they are neutralised.
 */
export function adaptiveCard(view: MessageView): AdaptiveCardBody {
  const body: AdaptiveElement[] = [
    richText({ text: truncateChars(titleWithEmoji(view), TITLE_CHARS), size: 'Large', weight: 'Bolder', color: ADAPTIVE_COLOR[view.level] }),
  ];
  if (view.description) body.push(richText({ text: truncateChars(view.description, DESCRIPTION_CHARS, view.more) }));
  if (view.tile) {
    body.push(richText({ text: truncateChars(view.tile.title, TITLE_CHARS), weight: 'Bolder' }, 'Medium'));
    if (view.tile.description) body.push(richText({ text: view.tile.description, isSubtle: true }));
  }
  if (view.facts.length)
    body.push({ type: 'FactSet', facts: view.facts.map((f) => ({ title: neutraliseMarkdown(f.name), value: neutraliseMarkdown(f.value) })) });
  const card: AdaptiveCardBody = { $schema: 'http://adaptivecards.io/schemas/adaptive-card.json', type: 'AdaptiveCard', version: '1.4', body };
  if (view.link) card.actions = [{ type: 'Action.OpenUrl', title: view.linkLabel, url: view.link }];
  return card;
}

function workflowBody(view: MessageView) {
  return { type: 'message', attachments: [{ contentType: 'application/vnd.microsoft.card.adaptive', contentUrl: null, content: adaptiveCard(view) }] };
}

/**
 * The legacy connector card, for Office 365 connector URLs. Every text field of it is read as
 * Markdown and some HTML ("be sure to escape Markdown special characters"), so user text is
 * neutralised throughout. The summary is required ("Summary or Text is required.").
 */
function connectorCard(view: MessageView) {
  const title = neutraliseMarkdown(truncateChars(titleWithEmoji(view), TITLE_CHARS));
  const section: Record<string, unknown> = {
    activityTitle: view.tile ? neutraliseMarkdown(truncateChars(view.tile.title, TITLE_CHARS)) : '',
    activitySubtitle: neutraliseMarkdown(view.actor ?? ''),
    facts: view.facts.map((f) => ({ name: neutraliseMarkdown(f.name), value: neutraliseMarkdown(f.value) })),
    markdown: true,
  };
  if (view.description) section.text = neutraliseMarkdown(truncateChars(view.description, DESCRIPTION_CHARS, view.more));
  const card = messageCard(title, view.color, [section]);
  if (view.link) card.potentialAction = [{ '@type': 'OpenUri', name: view.linkLabel, targets: [{ os: 'default', uri: view.link }] }];
  return card;
}

const sizeOf = (body: unknown) => Buffer.byteLength(JSON.stringify(body), 'utf8');

export const teamsAdapter: ChannelAdapter = {
  type: 'teams',
  defaultRateLimit: { count: 4, perSeconds: 1 },
  defaultLocale: 'en',
  validateSecret: null,

  validateUrl(url, extraHosts) {
    checkUrlAgainstAllowList(url, 'teams', TEAMS_HOSTS, extraHosts);
  },

  render(event, target, context): PreparedRequest {
    const view = buildMessage(event, context.project, target.locale, target.text);
    if (isTeamsWorkflowUrl(target.url)) return jsonRequest(target.url, workflowBody(fitView(view, (v) => sizeOf(workflowBody(v)), TEAMS_WORKFLOW_BYTES)));
    return jsonRequest(target.url, connectorCard(fitView(view, (v) => sizeOf(connectorCard(v)), TEAMS_CONNECTOR_BYTES)));
  },

  /**
   * docs/contract.md §6.4: Workflows URLs succeed on any 2xx; connector URLs on 200 with body `1`. A connector
   * reports Teams' own answer inside a 200: one naming HTTP 429 is throttling; HTTP 413 (too large)
   * and "Summary or Text is required." say the message itself is wrong, which a retry cannot fix.
   */
  classify(response: ChannelResponse, request?: PreparedRequest): Classification {
    const byStatus = classifyStatus(response);
    if (byStatus) return byStatus;
    const body = response.body.trim();
    const workflow = request ? isTeamsWorkflowUrl(request.url) : body !== '1' && (response.statusCode !== 200 || body === '');
    if (workflow) return { kind: 'delivered' };
    if (response.statusCode === 200 && body === '1') return { kind: 'delivered' };
    if (/\b429\b/.test(body)) return { kind: 'rate_limited', retryAfterMs: DEFAULT_RETRY_AFTER_MS, reason: `teams connector throttled: ${body.slice(0, 100)}` };
    if (/HTTP error 413\b|Summary or Text is required/i.test(body))
      return { kind: 'rejected', reason: `teams connector refused the message: ${body.slice(0, 200)}` };
    return { kind: 'retryable', reason: `teams connector answered HTTP ${response.statusCode} with "${body.slice(0, 100)}" instead of "1"` };
  },
};

/** A connector's MessageCard: its title (also the notification summary), the colour bar, the sections. */
export function messageCard(title: string, color: string, sections: Array<Record<string, unknown>>): Record<string, unknown> {
  return { '@type': 'MessageCard', '@context': 'https://schema.org/extensions', summary: title, themeColor: color.replace('#', ''), title, sections };
}
