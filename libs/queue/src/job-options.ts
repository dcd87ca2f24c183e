import type { JobsOptions } from 'bullmq';
import { withJitter } from '@herald/domain';

/** Backoff strategy names understood by `heraldBackoff`. */
export const BACKOFF = {
  /** `HERALD_RETRY_SCHEDULE` with ±20 % jitter (or the delay a RetryLater error asks for). */
  schedule: 'herald-schedule',
  /** Internal jobs (fan-out): 1 s doubling to a 10 s cap. */
  capped: 'herald-capped',
} as const;

/** A processor error that knows when the next attempt should run. */
export class RetryLater extends Error {
  constructor(message: string, readonly delayMs: number) {
    super(message);
    this.name = 'RetryLater';
  }
}

/**
 * The worker's `settings.backoffStrategy`. `attemptsMade` counts attempts already made in this
 * chain, so the next attempt is number attemptsMade + 1 and waits schedule[attemptsMade].
 */
export function heraldBackoff(scheduleMs: number[]) {
  return (attemptsMade: number, type?: string, err?: Error): number => {
    if (err instanceof RetryLater) return err.delayMs;
    if (type === BACKOFF.capped) return Math.min(1000 * 2 ** Math.max(0, attemptsMade - 1), 10_000);
    return withJitter(scheduleMs[Math.min(attemptsMade, scheduleMs.length - 1)] ?? 0);
  };
}

export function deliverJobOptions(scheduleMs: number[], jobId: string): JobsOptions {
  return {
    jobId,
    attempts: scheduleMs.length,
    delay: withJitter(scheduleMs[0] ?? 0),
    backoff: { type: BACKOFF.schedule },
    // Postgres holds the delivery log; Redis keeps only work in progress.
    removeOnComplete: true,
    removeOnFail: true,
  };
}

export const FANOUT_JOB_OPTIONS: JobsOptions = {
  // A fan-out only fails while Postgres or Redis is unreachable; keep trying for about a day.
  attempts: 9000,
  backoff: { type: BACKOFF.capped },
  removeOnComplete: true,
  removeOnFail: { age: 7 * 24 * 3600 },
};
