import type { MessageView } from './message';
import { titleWithEmoji } from './message';

/**
 * The markdown body DingTalk, WeCom and Feishu/Lark share: a heading, the description as a quote,
 * the tile, one line per fact and the link. `style` carries the per-platform differences.
 */
export interface MarkdownStyle {
  heading(title: string): string;
  fact(name: string, value: string): string;
  /** Escapes user text for the platform (identity where the platform has no escaping). */
  escape(text: string): string;
}

export function markdownParts(view: MessageView, style: MarkdownStyle, description: string): { head: string; body: string; tail: string } {
  const head = style.heading(style.escape(titleWithEmoji(view)));
  const lines: string[] = [];
  if (description) lines.push(description.split('\n').map((l) => `> ${l}`).join('\n'));
  if (view.tile) lines.push(`**${style.escape(view.tile.title)}**${view.tile.description ? `\n${style.escape(view.tile.description)}` : ''}`);
  const body = lines.join('\n\n');
  const facts = view.facts.map((f) => style.fact(style.escape(f.name), style.escape(f.value))).join('\n');
  const link = view.link ? `[${view.linkLabel}](${view.link})` : '';
  return { head, body, tail: [facts, link].filter(Boolean).join('\n\n') };
}

/**
 * Assembles the markdown, cutting only the description so the whole fits `max` (in the unit
 * `measure` counts); heading, facts and link always survive.
 */
export function fitMarkdown(
  view: MessageView,
  style: MarkdownStyle,
  max: number,
  measure: (s: string) => number,
  cut: (text: string, max: number, ellipsis?: string) => string,
  suffix = '',
): string {
  const join = (description: string) => {
    const { head, body, tail } = markdownParts(view, style, description);
    return [head, body, tail].filter(Boolean).join('\n\n') + suffix;
  };
  const full = join(style.escape(view.description));
  if (measure(full) <= max) return full;
  // Cut the description until the whole fits: escaping and quote markers can make it grow.
  let room = max - measure(join(''));
  while (room > 0) {
    const out = join(style.escape(cut(view.description, room, view.more)));
    const over = measure(out) - max;
    if (over <= 0) return out;
    room -= over;
  }
  const bare = join('');
  return measure(bare) <= max ? bare : cut(bare, max);
}
