import { Injectable, Logger, Optional } from '@nestjs/common';
import { UnrecoverableError } from 'bullmq';
import { settleAttempt, type DeliveryStatus } from '@herald/domain';
import { DeliveryRepository, type AttemptRecord, type DeliveryContext } from '@herald/persistence';
import { HeraldConfig, isDependencyDown } from '@herald/platform';
import { DeliveryMetrics } from './delivery-metrics';
import { RetryLater, WebhookRateLimiter } from '@herald/queue';
import type { AttemptResult } from './deliver.attempt';
import { DeliveryLanes } from './deliver.lanes';
import type { JobRun } from './deliver.run';

/** A job's answer when its claim no longer held the delivery at record time. */
export const SUPERSEDED = 'superseded: another attempt holds this delivery';

type StoredStatus = Exclude<DeliveryStatus, 'delivering'>;

/**
 * The last step of an attempt: apply the retry rules (`settleAttempt`, libs/domain) to the
 * verdict, record the attempt and the delivery's new status in one statement, count it, check
 * auto-disable after a final failure, and give BullMQ its outcome: complete (delivered), retry
 * after the schedule's delay (`RetryLater`), fail for good (`UnrecoverableError`), or wait
 * without using an attempt (a platform's Retry-After: moveToDelayed + DelayedError).
 */
@Injectable()
export class DeliverySettle {
  private readonly logger = new Logger('Delivery');

  constructor(
    private readonly deliveries: DeliveryRepository,
    private readonly limiter: WebhookRateLimiter,
    private readonly metrics: DeliveryMetrics,
    private readonly config: HeraldConfig,
    /** Digests and ordering (issue 16); without it (unit specs of other concerns) nothing is woken. */
    @Optional() private readonly lanes?: DeliveryLanes,
  ) {}

  async settle(run: JobRun, ctx: DeliveryContext, result: AttemptResult): Promise<string> {
    const channel = ctx.webhook.type;
    if (result.via === 'direct messages') {
      if (!(await this.record(run, ctx, 'succeeded', null, result.record, true))) return SUPERSEDED;
      run.span?.setAttribute('herald.outcome', 'delivered');
      this.metrics.deliveriesFinished.inc({ channel, status: 'succeeded' });
      await this.lanes?.afterFinish(ctx, [ctx.delivery.subject], false);
      return 'delivered by direct message';
    }

    const { classification, record } = result;
    // A digest's message (issue 16) that went through: every delivery it carried is delivered.
    if (run.digest && this.lanes && classification.kind === 'delivered') return this.lanes.settleDelivered(run, ctx, record);
    run.at('record');
    const settlement = settleAttempt(classification, ctx.delivery, this.config.retryScheduleMs, Date.now());
    if (settlement.pauseUntilMs !== null) {
      // The platform asked us to wait: the pause holds the whole webhook, in every worker.
      await this.limiter.pause(ctx.webhook.id, settlement.pauseUntilMs);
      this.metrics.rateLimitDeferrals.inc({ channel, reason: 'platform' });
    }
    const next = settlement.nextAttemptAtMs === null ? null : new Date(settlement.nextAttemptAtMs);
    if (!(await this.record(run, ctx, settlement.status, next, record, settlement.usesAttempt))) return SUPERSEDED;
    if (run.digest && classification.kind !== 'delivered') await this.lanes?.releaseMembers(run, ctx, classification.reason);

    const log = { deliveryId: ctx.delivery.id, eventId: ctx.event.id, webhookId: ctx.webhook.id, attempt: ctx.delivery.attemptCount + 1 };
    const reason = classification.kind === 'delivered' ? '' : classification.reason;
    switch (settlement.then) {
      case 'complete':
        this.metrics.deliveriesFinished.inc({ channel, status: 'succeeded' });
        this.metrics.deliveryLatency.observe({ channel }, (Date.now() - ctx.event.receivedAt.getTime()) / 1000);
        this.logger.debug({ ...log, durationMs: record.durationMs }, 'delivered');
        await this.lanes?.afterFinish(ctx, [ctx.delivery.subject], true);
        return 'delivered';
      case 'hold':
        // Within the free streak of rate-limited answers: no attempt used.
        this.logger.warn(
          { ...log, retryAfterMs: classification.kind === 'rate_limited' ? classification.retryAfterMs : undefined },
          `rate limited by the platform: ${reason}`,
        );
        return run.deferUntil(settlement.nextAttemptAtMs);
      case 'retry':
        this.logger.log({ ...log, delayMs: settlement.delayMs, error: reason }, 'attempt failed, will retry');
        throw new RetryLater(reason, settlement.delayMs);
      case 'fail': {
        this.metrics.deliveriesFinished.inc({ channel, status: settlement.status });
        const gone = classification.kind === 'rejected' && classification.gone;
        await this.autoDisable(ctx, gone ? 'the endpoint answered 410 Gone' : null);
        // A failed or dead delivery no longer holds the later ones of its subject.
        await this.lanes?.afterFinish(ctx, [ctx.delivery.subject], false);
        this.logger.warn(
          { ...log, error: reason },
          settlement.status === 'dead' ? 'retry schedule exhausted: delivery is dead (replayable)' : 'rejected: delivery failed (replayable)',
        );
        throw new UnrecoverableError(reason);
      }
    }
  }

