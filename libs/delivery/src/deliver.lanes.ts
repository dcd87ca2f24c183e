import { Injectable, Logger } from '@nestjs/common';
import { deliverJobId } from '@herald/contracts';
import { digestsAllowed, type RateLimit } from '@herald/domain';
import { DeliveryLanesRepository, type AttemptRecord, type DeliveryContext, type DigestMember } from '@herald/persistence';
import { isDependencyDown } from '@herald/platform';
import { HeraldQueues, WebhookRateLimiter, promoteDeliveryJobs, type RateDecision } from '@herald/queue';
import type { JobRun } from './deliver.run';
import { DeliveryMetrics } from './delivery-metrics';

/** The other deliveries a digest's message carries, claimed with the leader's token (issue 16). */
export interface DigestBatch {
  members: DigestMember[];
}

/**
 * Digests and ordered delivery (issue 16) as narrow hooks into the three steps of an attempt
 * (docs/architecture.md, "Digests" and "Ordered delivery"):
 *
 * - gate: after the rate limit allowed a send, a digest webhook's delivery claims up to `maxItems`
 *   of the webhook's waiting deliveries when more than `afterQueued` wait (`collect`); a refused
 *   delivery that is the webhook's oldest waiting one waits only until the limit's window has room,
 *   not for the slot its backlog is spread to (`refusedWaitMs`). Ordering needs no gate hook: the
 *   claim itself refuses a delivery while an earlier one of its subject is unfinished.
 * - attempt: the digest goes out through the one send path with the digest's body (deliver.attempt).
 * - settle: a delivered digest marks every delivery it carried `succeeded` (`settleDelivered`); a
 *   failed one gives the members back (`releaseMembers`); a finished delivery wakes the next of its
 *   subject, and a message that went through wakes the digest webhook's next waiting delivery
 *   (`afterFinish`), so a backlog drains at the limit's pace, a message per window.
 */
@Injectable()
export class DeliveryLanes {
  private readonly logger = new Logger('Delivery');

  constructor(
    private readonly lanes: DeliveryLanesRepository,
    private readonly queues: HeraldQueues,
    private readonly limiter: WebhookRateLimiter,
    private readonly metrics: DeliveryMetrics,
  ) {}

  /**
   * Gate, once the limit allowed the send: claims the digest's other deliveries, if more than
   * `afterQueued` wait. The claim takes a moment (more under load), so the limiter's log then
   * takes the message's real departure time (`restampLatest`): the next message keeps a full
   * window from this one as the receiver sees it.
   */
  async collect(run: JobRun, ctx: DeliveryContext, maxAttemptMs: number, limit: RateLimit | null): Promise<void> {
    const policy = ctx.webhook.digest;
    if (!policy || !ctx.delivery.digestible || !digestsAllowed(ctx.webhook.type)) return;
    run.at('digest');
    const members = await run.orDelay(() =>
      this.lanes.claimDigest({
        leadId: ctx.delivery.id,
        webhookId: ctx.webhook.id,
        token: run.claimToken,
        afterQueued: policy.afterQueued,
        maxItems: policy.maxItems,
        maxAttemptMs,
      }),
    );
    if (members.length === 0) return;
    run.digest = { members };
    await this.limiter
      .restampLatest(ctx.webhook.id, limit)
      .catch((err: Error) => this.logger.debug({ deliveryId: ctx.delivery.id }, `rate limit log not restamped: ${err.message}`));
    run.span?.setAttribute('herald.digest.items', members.length + 1);
  }

  /**
   * Gate, when the limit refused: how long to wait. The oldest waiting delivery of a digest
   * webhook sends the next message, so it waits only until the window has room; the others wait
   * for the slot the limiter spread them to (most are carried by a digest before then).
   */
  async refusedWaitMs(ctx: DeliveryContext, decision: Extract<RateDecision, { allowed: false }>): Promise<number> {
    if (decision.reason !== 'limit' || decision.windowWaitMs === undefined || !ctx.webhook.digest || !ctx.delivery.digestible) return decision.waitMs;
    try {
      return (await this.lanes.isDigestHead(ctx.webhook.id, ctx.delivery.id)) ? decision.windowWaitMs : decision.waitMs;
    } catch {
      return decision.waitMs;
    }
  }

