import type { DeliveryStatus } from './delivery';
import { withJitter } from './retry-schedule';

/**
 * Consecutive 429s (or platform rate-limit codes) of one attempt chain that use no attempt. From
 * the next one on, a 429 uses an attempt like a 5xx (waiting at least its Retry-After), so an
 * endpoint that always answers 429 ends `dead` after the schedule and counts towards auto-disable.
 */
export const FREE_RATE_LIMITED_ANSWERS = 5;

/** How an attempt ended, as its channel judged the answer (a channel adapter's `Classification` fits). */
export type AttemptVerdict = { kind: 'delivered' } | { kind: 'rate_limited'; retryAfterMs: number } | { kind: 'retryable' } | { kind: 'rejected' };

/** Where a delivery's current attempt chain stands, as its row says (not BullMQ's counter). */
export interface ChainPosition {
  /** Attempts of this chain that used the retry schedule, before the one being settled. */
  chainAttempts: number;
  /** Consecutive rate-limited answers of this chain, before the one being settled. */
  rateLimitedStreak: number;
}

/**
 * What an attempt's verdict does to its delivery and its job:
 * - `complete`: the delivery succeeded, the job completes;
 * - `hold`: a free rate-limited answer, the job waits until `nextAttemptAtMs` without using an attempt;
 * - `retry`: the job retries after `delayMs` (an attempt used);
 * - `fail`: the delivery is final (`failed`, or `dead` after the schedule), the job fails for good.
 * `pauseUntilMs` (rate-limited answers) holds every delivery of the webhook until then.
 */
export type Settlement = { pauseUntilMs: number | null } & (
  | { status: 'succeeded'; nextAttemptAtMs: null; usesAttempt: true; then: 'complete' }
  | { status: 'pending'; nextAttemptAtMs: number; usesAttempt: false; then: 'hold' }
  | { status: 'pending'; nextAttemptAtMs: number; usesAttempt: true; then: 'retry'; delayMs: number }
  | { status: Extract<DeliveryStatus, 'failed' | 'dead'>; nextAttemptAtMs: null; usesAttempt: true; then: 'fail' }
);

/**
 * The retry rules of docs/contract.md §6.2–6.4 for one attempt: delivered succeeds; rejected fails at once; a
 * retryable answer waits for the schedule's next delay (with jitter) or ends `dead` when this was
 * the chain's last attempt; a rate-limited answer pauses the webhook until its Retry-After and,
 * within the first {@link FREE_RATE_LIMITED_ANSWERS} in a row, holds the delivery without using an
 * attempt, afterwards counts as retryable waiting at least its Retry-After. The position in the
 * schedule is the delivery's own, so a job re-queued by the reconciler continues its chain.
 */
export function settleAttempt(
  verdict: AttemptVerdict,
  position: ChainPosition,
  scheduleMs: readonly number[],
  nowMs: number,
  jitter: (delayMs: number) => number = withJitter,
): Settlement {
  const retryOrDie = (minDelayMs: number, pauseUntilMs: number | null): Settlement => {
    const used = position.chainAttempts + 1;
    if (used >= scheduleMs.length) return { status: 'dead', nextAttemptAtMs: null, usesAttempt: true, then: 'fail', pauseUntilMs };
    const delayMs = Math.max(minDelayMs, jitter(scheduleMs[used] ?? 0));
    return { status: 'pending', nextAttemptAtMs: nowMs + delayMs, usesAttempt: true, then: 'retry', delayMs, pauseUntilMs };
  };
  switch (verdict.kind) {
    case 'delivered':
      return { status: 'succeeded', nextAttemptAtMs: null, usesAttempt: true, then: 'complete', pauseUntilMs: null };
    case 'rejected':
      return { status: 'failed', nextAttemptAtMs: null, usesAttempt: true, then: 'fail', pauseUntilMs: null };
    case 'retryable':
      return retryOrDie(0, null);
    case 'rate_limited': {
      const until = nowMs + verdict.retryAfterMs;
      if (position.rateLimitedStreak < FREE_RATE_LIMITED_ANSWERS)
        return { status: 'pending', nextAttemptAtMs: until, usesAttempt: false, then: 'hold', pauseUntilMs: until };
      return retryOrDie(verdict.retryAfterMs, until);
    }
  }
}
