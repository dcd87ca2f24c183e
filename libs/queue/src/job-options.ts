import type { JobsOptions } from 'bullmq';
import { withJitter } from '@herald/domain';

/** Backoff strategy names understood by `heraldBackoff`. */
export const BACKOFF = {
  /** `HERALD_RETRY_SCHEDULE` with ±20 % jitter (or the delay a RetryLater error asks for). */
  schedule: 'herald-schedule',
} as const;

/** A processor error that knows when the next attempt should run. */
export class RetryLater extends Error {
  constructor(
    message: string,
    readonly delayMs: number,
  ) {
    super(message);
    this.name = 'RetryLater';
  }
}

/**
 * The worker's `settings.backoffStrategy`. `attemptsMade` counts attempts already made in this
 * chain, so the next attempt is number attemptsMade + 1 and waits schedule[attemptsMade].
 */
export function heraldBackoff(scheduleMs: number[]) {
  return (attemptsMade: number, _type?: string, err?: Error): number => {
    if (err instanceof RetryLater) return err.delayMs;
    return withJitter(scheduleMs[Math.min(attemptsMade, scheduleMs.length - 1)] ?? 0);
  };
}

/**
 * A delivery job's options. A chain that already used `attemptsUsed` attempts of the schedule (a
 * job re-queued by the reconciler) gets only the rest, and waits `delayMs` (its scheduled retry)
 * instead of the schedule's first delay. The processor reads the schedule position from the
 * delivery itself; BullMQ's count is an upper bound.
 */
export function deliverJobOptions(scheduleMs: number[], jobId: string, resume?: { attemptsUsed: number; delayMs: number }): JobsOptions {
  return {
    jobId,
    attempts: Math.max(1, scheduleMs.length - (resume?.attemptsUsed ?? 0)),
    delay: resume ? Math.max(0, resume.delayMs) : withJitter(scheduleMs[0] ?? 0),
    backoff: { type: BACKOFF.schedule },
    // Postgres holds the delivery log; Redis keeps only work in progress.
    removeOnComplete: true,
    removeOnFail: true,
  };
}
