import { randomUUID } from 'node:crypto';
import { Logger } from '@nestjs/common';
import { DelayedError, type Job } from 'bullmq';
import type { DeliverJobV1 } from '@herald/contracts';
import { isDependencyDown, type TraceSpan } from '@herald/platform';

/** What a job in progress is doing, for the watchdog. */
export type Step = 'claim' | 'rate limit' | 'direct messages' | 'send' | 'record' | 'requeue';
/** Steps that wait on Redis: while Redis is down they do not count as stuck. */
export const REDIS_STEPS: ReadonlySet<Step> = new Set(['rate limit', 'requeue']);

/** How long a job waits when Postgres is unreachable, without using an attempt. */
export const DEPENDENCY_RETRY_MS = 5000;

const logger = new Logger('Delivery');

/**
 * One job's way through an attempt (gate → attempt → settle): which delivery and chain it is,
 * the claim token the attempt holds, the step it is on and since when (the watchdog reads them),
 * its span (tracing on), and the BullMQ moves that put the job back without using an attempt.
 */
export class JobRun {
  step: Step = 'claim';
  since = Date.now();
  /** The host being sent to, during the `send` step. */
  host?: string;
  /** The claim this attempt makes: only a record carrying it changes the delivery. */
  readonly claimToken = randomUUID();

  constructor(
    readonly job: Job<DeliverJobV1>,
    readonly lockToken: string | undefined,
    readonly deliveryId: string,
    /** The job's attempt chain (`replay`), from its id. */
    readonly replay: number,
    readonly span: TraceSpan | undefined,
  ) {}

  at(step: Step, host?: string): void {
    this.step = step;
    this.since = Date.now();
    this.host = host;
  }

  /** Puts the job back until `untilMs` without using an attempt, and ends the run (moveToDelayed + DelayedError). */
  async deferUntil(untilMs: number): Promise<never> {
    this.at('requeue');
    await this.job.moveToDelayed(untilMs, this.lockToken);
    throw new DelayedError();
  }

  /** Runs a database step; if Postgres is unreachable, puts the job back without using an attempt. */
  async orDelay<T>(step: () => Promise<T>): Promise<T> {
    try {
      return await step();
    } catch (err) {
      if (!isDependencyDown(err)) throw err;
      logger.warn({ deliveryId: this.deliveryId }, `postgres unavailable, delivery waits: ${(err as Error).message}`);
      this.span?.setAttribute('herald.deferred', 'postgres unavailable');
      return this.deferUntil(Date.now() + DEPENDENCY_RETRY_MS);
    }
  }
}
