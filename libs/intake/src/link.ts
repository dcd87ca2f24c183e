/**
 * Whitespace, controls, and the ASCII characters RFC 3986 never allows in a URL (`"<>\^`{|}`):
 * with none of them a link cannot close a chat platform's link markup (Slack's `<url|text>`)
 * or start new markup around itself.
 */
// eslint-disable-next-line no-control-regex -- control characters are exactly what this refuses
const NOT_IN_A_URL = /[\s\u0000-\u001f\u007f-\u009f"<>\\^`{|}]/;

/** The longest link accepted (the events API's limit for `link`). */
export const MAX_LINK = 2048;

/**
 * True for an absolute http or https URL with a host (docs/contract.md §4.1: the event `link`), such as
 * `https://example.com/issues/42`; false for a path (`/projects/x`), another scheme
 * (`javascript:`, `mailto:`) or text that only starts like a URL.
 */
export function isAbsoluteHttpUrl(value: string): boolean {
  if (value.length > MAX_LINK || NOT_IN_A_URL.test(value) || !/^https?:\/\/[^/?#]/i.test(value)) return false;
  try {
    const url = new URL(value);
    return (url.protocol === 'http:' || url.protocol === 'https:') && url.hostname !== '';
  } catch {
    return false;
  }
}

export const LINK_RULE = 'link must be an absolute http(s) URL such as https://example.com/issues/42 (no spaces, nor any of "<>\\^`{|})';
