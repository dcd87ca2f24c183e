import { Injectable } from '@nestjs/common';
import { ChannelRegistry } from '@herald/channels';
import { Conflict, NotFound, ValidationFailed, effectiveRateLimit } from '@herald/domain';
import { DeliveryRepository, WebhookRepository, type ProjectEntity, type WebhookEntity } from '@herald/persistence';
import { TestSender } from '../webhook-trial/test-sender';
import type { RecoverResultDto, ReplayResultDto, TestResultDto } from './delivery-actions.dto';

/** Replay, recover (docs/contract.md §3.10, §6.2) and the synchronous test send (docs/contract.md §3.6). */
@Injectable()
export class DeliveryActionsService {
  constructor(
    private readonly deliveries: DeliveryRepository,
    private readonly webhooks: WebhookRepository,
    private readonly channels: ChannelRegistry,
    private readonly sender: TestSender,
  ) {}

  /** A new attempt chain under the same delivery id (so the same `webhook-id`), queued through the outbox. */
  async replay(projectId: number, deliveryId: string): Promise<ReplayResultDto> {
    // A disabled webhook's replay would only end `failed` again: say so now, as recover does.
    const webhook = await this.webhooks.get(projectId, (await this.deliveries.get(projectId, deliveryId)).webhookId);
    if (!webhook.enabled) throw new Conflict(disabledMessage(webhook, 'replaying its deliveries'));
    const result = await this.deliveries.replay(projectId, deliveryId);
    if (result === 'not_found') throw new NotFound(`delivery ${deliveryId} not found`);
    if (result === 'in_progress') throw new Conflict(`delivery ${deliveryId} is still pending or being delivered; replay it once it has finished`);
    return { id: deliveryId, status: 'pending', replay: result.replay };
  }

  async recover(webhook: WebhookEntity, since: Date, until: Date = new Date()): Promise<RecoverResultDto> {
    if (until.getTime() <= since.getTime()) throw new ValidationFailed([{ field: 'until', message: 'must be later than since' }]);
    if (!webhook.enabled) throw new Conflict(disabledMessage(webhook, 'recovering its deliveries'));
    return { queued: await this.deliveries.recover(webhook.id, since, until) };
  }

  /**
   * One test message through the webhook's adapter and the same send path as a delivery, no
   * retry (TestSender). It respects the webhook's rate limit and platform pause (a test must not
   * get the sender blocked).
   */
  async test(project: ProjectEntity, webhook: WebhookEntity): Promise<TestResultDto> {
    const adapter = this.channels.get(webhook.type);
    const eventType = webhook.events[0] ?? 'bb.issue.create';
    return this.sender.send(project, {
      // The test message goes through the webhook's template for that type, as a delivery would.
      endpoint: { ...webhook, template: webhook.templates?.[eventType] ?? null },
      name: webhook.name,
      eventType,
      limiterKey: webhook.id,
      rateLimit: effectiveRateLimit(webhook, adapter),
    });
  }
}

function disabledMessage(webhook: WebhookEntity, action: string): string {
  const why = webhook.disabledReason ? ` (${webhook.disabledReason})` : '';
  return `webhook ${webhook.id} is disabled${why}; re-enable it with PATCH {"enabled": true} before ${action}`;
}
