import type { ChannelAdapter, ChannelResponse, Classification, PreparedRequest } from '../channel-adapter';
import { DEFAULT_RETRY_AFTER_MS, classifyStatus } from '../classify';
import { checkUrlAgainstAllowList, hostMatches } from '../http/target-policy';
import { buildMessage, titleWithEmoji, type MessageView } from '../render/message';
import { jsonRequest } from '../render/request';
import { truncateChars } from '../render/text';

export const TEAMS_HOSTS = ['.office.com', '.office365.com', '.logic.azure.com', '.powerplatform.com'];
const WORKFLOW_HOSTS = ['.logic.azure.com', '.powerplatform.com'];
/** Teams refuses messages over about 28 KB; the description gets a share that leaves room for the rest. */
const DESCRIPTION_CHARS = 8000;

/**
 * SPEC §6.4: a Workflows (Power Automate) URL has its host under `.logic.azure.com` or
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

/** Adaptive Card 1.4: title, description, tile, facts, a button. */
export function adaptiveCard(view: MessageView) {
  const body: unknown[] = [
    { type: 'TextBlock', text: truncateChars(titleWithEmoji(view), 500), size: 'Large', weight: 'Bolder', color: ADAPTIVE_COLOR[view.level], wrap: true },
  ];
  if (view.description) body.push({ type: 'TextBlock', text: truncateChars(view.description, DESCRIPTION_CHARS, view.more), wrap: true });
  if (view.tile) {
    body.push({ type: 'TextBlock', text: truncateChars(view.tile.title, 500), weight: 'Bolder', wrap: true, spacing: 'Medium' });
    if (view.tile.description) body.push({ type: 'TextBlock', text: view.tile.description, wrap: true, isSubtle: true });
  }
  if (view.facts.length) body.push({ type: 'FactSet', facts: view.facts.map((f) => ({ title: f.name, value: f.value })) });
  const card: Record<string, unknown> = { $schema: 'http://adaptivecards.io/schemas/adaptive-card.json', type: 'AdaptiveCard', version: '1.4', body };
  if (view.link) card.actions = [{ type: 'Action.OpenUrl', title: view.linkLabel, url: view.link }];
  return card;
}

/** The legacy connector card, for Office 365 connector URLs. */
function messageCard(view: MessageView) {
  const title = truncateChars(titleWithEmoji(view), 500);
  const section: Record<string, unknown> = {
    activityTitle: view.tile ? truncateChars(view.tile.title, 500) : '',
    activitySubtitle: view.actor ?? '',
    facts: view.facts.map((f) => ({ name: f.name, value: f.value })),
    markdown: true,
  };
  if (view.description) section.text = truncateChars(view.description, DESCRIPTION_CHARS, view.more);
  const card: Record<string, unknown> = {
    '@type': 'MessageCard',
    '@context': 'https://schema.org/extensions',
    summary: title,
    themeColor: view.color.replace('#', ''),
    title,
    sections: [section],
  };
  if (view.link) card.potentialAction = [{ '@type': 'OpenUri', name: view.linkLabel, targets: [{ os: 'default', uri: view.link }] }];
  return card;
}

export const teamsAdapter: ChannelAdapter = {
  type: 'teams',
  defaultRateLimit: { count: 4, perSeconds: 1 },
  defaultLocale: 'en',
  validateSecret: null,
  directMessages: false,

  validateUrl(url, extraHosts) {
    checkUrlAgainstAllowList(url, 'teams', TEAMS_HOSTS, extraHosts);
  },

  render(event, target, context): PreparedRequest {
    const view = buildMessage(event, context.project, target.locale);
    if (isTeamsWorkflowUrl(target.url)) {
      return jsonRequest(target.url, {
        type: 'message',
        attachments: [{ contentType: 'application/vnd.microsoft.card.adaptive', contentUrl: null, content: adaptiveCard(view) }],
      });
    }
    return jsonRequest(target.url, messageCard(view));
  },

  /**
   * SPEC §6.4: Workflows URLs succeed on any 2xx; connector URLs on 200 with body `1`. A connector
   * reports the channel's own throttling as a 200 whose text names HTTP 429.
   */
  classify(response: ChannelResponse, request?: PreparedRequest): Classification {
    const byStatus = classifyStatus(response);
    if (byStatus) return byStatus;
    const body = response.body.trim();
    const workflow = request ? isTeamsWorkflowUrl(request.url) : body !== '1' && (response.statusCode !== 200 || body === '');
    if (workflow) return { kind: 'delivered' };
    if (response.statusCode === 200 && body === '1') return { kind: 'delivered' };
    if (/\b429\b/.test(body)) return { kind: 'rate_limited', retryAfterMs: DEFAULT_RETRY_AFTER_MS, reason: `teams connector throttled: ${body.slice(0, 100)}` };
    return { kind: 'retryable', reason: `teams connector answered HTTP ${response.statusCode} with "${body.slice(0, 100)}" instead of "1"` };
  },
};
