import type { ChannelAdapter, Classification, PreparedRequest } from '../channel-adapter';
import { classifyStatus, parseJson, retryAfterMs, MAX_RETRY_AFTER_MS } from '../classify';
import { checkUrlAgainstAllowList } from '../http/target-policy';
import { buildMessage, colorInt, titleWithEmoji, type MessageView } from '../render/message';
import { jsonRequest } from '../render/request';
import { escapeMarkdown, fitEscaped, shareFairly, truncateChars } from '../render/text';

export const DISCORD_HOSTS = ['discord.com', 'discordapp.com'];

/** Discord's embed limits (https://discord.com/developers/docs/resources/message#embed-object-embed-limits). */
export const DISCORD_LIMITS = { title: 256, description: 4096, fields: 25, fieldName: 256, fieldValue: 1024, authorName: 256, footer: 2048, total: 6000 };
/** The description (with the tile) may claim this much of the total before the fields take their share. */
const DESCRIPTION_RESERVE = 2000;

/** Every character Discord counts against the 6000 total. */
export function embedTextLength(embed: {
  title?: string;
  description?: string;
  author?: { name?: string };
  footer?: { text?: string };
  fields?: Array<{ name: string; value: string }>;
}): number {
  return (
    (embed.title?.length ?? 0) +
    (embed.description?.length ?? 0) +
    (embed.author?.name?.length ?? 0) +
    (embed.footer?.text?.length ?? 0) +
    (embed.fields ?? []).reduce((n, f) => n + f.name.length + f.value.length, 0)
  );
}

export interface DiscordEmbed {
  title: string;
  description?: string;
  url?: string;
  timestamp?: string;
  color?: number;
  author?: { name: string };
  fields?: Array<{ name: string; value: string; inline: boolean }>;
}

/**
 * One embed within Discord's limits. Its `type` is left out: Discord documents it as always "rich"
 * for webhook embeds, and docs/contract.md §7.2 does not list it.
 */
export function discordEmbed(view: MessageView, occurredAt: string): DiscordEmbed {
  const L = DISCORD_LIMITS;
  const title = truncateChars(titleWithEmoji(view), L.title);
  const author = view.actor ? truncateChars(view.actor, L.authorName) : null;
  // The tile (issue or rollout) is kept short and reserved first so a long text cannot push it out.
  const tile = view.tile
    ? `**${fitEscaped(view.tile.title, 200, escapeMarkdown)}**${view.tile.description ? `\n${fitEscaped(view.tile.description, 600, escapeMarkdown, undefined, view.more)}` : ''}`
    : '';
  const facts = view.facts.slice(0, L.fields).map((f) => ({ name: truncateChars(f.name, L.fieldName), value: escapeMarkdown(f.value), raw: f.value }));
  const text = view.description ? escapeMarkdown(view.description) : '';

  // Discord counts title, author, description, field names and values and footer against one
  // 6000-character total: the description and the fields share what the title and author leave.
  let room = L.total - title.length - (author?.length ?? 0) - facts.reduce((n, f) => n + f.name.length, 0);
  const tileRoom = tile ? tile.length + (text ? 2 : 0) : 0;
  const wantedDescription = Math.min(L.description, tileRoom + text.length);
  const descriptionShare = Math.min(wantedDescription, DESCRIPTION_RESERVE + tileRoom, room);
  const caps = shareFairly(
    facts.map((f) => Math.min(f.value.length, L.fieldValue)),
    room - descriptionShare,
  );
  const fields = facts.map((f, i) => ({ name: f.name, value: fitEscaped(f.raw, caps[i], escapeMarkdown), inline: true })).filter((f) => f.value !== '');
  room -= fields.reduce((n, f) => n + f.value.length, 0);
  const cutText = text ? fitEscaped(view.description, Math.max(0, Math.min(L.description, room) - tileRoom), escapeMarkdown, undefined, view.more) : '';
  const description = [cutText, tile].filter(Boolean).join('\n\n');

  const embed: DiscordEmbed = { title };
  if (description) embed.description = description;
  if (view.link) embed.url = view.link;
  // Bytebase sent `"timestamp": ""`; Discord shows this one under the embed (and refuses one that is not ISO-8601).
  const at = Date.parse(occurredAt);
  if (!Number.isNaN(at)) embed.timestamp = new Date(at).toISOString();
  embed.color = colorInt(view.color);
  if (author) embed.author = { name: author };
  if (fields.length) embed.fields = fields;
  return embed;
}

export const discordAdapter: ChannelAdapter = {
  type: 'discord',
  defaultRateLimit: { count: 5, perSeconds: 2 },
  defaultLocale: 'en',
  validateSecret: null,

  validateUrl(url, extraHosts) {
    checkUrlAgainstAllowList(url, 'discord', DISCORD_HOSTS, extraHosts);
  },

  render(event, target, context): PreparedRequest {
    return jsonRequest(target.url, { embeds: [discordEmbed(buildMessage(event, context.project, target.locale, target.text), event.occurredAt)] });
  },

  /** docs/contract.md §6.4: 200 or 204; a JSON body with a non-zero `code` fails. A 429 carries `retry_after` (seconds) in its body. */
  classify(response): Classification {
    if (response.statusCode === 429) {
      const json = parseJson(response.body) as { retry_after?: unknown; global?: unknown } | undefined;
      const seconds = typeof json?.retry_after === 'number' ? json.retry_after : undefined;
      const ms = seconds !== undefined ? Math.min(Math.max(Math.ceil(seconds * 1000), 1000), MAX_RETRY_AFTER_MS) : retryAfterMs(response);
      return { kind: 'rate_limited', retryAfterMs: ms, reason: `discord rate limit${json?.global === true ? ' (global)' : ''}: retry after ${ms} ms` };
    }
    const byStatus = classifyStatus(response);
    if (byStatus) return byStatus;
    if (response.statusCode !== 200 && response.statusCode !== 204) {
      return { kind: 'retryable', reason: `discord answered HTTP ${response.statusCode}; expected 200 or 204` };
    }
    const json = parseJson(response.body) as { code?: unknown; message?: unknown } | undefined;
    if (json && typeof json === 'object' && typeof json.code === 'number' && json.code !== 0) {
      return { kind: 'retryable', reason: `discord answered code ${json.code}: ${String(json.message ?? '')}` };
    }
    return { kind: 'delivered' };
  },
};
