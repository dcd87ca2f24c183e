/**
 * Text helpers every channel shares. Platforms cut or reject long texts in different units (Slack
 * and Discord count characters, WeCom and DingTalk count UTF-8 bytes), so there is one cutter per
 * unit, and both cut between grapheme clusters: an emoji with modifiers, a flag or a Chinese
 * character is never split, and the cut text always ends with an ellipsis.
 */
export const ELLIPSIS = '…';

const segmenter = new Intl.Segmenter('und', { granularity: 'grapheme' });

/** Length as the platforms that count characters see it (UTF-16 code units, as JavaScript and Discord do). */
export const charLength = (text: string): number => text.length;
export const byteLength = (text: string): number => Buffer.byteLength(text, 'utf8');

function cut(text: string, max: number, measure: (s: string) => number, ellipsis: string): string {
  if (measure(text) <= max) return text;
  const budget = max - measure(ellipsis);
  // A hint that does not fit gives way to the bare ellipsis.
  if (budget <= 0) return ellipsis !== ELLIPSIS ? cut(text, max, measure, ELLIPSIS) : '';
  // The longest prefix within the budget, in code units, then back to the start of the grapheme
  // cluster it ends in. `containing` asks ICU for one boundary, which it finds from a few
  // characters around the index; iterating every segment costs microseconds per character, and
  // segmenting the whole text made long inputs cost seconds (issue 10 item 5). Whether a cluster
  // ends at an index depends on the code point after it, so the slice keeps two more code units.
  const end = measure === byteLength ? unitsWithinBytes(text, budget) : Math.min(budget, text.length);
  const boundary = end >= text.length ? text.length : (segmenter.segment(text.slice(0, end + 2)).containing(end)?.index ?? end);
  return trimEnd(text.slice(0, boundary)) + ellipsis;
}

/** How many UTF-16 code units of `text` fit in `bytes` bytes of UTF-8 (a lone surrogate is written as U+FFFD, 3 bytes). */
function unitsWithinBytes(text: string, bytes: number): number {
  let used = 0;
  let i = 0;
  while (i < text.length) {
    const c = text.charCodeAt(i);
    const pair = c >= 0xd800 && c <= 0xdbff && i + 1 < text.length && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00;
    const size = c < 0x80 ? 1 : c < 0x800 ? 2 : pair ? 4 : 3;
    if (used + size > bytes) break;
    used += size;
    i += pair ? 2 : 1;
  }
  return i;
}

