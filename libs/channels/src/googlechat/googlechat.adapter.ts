import { ValidationFailed } from '@herald/domain';
import type { ChannelAdapter, PreparedRequest } from '../channel-adapter';
import { classifyStatus } from '../classify';
import { checkUrlAgainstAllowList, hostMatches } from '../http/target-policy';
import { fitView } from '../render/budget';
import { buildMessage, titleWithEmoji, type MessageView } from '../render/message';
import { jsonRequest } from '../render/request';
import { escapeHtml, htmlParagraph, truncateChars } from '../render/text';

export const GOOGLECHAT_HOSTS = ['chat.googleapis.com'];
/** "The maximum message size, including text and cards, is 32,000 bytes" (Google Chat create-messages). */
export const GOOGLECHAT_BODY_BYTES = 32_000;
/** The description's share before the byte budget applies. */
const DESCRIPTION_CHARS = 4000;
const HEADER_CHARS = 200;
const SPACE_PATH = /^\/v1\/spaces\/[^/]+\/messages$/;

/**
 * A cardsV2 card. The header's title and subtitle are plain text (an escaped `&lt;b&gt;` shows as
 * written); `textParagraph` is a small HTML subset, so user text there is HTML-escaped and its line
 * breaks become `<br>`.
 */
export function googlechatCard(view: MessageView, subtitle: string) {
  const widgets: Array<{ textParagraph: { text: string } } | { buttonList: { buttons: Array<{ text: string; onClick: { openLink: { url: string } } }> } }> = [];
  const paragraph = (text: string) => widgets.push({ textParagraph: { text } });
  if (view.description) paragraph(htmlParagraph(truncateChars(view.description, DESCRIPTION_CHARS, view.more)));
  if (view.tile) {
    paragraph(`<b>${htmlParagraph(view.tile.title)}</b>`);
    if (view.tile.description) paragraph(htmlParagraph(view.tile.description));
  }
  if (view.facts.length) paragraph(view.facts.map((f) => `<b>${escapeHtml(f.name)}:</b> ${escapeHtml(f.value)}`).join('<br>'));
  if (view.link) widgets.push({ buttonList: { buttons: [{ text: view.linkLabel, onClick: { openLink: { url: view.link } } }] } });
  return {
    header: { title: truncateChars(titleWithEmoji(view), HEADER_CHARS), subtitle },
    ...(widgets.length ? { sections: [{ widgets }] } : {}),
  };
}

export const googlechatAdapter: ChannelAdapter = {
  type: 'googlechat',
  // "1 message per second per space" (Google Chat usage limits).
  defaultRateLimit: { count: 1, perSeconds: 1 },
  defaultLocale: 'en',
  validateSecret: null,

  /**
   * docs/contract.md §6.6: https only, path `/v1/spaces/{id}/messages`, query `key` and `token`. Hosts from
   * HERALD_EXTRA_ALLOWED_HOSTS may use http (local receivers) but keep the path and query rules.
   */
  validateUrl(raw, extraHosts) {
    const url = checkUrlAgainstAllowList(raw, 'googlechat', GOOGLECHAT_HOSTS, extraHosts);
    const host = url.hostname.toLowerCase();
    const problems: string[] = [];
    if (url.protocol !== 'https:' && !hostMatches(host, extraHosts)) problems.push('the scheme must be https');
    if (!SPACE_PATH.test(url.pathname) || /%2f/i.test(url.pathname)) problems.push('the path must be /v1/spaces/{space}/messages');
    if (!url.searchParams.get('key') || !url.searchParams.get('token')) problems.push('the query must carry non-empty key and token parameters');
    if (problems.length)
      throw new ValidationFailed([{ field: 'url', message: `host ${host} is not a googlechat incoming-webhook URL: ${problems.join('; ')}` }]);
  },

  render(event, target, context): PreparedRequest {
    const view = buildMessage(event, context.project, target.locale, target.text);
    const subtitle = truncateChars(context.project.name || context.project.key, HEADER_CHARS);
    const body = (v: MessageView) => ({ cardsV2: [{ cardId: 'herald-event', card: googlechatCard(v, subtitle) }] });
    const fitted = fitView(view, (v) => Buffer.byteLength(JSON.stringify(body(v)), 'utf8'), GOOGLECHAT_BODY_BYTES);
    return jsonRequest(target.url, body(fitted), 'application/json; charset=UTF-8');
  },

  /** docs/contract.md §6.4: any 2xx. */
  classify(response) {
    return classifyStatus(response) ?? { kind: 'delivered' };
  },
};
