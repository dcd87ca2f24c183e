import { ValidationFailed } from '@herald/domain';
import type { ChannelAdapter, PreparedRequest } from '../channel-adapter';
import { classifyStatus } from '../classify';
import { checkUrlAgainstAllowList, hostMatches } from '../http/target-policy';
import { buildMessage, titleWithEmoji } from '../render/message';
import { jsonRequest } from '../render/request';
import { escapeHtml, fitEscaped } from '../render/text';

export const GOOGLECHAT_HOSTS = ['chat.googleapis.com'];
/** A message is at most 32 000 bytes; the description gets a share that leaves room for the rest. */
const DESCRIPTION_CHARS = 4000;
const SPACE_PATH = /^\/v1\/spaces\/[^/]+\/messages$/;

export const googlechatAdapter: ChannelAdapter = {
  type: 'googlechat',
  // "1 message per second per space" (Google Chat usage limits).
  defaultRateLimit: { count: 1, perSeconds: 1 },
  defaultLocale: 'en',
  validateSecret: null,
  directMessages: false,

  /**
   * SPEC §6.6: https only, path `/v1/spaces/{id}/messages`, query `key` and `token`. Hosts from
   * HERALD_EXTRA_ALLOWED_HOSTS may use http (local receivers) but keep the path and query rules.
   */
  validateUrl(raw, extraHosts) {
    const url = checkUrlAgainstAllowList(raw, 'googlechat', GOOGLECHAT_HOSTS, extraHosts);
    const host = url.hostname.toLowerCase();
    const problems: string[] = [];
    if (url.protocol !== 'https:' && !hostMatches(host, extraHosts)) problems.push('the scheme must be https');
    if (!SPACE_PATH.test(url.pathname) || /%2f/i.test(url.pathname)) problems.push('the path must be /v1/spaces/{space}/messages');
    if (!url.searchParams.get('key') || !url.searchParams.get('token')) problems.push('the query must carry non-empty key and token parameters');
    if (problems.length) throw new ValidationFailed([{ field: 'url', message: `host ${host} is not a googlechat incoming-webhook URL: ${problems.join('; ')}` }]);
  },

  render(event, target, context): PreparedRequest {
    const view = buildMessage(event, context.project, target.locale);
    const widgets: unknown[] = [];
    const paragraph = (text: string) => widgets.push({ textParagraph: { text } });
    if (view.description) paragraph(fitEscaped(view.description, DESCRIPTION_CHARS, escapeHtml, undefined, view.more));
    if (view.tile) {
      paragraph(`<b>${fitEscaped(view.tile.title, 500, escapeHtml)}</b>`);
      if (view.tile.description) paragraph(escapeHtml(view.tile.description));
    }
    if (view.facts.length) paragraph(view.facts.map((f) => `<b>${escapeHtml(f.name)}:</b> ${escapeHtml(f.value)}`).join('<br>'));
    if (view.link) widgets.push({ buttonList: { buttons: [{ text: view.linkLabel, onClick: { openLink: { url: view.link } } }] } });
    const card: Record<string, unknown> = {
      header: { title: fitEscaped(titleWithEmoji(view), 200, escapeHtml), subtitle: escapeHtml(context.project.name || context.project.key) },
    };
    if (widgets.length) card.sections = [{ widgets }];
    return jsonRequest(target.url, { cardsV2: [{ cardId: 'herald-event', card }] }, 'application/json; charset=UTF-8');
  },

  /** SPEC §6.4: any 2xx. */
  classify(response) {
    return classifyStatus(response) ?? { kind: 'delivered' };
  },
};
