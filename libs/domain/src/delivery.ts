/**
 * Delivery statuses (SPEC §6.2). `pending` covers both "never tried" and "waiting for the next
 * attempt"; `dead` is the dead-letter state reached when the retry schedule is exhausted.
 */
export const DELIVERY_STATUSES = ['pending', 'delivering', 'succeeded', 'failed', 'dead'] as const;
export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number];

/** How one attempt ended, as recorded in the attempt log and decided by the channel's classifier. */
export const ATTEMPT_OUTCOMES = ['delivered', 'rate_limited', 'retryable', 'rejected'] as const;
export type AttemptOutcome = (typeof ATTEMPT_OUTCOMES)[number];

export interface RateLimit {
  count: number;
  perSeconds: number;
}
