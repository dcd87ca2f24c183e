import { Injectable, Logger } from '@nestjs/common';
import {
  ChannelSender,
  DirectMessenger,
  buildDigest,
  renderDigest,
  type Classification,
  type DirectMessageResult,
  type RenderContext,
  type SendRequest,
} from '@herald/channels';
import type { HeraldEvent } from '@herald/domain';
import type { AttemptRecord, DeliveryContext } from '@herald/persistence';
import { SpanStatusCode, inSpan, type TraceSpan } from '@herald/platform';
import type { DigestBatch } from './deliver.lanes';
import { DeliveryMetrics } from './delivery-metrics';
import type { JobRun } from './deliver.run';
import { toHeraldEvent } from './event-view';

/** What an attempt did: messaged everyone directly (no channel post needed), or posted to the channel and got a verdict. */
export type AttemptResult = { via: 'direct messages'; record: AttemptRecord } | { via: 'channel'; classification: Classification; record: AttemptRecord };

/**
 * The middle step of an attempt, once the gate let it through: direct messages first (docs/contract.md §7.4:
 * each mentioned user at most once per delivery, across retries), then — unless everyone was
 * messaged — the channel post through the one send path (`ChannelSender`: decrypt, render,
 * send, classify). Never throws for the endpoint's answer: every outcome is a classification the
 * settle step records. Postgres away during direct messages puts the job back (no attempt used).
 */
@Injectable()
export class DeliveryAttempt {
  private readonly logger = new Logger('Delivery');

  constructor(
    private readonly sender: ChannelSender,
    private readonly dms: DirectMessenger,
    private readonly metrics: DeliveryMetrics,
  ) {}

  async run(run: JobRun, ctx: DeliveryContext): Promise<AttemptResult> {
    const { span } = run;
    const event = toHeraldEvent(ctx);
    const context: RenderContext = {
      deliveryId: ctx.delivery.id,
      now: new Date(),
      project: { id: ctx.project.id, key: ctx.project.key, name: ctx.project.name },
    };

    // The channel post is still sent when DMs do not apply or someone fell back to it. A digest
    // (issue 16) carries no direct-message event of a DM webhook: its one message is the post.
    const dmStarted = new Date();
    run.at('direct messages');
    const dm = run.digest
      ? { postToChannel: true as const }
      : await run.orDelay(() =>
          span && ctx.webhook.directMessage ? this.tracedDirectMessages(span, event, ctx, context) : this.dms.send(event, ctx.webhook, context),
        );
    if (!dm.postToChannel) {
      return {
        via: 'direct messages',
        record: {
          startedAt: dmStarted,
          durationMs: Date.now() - dmStarted.getTime(),
          statusCode: null,
          outcome: 'delivered',
          error: null,
          responseBody: `direct messages: ${dm.messaged.length} sent, ${dm.alreadyMessaged.length} sent by an earlier attempt; no channel post needed`,
        },
      };
    }

    const render = run.digest ? digestBody(ctx, event, run.digest, context) : undefined;
    const sent = await this.sender.send({ endpoint: ctx.webhook, event, context, onSend: (host) => run.at('send', host), span, render });
    const { classification } = sent;
    const channel = ctx.webhook.type;
    if (sent.templateError) {
      // The built-in message went out instead (issue 16); the template's author finds out here and in the preview.
      this.metrics.templateFallbacks.inc({ channel });
      this.logger.warn(
        { deliveryId: ctx.delivery.id, webhookId: ctx.webhook.id, eventType: ctx.event.type, reason: sent.templateError },
        `message template failed, built-in message sent: ${sent.templateError}`,
      );
    }
    this.metrics.attemptDuration.observe({ channel }, sent.durationMs / 1000);
    this.metrics.deliveries.inc({ channel, outcome: classification.kind });
    if (span) {
      span.setAttribute('herald.outcome', classification.kind);
      if (sent.statusCode !== null) span.setAttribute('http.response.status_code', sent.statusCode);
      if (classification.kind !== 'delivered') span.setStatus({ code: SpanStatusCode.ERROR, message: classification.reason });
    }
    return {
      via: 'channel',
      classification,
      record: {
        startedAt: sent.startedAt,
        durationMs: sent.durationMs,
        statusCode: sent.statusCode,
        outcome: classification.kind,
        error: classification.kind === 'delivered' ? null : classification.reason,
        responseBody: sent.responseBody,
      },
    };
  }

  /** The direct messages of an attempt (webhooks with `directMessage`) as a span under the attempt's. */
  private tracedDirectMessages(parent: TraceSpan, event: HeraldEvent, ctx: DeliveryContext, context: RenderContext): Promise<DirectMessageResult> {
    return inSpan('herald.delivery.direct_messages', { parent }, async (span) => {
      const dm = await this.dms.send(event, ctx.webhook, context);
      span.setAttributes({
        'herald.dm.attempted': dm.attempted,
        'herald.dm.messaged': dm.messaged.length,
        'herald.dm.already_messaged': dm.alreadyMessaged.length,
        'herald.dm.fallback': dm.fallback.length,
        'herald.dm.post_to_channel': dm.postToChannel,
      });
      if (dm.skipped) span.setAttribute('herald.dm.skipped', dm.skipped);
      return dm;
    });
  }
}

/** A digest's body (issue 16): the leader's and the members' events, in the order they were accepted, as the webhook's platform shows them. */
function digestBody(ctx: DeliveryContext, lead: HeraldEvent, digest: DigestBatch, context: RenderContext): NonNullable<SendRequest['render']> {
  const events = [lead, ...digest.members.map((m) => toHeraldEvent({ event: m.event, project: ctx.project }))].sort((a, b) =>
    a.id < b.id ? -1 : a.id > b.id ? 1 : 0,
  );
  return (target) => renderDigest(ctx.webhook.type, buildDigest(events, context.project, target.locale), target, context);
}
