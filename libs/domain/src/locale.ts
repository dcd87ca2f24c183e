/** The languages messages are rendered in (docs/contract.md §3.5: a webhook's `locale`). */
export const LOCALES = ['en', 'zh'] as const;
export type Locale = (typeof LOCALES)[number];

export function isLocale(value: unknown): value is Locale {
  return value === 'en' || value === 'zh';
}

/**
 * The language a message is rendered in: the webhook's own `locale` when it sets one Herald knows,
 * else its channel's default (zh for DingTalk, en elsewhere). Stored rows may hold null or, from an
 * older release, a value no longer offered: both fall back.
 */
export function effectiveLocale(requested: string | null | undefined, channelDefault: Locale): Locale {
  return isLocale(requested) ? requested : channelDefault;
}
