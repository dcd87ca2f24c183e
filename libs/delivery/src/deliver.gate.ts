import { Injectable, Logger, Optional } from '@nestjs/common';
import { ChannelRegistry } from '@herald/channels';
import { effectiveRateLimit } from '@herald/domain';
import { DeliveryRepository, type DeliveryContext } from '@herald/persistence';
import { HeraldConfig } from '@herald/platform';
import { WebhookRateLimiter, isRedisUnavailable, type RateDecision } from '@herald/queue';
import { DeliveryLanes } from './deliver.lanes';
import { DeliveryMetrics } from './delivery-metrics';
import type { JobRun } from './deliver.run';

/** How long a job waits when Redis was unreachable for its rate limit check (it is back once the job can be put back). */
const REDIS_RETRY_MS = 1000;
/** Database steps, logging and the BullMQ round trips around an attempt, beyond its two deadlines. */
const ATTEMPT_OVERHEAD_MS = 5000;

/**
 * The longest one attempt can last: direct messages (one HERALD_DELIVERY_TIMEOUT_MS for all IM
 * calls), the channel post (one deadline), and the steps around them. An attempt in progress for
 * longer was abandoned (its worker died or lost the job), so another claim may take over.
 */
export function longestAttemptMs(config: Pick<HeraldConfig, 'deliveryTimeoutMs'>): number {
  return 2 * config.deliveryTimeoutMs + ATTEMPT_OVERHEAD_MS;
}

/** Through the gate: the claimed delivery, to attempt now; or the job's answer when there is nothing to send. */
export type GateResult = { open: true; ctx: DeliveryContext } | { open: false; result: string };

/**
 * The first step of an attempt: claim the delivery (one attempt at a time, docs/contract.md §6.2), give a
 * disabled webhook's delivery up, and ask the webhook's rate limit and platform pause (docs/contract.md §6.3).
 * Whatever waits — another attempt holds the delivery, its retry is not due, the limit or a pause
 * refuses, Postgres or Redis is away — puts the job back without using an attempt (it throws
 * BullMQ's DelayedError).
 */
@Injectable()
export class DeliveryGate {
  private readonly logger = new Logger('Delivery');
  private readonly maxAttemptMs: number;

  constructor(
    private readonly deliveries: DeliveryRepository,
    private readonly channels: ChannelRegistry,
    private readonly limiter: WebhookRateLimiter,
    private readonly metrics: DeliveryMetrics,
    config: HeraldConfig,
    /** Digests (issue 16); without it (unit specs of other concerns) every delivery is its own message. */
    @Optional() private readonly lanes?: DeliveryLanes,
  ) {
    this.maxAttemptMs = longestAttemptMs(config);
  }

  async pass(run: JobRun): Promise<GateResult> {
    const { deliveryId, claimToken, span } = run;
    const claim = await run.orDelay(() => this.deliveries.claim({ deliveryId, replay: run.replay, token: claimToken, maxAttemptMs: this.maxAttemptMs }));
    if (claim.kind === 'done') return { open: false, result: claim.reason };
    if (claim.kind === 'wait') {
      // Not an attempt: another one holds the delivery, the retry is not due, or (ordering by
      // subject) an earlier delivery of its subject is unfinished; ask again then.
      span?.setAttribute('herald.deferred', claim.heldBy ? claim.reason : 'another attempt holds the delivery, or its retry is not due');
      return run.deferUntil(Date.now() + claim.waitMs);
    }
    const ctx = claim.context;
    span?.setAttributes({
      'herald.channel': ctx.webhook.type,
      'herald.webhook.id': ctx.webhook.id,
      'herald.event.id': ctx.event.id,
      'herald.attempt': ctx.delivery.attemptCount + 1,
    });
    if (!ctx.webhook.enabled) {
      // Kept replayable: PATCH {enabled: true} and a replay or recover sends it.
      const why = `webhook disabled${ctx.webhook.disabledReason ? `: ${ctx.webhook.disabledReason}` : ''}`;
      await run.orDelay(() => this.deliveries.release(deliveryId, claimToken, 'failed', null, why));
      return { open: false, result: 'webhook disabled' };
    }
    await this.rateLimit(run, ctx);
    await this.lanes?.collect(run, ctx, this.maxAttemptMs, effectiveRateLimit(ctx.webhook, this.channels.get(ctx.webhook.type)));
    return { open: true, ctx };
  }

  /** Over the webhook's limit, or paused by its platform: wait without using an attempt (docs/contract.md §6.3). */
  private async rateLimit(run: JobRun, ctx: DeliveryContext): Promise<void> {
    const { deliveryId, claimToken } = run;
    const channel = ctx.webhook.type;
    run.at('rate limit');
    let decision: RateDecision;
    try {
      decision = await this.limiter.acquire(ctx.webhook.id, effectiveRateLimit(ctx.webhook, this.channels.get(channel)));
    } catch (err) {
      // Nothing was sent: give the claim back, or the next try would wait until this attempt counts
      // as abandoned (longestAttemptMs). Redis away (a restart, a failover) uses no attempt either.
      await run.orDelay(() => this.deliveries.release(deliveryId, claimToken, 'pending', null, null));
      if (!isRedisUnavailable(err)) throw err;
      this.logger.warn({ deliveryId }, `redis unavailable for the rate limit check, delivery waits: ${(err as Error).message}`);
      return run.deferUntil(Date.now() + REDIS_RETRY_MS);
    }
    if (decision.allowed) return;
    const waitMs = this.lanes ? await this.lanes.refusedWaitMs(ctx, decision) : decision.waitMs;
    const until = Date.now() + waitMs;
    await run.orDelay(() => this.deliveries.release(deliveryId, claimToken, 'pending', new Date(until), null));
    this.metrics.rateLimitDeferrals.inc({ channel, reason: decision.reason });
    run.span?.setAttribute('herald.deferred', `rate limit (${decision.reason}): waits ${waitMs} ms`);
    return run.deferUntil(until);
  }
}
