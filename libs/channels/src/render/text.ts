/**
 * Text helpers every channel shares. Platforms cut or reject long texts in different units (Slack
 * and Discord count characters, WeCom and DingTalk count UTF-8 bytes), so there is one cutter per
 * unit, and both cut between grapheme clusters: an emoji with modifiers, a flag or a Chinese
 * character is never split, and the cut text always ends with an ellipsis.
 */
export const ELLIPSIS = '…';

const segmenter = new Intl.Segmenter('und', { granularity: 'grapheme' });

function graphemes(text: string): string[] {
  return Array.from(segmenter.segment(text), (s) => s.segment);
}

/** Length as the platforms that count characters see it (UTF-16 code units, as JavaScript and Discord do). */
export const charLength = (text: string): number => text.length;
export const byteLength = (text: string): number => Buffer.byteLength(text, 'utf8');

function cut(text: string, max: number, measure: (s: string) => number, ellipsis: string): string {
  if (measure(text) <= max) return text;
  const budget = max - measure(ellipsis);
  // A hint that does not fit gives way to the bare ellipsis.
  if (budget <= 0) return ellipsis !== ELLIPSIS ? cut(text, max, measure, ELLIPSIS) : '';
  let out = '';
  let used = 0;
  for (const g of graphemes(text)) {
    const size = measure(g);
    if (used + size > budget) break;
    out += g;
    used += size;
  }
  return out.replace(/\s+$/u, '') + ellipsis;
}

/** At most `max` UTF-16 code units, ellipsis included. */
export function truncateChars(text: string, max: number, ellipsis = ELLIPSIS): string {
  return cut(text, max, charLength, ellipsis);
}

/** At most `max` UTF-8 bytes, ellipsis included. */
export function truncateBytes(text: string, max: number, ellipsis = ELLIPSIS): string {
  return cut(text, max, byteLength, ellipsis);
}

/**
 * Cuts the raw text so that, once escaped, it fits in `max` (measured by `measure`). Cutting the
 * escaped text instead could split an entity such as `&amp;`.
 */
export function fitEscaped(text: string, max: number, escape: (s: string) => string, measure: (s: string) => number = charLength, ellipsis = ELLIPSIS): string {
  let budget = max;
  for (;;) {
    const raw = cut(text, budget, measure, ellipsis);
    const escaped = escape(raw);
    const size = measure(escaped);
    if (size <= max) return escaped;
    // Shrink in proportion to how much escaping grew the text, by at least one unit.
    budget = Math.min(budget - 1, Math.floor((measure(raw) * max) / size));
    if (budget <= 0) return '';
  }
}

/** Slack mrkdwn: only `&`, `<` and `>` are control characters (https://api.slack.com/reference/surfaces/formatting#escaping). */
export function escapeSlack(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Google Chat card text is a small HTML subset: escape all markup characters. */
export function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

/** Feishu/Lark card markdown reads `&`, `<` and `>` as HTML; entities show them literally. */
export function escapeAngle(text: string): string {
  return escapeSlack(text);
}

/**
 * Discord markdown: backslash escapes (documented by Discord) keep a user's `*`, `_`, `[`, `<`...
 * from turning into formatting, links or mentions; emoji and Chinese pass unchanged.
 */
export function escapeMarkdown(text: string): string {
  return text.replace(/([\\[\]<>*_`|~])/g, '\\$1').replace(/^([#>])/gm, '\\$1');
}

/** One line: newlines become spaces (for titles and facts). */
export function oneLine(text: string): string {
  return text.replace(/\s*[\r\n]+\s*/g, ' ').trim();
}