  /**
   * Records the attempt. The request was already sent, so a short Postgres blip is retried here
   * rather than by re-sending; a longer outage puts the job back (it will be sent again: at least once).
   * Returns false when this claim no longer holds the delivery (another attempt took over, or
   * the delivery was replayed): nothing was written, and the job must stop.
   */
  private async record(
    run: JobRun,
    ctx: DeliveryContext,
    status: StoredStatus,
    next: Date | null,
    attempt: AttemptRecord,
    usesAttempt: boolean,
  ): Promise<boolean> {
    run.span?.setAttribute('herald.delivery.status', status);
    for (let i = 0; ; i++) {
      try {
        const number = await this.deliveries.recordAttempt(ctx.delivery.id, run.claimToken, status, next, attempt, usesAttempt);
        if (number === 0) {
          this.logger.warn(
            { deliveryId: ctx.delivery.id, outcome: attempt.outcome },
            'attempt result not recorded: another attempt took this delivery over (this job lost its lock or was replaced by a replay)',
          );
        }
        return number > 0;
      } catch (err) {
        if (!isDependencyDown(err) || i >= 3) return run.orDelay(() => Promise.reject(err));
        await new Promise((r) => setTimeout(r, 500 * (i + 1)));
      }
    }
  }

  /**
   * docs/contract.md §6.7: a 410 disables the webhook at once; otherwise it is disabled when its last
   * `HERALD_AUTO_DISABLE_FAILURES` deliveries all failed over at least `HERALD_AUTO_DISABLE_DAYS`.
   * Best effort: the delivery's own outcome is already recorded.
   */
  private async autoDisable(ctx: DeliveryContext, goneReason: string | null): Promise<void> {
    const { autoDisableFailures: failures, autoDisableDays: days } = this.config;
    try {
      const disabled = goneReason
        ? await this.deliveries.disable(ctx.webhook.id, goneReason)
        : await this.deliveries.disableIfFailing(ctx.webhook.id, failures, days, `the last ${failures} deliveries failed over ${days} days or more`);
      if (!disabled) return;
      this.metrics.webhooksDisabled.inc({ reason: goneReason ? 'gone' : 'failure_streak' });
      this.logger.warn({ webhookId: ctx.webhook.id }, `webhook disabled: ${goneReason ?? 'failure streak'}; re-enable with PATCH {enabled: true}`);
    } catch (err) {
      this.logger.warn({ webhookId: ctx.webhook.id }, `auto-disable check skipped: ${(err as Error).message}`);
    }
  }
}
