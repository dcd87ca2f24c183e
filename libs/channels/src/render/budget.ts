import { ELLIPSIS, largestFitting, truncateChars } from './text';
import { shareFacts, type MessageView } from './message';

/**
 * Fits a message into a platform's size limit, measured on what the platform receives (for most,
 * the serialized body: `Buffer.byteLength(JSON.stringify(body))`; issue 11 item 1). Budgeting the
 * markdown before JSON escaping let quotes, backslashes and Chinese push DingTalk over 20 000 bytes.
 *
 * What gives way, in this order: the description, the tile's description, the facts (down to a
 * few characters each), the tile's title, then the facts altogether. The title, the link and the
 * mentions are never cut to fit; they are bounded by construction (each platform caps its title,
 * links are at most 3 000 characters, intake takes at most 100 mentions), so the cuts above
 * always make room. Should an impossible message remain (a platform limit smaller than a
 * title plus a link, such as WeCom's 2 048-byte direct messages), the title is cut to 64
 * characters and then the link is dropped rather than sending a message the platform refuses.
 *
 * Each step finds its budget in a few tries (see largestFitting), so the cost is a small multiple
 * of building the body once.
 */
export function fitView(view: MessageView, size: (view: MessageView) => number, max: number): MessageView {
  let current = view;
  if (size(current) <= max) return current;
  for (const step of STEPS) {
    const full = step.length(current);
    if (full <= step.floor(current)) continue;
    const start = current;
    const budget = largestFitting(full, (n) => size(step.shrink(start, Math.max(n, step.floor(start)))), max);
    if (budget >= 0) return step.shrink(start, Math.max(budget, step.floor(start)));
    current = step.shrink(start, step.floor(start));
  }
  return current;
}

interface Step {
  /** How much of the view this step can cut, in characters. */
  length(view: MessageView): number;
  /** How much it must leave. */
  floor(view: MessageView): number;
  /** The view with this part cut to `chars` characters. */
  shrink(view: MessageView, chars: number): MessageView;
}

/** Each fact keeps at least this much (a cut value ends with an ellipsis) until the last step drops them. */
const FACT_FLOOR_CHARS = 16;
/** The title is never cut shorter than this. */
const TITLE_FLOOR_CHARS = 64;

const cutTo = (text: string, chars: number, ellipsis: string) => (chars > 0 ? truncateChars(text, chars, ellipsis) : '');
const factsLength = (view: MessageView) => view.facts.reduce((n, f) => n + f.value.length, 0);

const STEPS: readonly Step[] = [
  { length: (v) => v.description.length, floor: () => 0, shrink: (v, n) => ({ ...v, description: cutTo(v.description, n, v.more) }) },
  {
    length: (v) => v.tile?.description.length ?? 0,
    floor: () => 0,
    shrink: (v, n) => (v.tile ? { ...v, tile: { ...v.tile, description: cutTo(v.tile.description, n, v.more) } } : v),
  },
  {
    length: factsLength,
    floor: (v) => Math.min(factsLength(v), v.facts.length * FACT_FLOOR_CHARS),
    shrink: (v, n) => ({ ...v, facts: shareFacts(v.facts, n) }),
  },
  {
    length: (v) => v.tile?.title.length ?? 0,
    floor: () => 0,
    shrink: (v, n) => (v.tile ? { ...v, tile: n > 0 ? { ...v.tile, title: truncateChars(v.tile.title, n) } : null } : v),
  },
  { length: factsLength, floor: () => 0, shrink: (v, n) => ({ ...v, facts: n > 0 ? shareFacts(v.facts, n) : [] }) },
  { length: (v) => v.title.length, floor: (v) => Math.min(v.title.length, TITLE_FLOOR_CHARS), shrink: (v, n) => ({ ...v, title: truncateChars(v.title, n) }) },
  { length: (v) => (v.link ? 1 : 0), floor: () => 0, shrink: (v, n) => (n > 0 ? v : { ...v, link: null, more: ELLIPSIS }) },
];
