/**
 * Delivery statuses (docs/contract.md §6.2). `pending` covers both "never tried" and "waiting for the next
 * attempt"; `dead` is the dead-letter state reached when the retry schedule is exhausted.
 */
export const DELIVERY_STATUSES = ['pending', 'delivering', 'succeeded', 'failed', 'dead'] as const;
export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number];

/** How one attempt ended, as recorded in the attempt log and decided by the channel's classifier. */
export const ATTEMPT_OUTCOMES = ['delivered', 'rate_limited', 'retryable', 'rejected'] as const;
export type AttemptOutcome = (typeof ATTEMPT_OUTCOMES)[number];

/** At most `count` sends within any interval of `perSeconds` (docs/contract.md §6.3); fractions are allowed. */
export interface RateWindow {
  count: number;
  perSeconds: number;
}

/**
 * One window, or several that must all have room for a send (Feishu and Lark: 5/s and 100/min per
 * bot, docs/contract.md §6.3; no single window expresses both). A webhook's own override is always one window.
 */
export type RateLimit = RateWindow | readonly RateWindow[];

/** The windows of a limit, as a list (empty for none). */
export function rateWindows(limit: RateLimit | null): readonly RateWindow[] {
  if (!limit) return [];
  return Array.isArray(limit) ? limit : [limit as RateWindow];
}

/**
 * The limit a webhook's deliveries keep (docs/contract.md §6.3): its own (one window) when it sets both count
 * and period, else its channel's published default; null means none.
 */
export function effectiveRateLimit(
  webhook: { rateLimitCount: number | null; rateLimitPerSeconds: number | null },
  channel: { defaultRateLimit: RateLimit | null },
): RateLimit | null {
  if (webhook.rateLimitCount && webhook.rateLimitPerSeconds) return { count: webhook.rateLimitCount, perSeconds: webhook.rateLimitPerSeconds };
  return channel.defaultRateLimit;
}
