/**
 * The event's link as every platform may receive it, or null (issue 10 item 6, issue 11 item 4).
 * Intake accepts only absolute http(s) URLs now, but events stored before that rule, and DevLake
 * URLs, reach the adapters too: a relative or malformed link makes Discord refuse the whole
 * message (400, which counts towards auto-disable) and gives Slack, Teams, Feishu and Google Chat
 * a broken button, so such a link is left out rather than sent.
 */

/** Slack's button `url` holds at most 3000 characters, the smallest limit of the platforms. */
export const LINK_MAX_CHARS = 3000;

/**
 * Characters that end or open markup around a URL: Slack's `<url|label>` (`|`, `<`, `>`), Markdown's
 * `[label](url)` (`(`, `)`, `[`, `]`, spaces). The WHATWG URL writer leaves `|`, `(`, `)`, `[` and `]`
 * as they are in a path or query, so they are percent-encoded here; the URL stays equivalent.
 */
const MARKUP_IN_URL = /[|<>()[\]\s"`{}\\^]/g;

const percent = (c: string) => (c.charCodeAt(0) < 0x80 ? `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}` : encodeURIComponent(c));

export function safeLink(raw: string | null | undefined): string | null {
  const text = raw?.trim();
  if (!text) return null;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return null;
  }
  if ((url.protocol !== 'http:' && url.protocol !== 'https:') || !url.hostname) return null;
  // The origin has no user or password: credentials in a link shown to a whole channel are a leak,
  // and `https://bank.example@evil.example` is a classic disguise.
  const rest = `${url.pathname}${url.search}${url.hash}`.replace(MARKUP_IN_URL, percent);
  const link = `${url.origin}${rest}`;
  return link.length <= LINK_MAX_CHARS ? link : null;
}