/** `\s+$` backtracks quadratically on long runs of spaces; this walks back once. */
function trimEnd(text: string): string {
  let end = text.length;
  while (end > 0 && /\s/.test(text[end - 1])) end--;
  return text.slice(0, end);
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
 * A budget in [0, start] whose result fits, as large as a few tries find: `size(budget)` is the
 * result's size, which grows (roughly in proportion) with the budget, and it fits at most `max`.
 * Each try interpolates between the largest budget known to fit and the smallest known not to
 * (regula falsi), so ordinary text needs two or three tries and no input needs more than twelve:
 * the cost stays a small multiple of building the result once, whatever was sent. Stops once the
 * result is within `max / 256` of the limit. Returns -1 when even a budget of 0 does not fit.
 */
export function largestFitting(start: number, size: (budget: number) => number, max: number): number {
  let high = Math.max(0, Math.floor(start));
  let highSize = size(high);
  if (highSize <= max) return high;
  let low = 0;
  let lowSize = size(0);
  if (lowSize > max) return -1;
  const slack = Math.floor(max / 256);
  for (let tries = 0; tries < 12 && high - low > 1 && max - lowSize > slack; tries++) {
    const guess = Math.min(high - 1, Math.max(low + 1, low + Math.floor(((max - lowSize) * (high - low)) / Math.max(1, highSize - lowSize))));
    const guessSize = size(guess);
    if (guessSize <= max) [low, lowSize] = [guess, guessSize];
    else [high, highSize] = [guess, guessSize];
  }
  return low;
}

/**
 * Cuts the raw text so that, once escaped, it fits in `max` (measured by `measure`). Cutting the
 * escaped text instead could split an entity such as `&amp;`.
 */
export function fitEscaped(text: string, max: number, escape: (s: string) => string, measure: (s: string) => number = charLength, ellipsis = ELLIPSIS): string {
  const attempt = (budget: number) => escape(cut(text, budget, measure, ellipsis));
  // Escaping never shrinks text, so the raw text needs no more than `max` units.
  const budget = largestFitting(Math.min(max, measure(text)), (b) => measure(attempt(b)), max);
  return budget < 0 ? '' : attempt(budget);
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
 * Google Chat `textParagraph`: HTML-escaped, with `<br>`, the documented line break of card text
 * (https://developers.google.com/workspace/chat/format-messages#format-texts-in-cards).
 */
export function htmlParagraph(text: string): string {
  return escapeHtml(text).replace(/\r\n|\r|\n/g, '<br>');
}

/**
 * Discord markdown: backslash escapes (documented by Discord) keep a user's `*`, `_`, `[`, `<`...
 * from turning into formatting, links or mentions; emoji and Chinese pass unchanged.
 */
export function escapeMarkdown(text: string): string {
  return text.replace(/([\\[\]<>*_`|~])/g, '\\$1').replace(/^([#>])/gm, '\\$1');
}

/**
 * Slack mrkdwn cannot escape `*`, `_`, `~` and `` ` `` (only `&`, `<`, `>` have entities), and a
 * link's label cannot use the date-fallback trick; so, as jsx-slack's <Escape> does inside links,
 * they become look-alike characters that never format (∗ ˍ ∼ ˋ). Used only where Slack needs
 * mrkdwn (the linked title); other user text goes in plain_text.
 */
export function escapeSlackMrkdwn(text: string): string {
  return escapeSlack(text).replace(/\*/g, '\u2217').replace(/_/g, '\u02CD').replace(/~/g, '\u223C').replace(/`/g, '\u02CB');
}

const ZWSP = '\u200B';

/**
 * Markdown dialects without an escape mechanism (DingTalk, WeCom) or whose escapes are not
 * documented for that field (Teams facts and connector cards, Feishu card markdown): a zero-width
 * space breaks what would act on its own, invisibly. `](` is where every inline link and image
 * starts, so `[text](url)` stays text; `<` before a letter, `@`, `!`, `/`, `?` or `#` is where tags
 * (`<font>`, `<at>`), mentions (`<@U123>`) and autolinks (`<https://…>`) start. Emphasis is left
 * alone: it changes how text looks, not what it does.
 */
export function neutraliseMarkdown(text: string): string {
  return text.replace(/\]\(/g, `]${ZWSP}(`).replace(/<(?=[A-Za-z@!/?#])/g, `<${ZWSP}`);
}

/**
 * What a stored event may carry that no platform should get: control characters (JSON writes them
 * as \u00XX, which WeCom refuses with 40033) and lone surrogates (half an emoji, written as
 * \uD8XX). Line breaks become \n; tabs stay.
 */
export function cleanText(text: string): string {
  let out = text.includes('\r') ? text.replace(/\r\n?/g, '\n') : text;
  if (CONTROL.test(out)) out = out.replace(CONTROLS, '');
  // Native (ES2024), unlike a lookaround regex over the whole text.
  return (out as unknown as { toWellFormed(): string }).toWellFormed();
}
// eslint-disable-next-line no-control-regex -- control characters are exactly what this removes
const CONTROL = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F]/;
const CONTROLS = new RegExp(CONTROL.source, 'g');

/** One line: line breaks and the spaces around them become one space (for titles and facts). */
export function oneLine(text: string): string {
  if (!text.includes('\n') && !text.includes('\r')) return text.trim();
  // Split, not a regex around the break: `\s*[\r\n]+` backtracks quadratically on long runs of spaces.
  return text
    .split(/[\r\n]+/)
    .map((line) => line.trim())
    .filter(Boolean)
    .join(' ');
}

/**
 * Splits `budget` over wishes so that no wish gets more than it asked and the unmet ones share
 * equally what is left (small facts stay whole, long ones are cut to the same length).
 */
export function shareFairly(wishes: readonly number[], budget: number): number[] {
  const caps = wishes.map(() => 0);
  let left = Math.max(0, budget);
  const order = wishes.map((w, i) => [w, i] as const).sort((a, b) => a[0] - b[0]);
  order.forEach(([wish, i], k) => {
    caps[i] = Math.min(wish, Math.floor(left / (order.length - k)));
    left -= caps[i];
  });
  return caps;
}