  /**
   * Settle, the digest's message delivered: the leader and every member still held by its claim
   * become `succeeded`, each attempt naming the leader. A short Postgres blip is retried here (the
   * message was sent); a longer outage puts the job back, and the deliveries are sent again once
   * their claims count as abandoned (at least once).
   */
  async settleDelivered(run: JobRun, ctx: DeliveryContext, record: AttemptRecord): Promise<string> {
    const members = run.digest?.members ?? [];
    const channel = ctx.webhook.type;
    run.at('record');
    let recorded: { leadAttempt: number; members: string[] };
    for (let i = 0; ; i++) {
      try {
        recorded = await this.lanes.recordDigest(
          ctx.delivery.id,
          run.claimToken,
          members.map((m) => m.deliveryId),
          record,
        );
        break;
      } catch (err) {
        if (!isDependencyDown(err) || i >= 3) return run.orDelay(() => Promise.reject(err));
        await new Promise((r) => setTimeout(r, 500 * (i + 1)));
      }
    }
    const finished = (recorded.leadAttempt > 0 ? 1 : 0) + recorded.members.length;
    this.metrics.deliveriesFinished.inc({ channel, status: 'succeeded' }, finished);
    const now = Date.now();
    if (recorded.leadAttempt > 0) this.metrics.deliveryLatency.observe({ channel }, (now - ctx.event.receivedAt.getTime()) / 1000);
    const done = new Set(recorded.members);
    for (const m of members) if (done.has(m.deliveryId)) this.metrics.deliveryLatency.observe({ channel }, (now - m.event.receivedAt.getTime()) / 1000);
    run.span?.setAttributes({ 'herald.outcome': 'delivered', 'herald.digest.recorded': finished });
    this.logger.debug({ deliveryId: ctx.delivery.id, webhookId: ctx.webhook.id, items: members.length + 1, recorded: finished }, 'digest delivered');
    await this.afterFinish(ctx, [ctx.delivery.subject, ...members.map((m) => m.subject)], true);
    return recorded.leadAttempt > 0
      ? `delivered a digest of ${members.length + 1}`
      : `delivered a digest of ${members.length + 1}; another attempt had taken the leading delivery over`;
  }

  /** Settle, the digest's message not delivered: the members wait again, unattempted; the leader's attempt says it was a digest. */
  async releaseMembers(run: JobRun, ctx: DeliveryContext, reason: string): Promise<void> {
    const members = run.digest?.members ?? [];
    if (members.length === 0) return;
    try {
      await this.lanes.releaseDigest(
        members.map((m) => m.deliveryId),
        run.claimToken,
        `a digest led by delivery ${ctx.delivery.id} was not delivered: ${reason}`,
      );
      await this.lanes.markDigestAttempt(ctx.delivery.id, members.length + 1);
    } catch (err) {
      // Unreleased members are taken over once their claim counts as abandoned.
      this.logger.warn({ deliveryId: ctx.delivery.id }, `digest members not released: ${(err as Error).message}`);
    }
  }

  /**
   * A delivery (or a digest's deliveries) finished: wake the next delivery of each subject (it
   * waits without an attempt until then), and after a message that went through, the digest
   * webhook's oldest waiting delivery. Best effort: the held ones also ask again by themselves.
   */
  async afterFinish(ctx: DeliveryContext, subjects: ReadonlyArray<string | null>, sent: boolean): Promise<void> {
    try {
      const targets = [];
      const own = subjects.filter((s): s is string => !!s);
      if (ctx.webhook.ordering === 'subject' && own.length) targets.push(...(await this.lanes.nextOfSubjects(ctx.webhook.id, own)));
      if (sent && ctx.webhook.digest && ctx.delivery.digestible && digestsAllowed(ctx.webhook.type)) {
        const head = await this.lanes.nextDigestHead(ctx.webhook.id);
        if (head) targets.push(head);
      }
      await promoteDeliveryJobs(this.queues, [...new Set(targets.map((t) => deliverJobId(t.deliveryId, t.replay)))]);
    } catch (err) {
      this.logger.debug({ deliveryId: ctx.delivery.id }, `next deliveries not woken (they ask again by themselves): ${(err as Error).message}`);
    }
  }
}
