import type { ChannelAdapter, Classification, PreparedRequest } from '../channel-adapter';
import { classifyStatus, parseJson, retryAfterMs, MAX_RETRY_AFTER_MS } from '../classify';
import { checkUrlAgainstAllowList } from '../http/target-policy';
import { buildMessage, colorInt, titleWithEmoji } from '../render/message';
import { jsonRequest } from '../render/request';
import { escapeMarkdown, fitEscaped, truncateChars } from '../render/text';

export const DISCORD_HOSTS = ['discord.com', 'discordapp.com'];

/** Discord's embed limits (https://discord.com/developers/docs/resources/message#embed-object-embed-limits). */
export const DISCORD_LIMITS = { title: 256, description: 4096, fields: 25, fieldName: 256, fieldValue: 1024, authorName: 256, total: 6000 };

export const discordAdapter: ChannelAdapter = {
  type: 'discord',
  defaultRateLimit: { count: 5, perSeconds: 2 },
  defaultLocale: 'en',

  validateUrl(url, extraHosts) {
    checkUrlAgainstAllowList(url, 'discord', DISCORD_HOSTS, extraHosts);
  },

  render(event, target, context): PreparedRequest {
    const view = buildMessage(event, context.project, target.locale);
    const L = DISCORD_LIMITS;
    // Title, author and fields first; the description takes what is left of the 6000 total.
    const title = truncateChars(titleWithEmoji(view), L.title);
    const author = view.actor ? truncateChars(view.actor, L.authorName) : null;
    const fields = view.facts.slice(0, L.fields).map((f) => ({
      name: truncateChars(f.name, L.fieldName),
      value: fitEscaped(f.value, L.fieldValue, escapeMarkdown),
      inline: true,
    }));
    const used = title.length + (author?.length ?? 0) + fields.reduce((n, f) => n + f.name.length + f.value.length, 0);
    const room = Math.min(L.description, L.total - used);
    // The tile (issue or rollout) is reserved first so a long description cannot push it out.
    const tile = view.tile
      ? `**${fitEscaped(view.tile.title, 200, escapeMarkdown)}**${view.tile.description ? `\n${fitEscaped(view.tile.description, 600, escapeMarkdown)}` : ''}`
      : '';
    const tileRoom = tile ? tile.length + 2 : 0;
    const text = view.description ? fitEscaped(view.description, Math.max(0, room - tileRoom), escapeMarkdown) : '';
    const description = [text, tile].filter(Boolean).join('\n\n');
    const embed: Record<string, unknown> = { title, type: 'rich' };
    if (description) embed.description = description;
    if (view.link) embed.url = view.link;
    // Bytebase sent `"timestamp": ""`; Discord shows this one under the embed.
    embed.timestamp = new Date(event.occurredAt).toISOString();
    embed.color = colorInt(view.color);
    if (author) embed.author = { name: author };
    if (fields.length) embed.fields = fields;
    return jsonRequest(target.url, { embeds: [embed] });
  },

  /** SPEC §6.4: 200 or 204; a JSON body with a non-zero `code` fails. A 429 carries `retry_after` (seconds) in its body. */
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
