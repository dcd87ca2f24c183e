import type { MessageView } from './message';
import { titleWithEmoji } from './message';
import { truncateChars } from './text';

/**
 * The markdown body DingTalk, WeCom and Feishu/Lark share: a heading, the description as a quote,
 * the tile, one line per fact and the link. `style` carries the per-platform differences. Sizes
 * are the caller's business (see fitView): this only assembles.
 */
export interface MarkdownStyle {
  heading(title: string): string;
  fact(name: string, value: string): string;
  /** Makes user text show as text on the platform (see neutraliseMarkdown). */
  escape(text: string): string;
  /** The title's limit in characters for the heading. */
  titleChars: number;
}

/** The markdown text; `suffix` (DingTalk's `@mobile` tokens) goes last, after the link. */
export function assembleMarkdown(view: MessageView, style: MarkdownStyle, suffix = ''): string {
  const parts: string[] = [];
  const head = style.heading(style.escape(truncateChars(titleWithEmoji(view), style.titleChars)));
  if (head) parts.push(head);
  if (view.description)
    parts.push(
      style
        .escape(view.description)
        .split('\n')
        .map((l) => `> ${l}`)
        .join('\n'),
    );
  if (view.tile) parts.push(`**${style.escape(view.tile.title)}**${view.tile.description ? `\n${style.escape(view.tile.description)}` : ''}`);
  const facts = view.facts.map((f) => style.fact(style.escape(f.name), style.escape(f.value))).join('\n');
  if (facts) parts.push(facts);
  // The link is ours and percent-encoded (safeLink): nothing in it can close the `(…)`.
  if (view.link) parts.push(`[${view.linkLabel}](${view.link})`);
  return parts.join('\n\n') + suffix;
}
