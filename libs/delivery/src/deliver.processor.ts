import { Injectable } from '@nestjs/common';
import { DelayedError, UnrecoverableError, type Job } from 'bullmq';
import { QUEUES, deliverJobChain, parseDeliverJob, type DeliverJobV1 } from '@herald/contracts';
import { SpanKind, failSpan, startSpan, tracingEnabled, type LivenessSource, type TraceSpan, type WorkInProgress } from '@herald/platform';
import { HeraldQueues, RetryLater } from '@herald/queue';
import { DeliveryAttempt } from './deliver.attempt';
import { DeliveryGate } from './deliver.gate';
import { JobRun, REDIS_STEPS } from './deliver.run';
import { DeliverySettle } from './deliver.settle';

/**
 * One attempt of one delivery, in three steps:
 * 1. gate (deliver.gate.ts): claim the delivery, give up a disabled webhook's, ask the rate limit;
 * 2. attempt (deliver.attempt.ts): direct messages, then the channel post through the one send
 *    path (ChannelSender in libs/channels: decrypt, render, send, classify);
 * 3. settle (deliver.settle.ts): record the attempt and status, metrics, auto-disable, and the
 *    BullMQ outcome (complete, retry with the schedule's delay, fail, or wait without an attempt).
 * Each step may end the job early by putting it back without using an attempt (DelayedError).
 */
@Injectable()
export class DeliverProcessor implements LivenessSource {
  readonly name = 'delivery jobs';
  /** Jobs in progress in this process: what each waits on, and since when. */
  private readonly active = new Set<JobRun>();

  constructor(
    private readonly gate: DeliveryGate,
    private readonly attempt: DeliveryAttempt,
    private readonly settle: DeliverySettle,
    private readonly queues: HeraldQueues,
  ) {}

  /** Work in progress for the watchdog: each job's step and since when it has been on it. */
  inProgress(): WorkInProgress[] {
    const redisDown = !this.queues.redisReady;
    return [...this.active].map((run) => ({
      waitingOn: `delivery ${run.deliveryId}: ${run.step}${run.step === 'send' && run.host ? ` to ${run.host}` : ''}`,
      since: run.since,
      dependencyDown: redisDown && REDIS_STEPS.has(run.step),
    }));
  }

  readonly process = async (job: Job<DeliverJobV1>, lockToken?: string): Promise<string> => {
    const data = parseDeliverJob(job.data);
    const replay = deliverJobChain(job.id, data.deliveryId);
    if (replay === null) return `ignored: job id ${job.id} is not a delivery job id`;
    // One span per attempt, continuing the trace the relay's fan-out put in the job (tracing on).
    const span = tracingEnabled() ? attemptSpan(job, data) : undefined;
    const run = new JobRun(job, lockToken, data.deliveryId, replay, span);
    this.active.add(run);
    try {
      const gate = await this.gate.pass(run);
      const result = gate.open ? await this.settle.settle(run, gate.ctx, await this.attempt.run(run, gate.ctx)) : gate.result;
      span?.setAttribute('herald.result', result);
      return result;
    } catch (err) {
      if (span) endOfAttempt(span, err);
      throw err;
    } finally {
      span?.end();
      this.active.delete(run);
    }
  };
}

/** The span of one attempt: a consumer span continuing the job's trace context (a new trace for a job without one). */
function attemptSpan(job: Job<DeliverJobV1>, data: DeliverJobV1): TraceSpan {
  return startSpan('herald.delivery.attempt', {
    kind: SpanKind.CONSUMER,
    parent: data.traceparent,
    attributes: {
      'herald.delivery.id': data.deliveryId,
      'messaging.system': 'bullmq',
      'messaging.destination.name': QUEUES.deliver,
      'messaging.message.id': job.id ?? '',
      'herald.job.attempts_made': job.attemptsMade,
    },
  });
}

/**
 * An attempt that ends by throwing: a deferral (DelayedError) is no failure, and a retry or a final
 * failure already has its status from the classification; anything else is an error of its own.
 */
function endOfAttempt(span: TraceSpan, err: unknown): void {
  if (err instanceof DelayedError) return;
  if (err instanceof RetryLater) span.setAttribute('herald.retry_in_ms', err.delayMs);
  else if (!(err instanceof UnrecoverableError)) failSpan(span, err);
}
