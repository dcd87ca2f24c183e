import { Controller, Get, Param } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiProperty, ApiResponse, ApiTags } from '@nestjs/swagger';
import { ChannelRegistry } from '@herald/channels';
import { effectiveLocale, type EventLevel, type EventType, type HeraldEvent } from '@herald/domain';
import { DeliveryRepository, EventRepository, ProjectRepository, WebhookRepository, type DeliveryAttemptEntity, type WebhookEntity } from '@herald/persistence';
import { CurrentPrincipal, SecretBox, secretContext, type Principal } from '@herald/platform';
import { SECRET_OVERLAP_MS } from '../webhooks/webhooks.service';

export class AttemptRequestDto {
  @ApiProperty() number: number;
  @ApiProperty() startedAt: string;
  @ApiProperty({ example: 'POST' }) method: string;
  @ApiProperty({ description: "The webhook's masked URL (the URL is a credential)" }) urlMasked: string;
  @ApiProperty({ type: 'object', additionalProperties: { type: 'string' }, description: 'Headers as sent, signatures included; never a secret' })
  headers: Record<string, string>;
}

export class DeliveryRequestsDto {
  @ApiProperty({ type: [AttemptRequestDto] }) items: AttemptRequestDto[];
  @ApiProperty({ description: 'How the headers were obtained, and when they may differ from what was sent' }) note: string;
}

/** Headers that could carry a credential are never shown, whatever a channel puts in them. */
const HIDDEN = /^(authorization|proxy-authorization|cookie|x-api-key)$/i;

/**
 * The request headers of each attempt, for the delivery log's detail (signatures, webhook-id,
 * webhook-timestamp). Attempts store their response, not their request, so the request is
 * rendered again by the channel's adapter, which is pure: the same event, delivery id, second and
 * secret give the same bytes. The secret is the one that signed at that time (during a rotation,
 * both).
 */
@ApiTags('deliveries')
@ApiBearerAuth()
@Controller('v1/projects/:key/deliveries/:id/requests')
export class DeliveryRequestsController {
  constructor(
    private readonly projects: ProjectRepository,
    private readonly deliveries: DeliveryRepository,
    private readonly events: EventRepository,
    private readonly webhooks: WebhookRepository,
    private readonly channels: ChannelRegistry,
    private readonly secrets: SecretBox,
  ) {}

  @Get()
  @ApiOperation({ summary: 'The request headers of each attempt (signatures included, secrets never), rendered again from the stored event' })
  @ApiResponse({ status: 200, type: DeliveryRequestsDto })
  async list(@CurrentPrincipal() principal: Principal, @Param('key') key: string, @Param('id') id: string): Promise<DeliveryRequestsDto> {
    const project = await this.projects.resolve(principal, key);
    const delivery = await this.deliveries.get(project.id, id);
    const [attempts, stored, webhook] = await Promise.all([
      this.deliveries.attempts(delivery.id),
      this.events.get(project.id, delivery.eventId),
      this.webhooks.get(project.id, delivery.webhookId),
    ]);
    const adapter = this.channels.get(webhook.type);
    const event: HeraldEvent = {
      ...(stored.body as Partial<HeraldEvent>),
      id: stored.id,
      type: stored.type as EventType,
      level: stored.level as EventLevel,
      title: stored.title,
      source: stored.source as HeraldEvent['source'],
      occurredAt: stored.occurredAt.toISOString(),
      receivedAt: stored.receivedAt.toISOString(),
      projectKey: project.key,
    };
    const items: AttemptRequestDto[] = [];
    for (const attempt of attempts.filter(sentToChannel)) {
      let headers: Record<string, string>;
      try {
        const target = {
          url: this.secrets.decrypt(webhook.urlEncrypted, secretContext.webhookUrl(webhook.id)),
          ...this.secretsAt(webhook, attempt.startedAt),
          locale: effectiveLocale(webhook.locale, adapter.defaultLocale),
        };
        headers = adapter.render(event, target, {
          deliveryId: delivery.id,
          now: attempt.startedAt,
          project: { id: project.id, key: project.key, name: project.name },
        }).headers;
      } catch {
        headers = {};
      }
      items.push({
        number: attempt.number,
        startedAt: attempt.startedAt.toISOString(),
        method: 'POST',
        urlMasked: webhook.urlMasked,
        headers: Object.fromEntries(Object.entries(headers).filter(([name]) => !HIDDEN.test(name))),
      });
    }
    return {
      items,
      note:
        "Rendered again from the stored event with the webhook's current settings and the secret that signed at the attempt's time. " +
        'They match what was sent unless the webhook was edited since (URL, language, or a secret rotated more than 24 h before).',
    };
  }

  /** The signing secrets in force at `at`: after a rotation the old one signs alongside for 24 h. */
  private secretsAt(w: WebhookEntity, at: Date): { secret: string | null; previousSecret: string | null } {
    const current = w.secretEncrypted ? this.secrets.decrypt(w.secretEncrypted, secretContext.webhookSecret(w.id)) : null;
    if (!w.previousSecretEncrypted || !w.previousSecretExpiresAt) return { secret: current, previousSecret: null };
    const previous = this.secrets.decrypt(w.previousSecretEncrypted, secretContext.webhookSecret(w.id));
    const rotatedAt = w.previousSecretExpiresAt.getTime() - SECRET_OVERLAP_MS;
    if (at.getTime() < rotatedAt) return { secret: previous, previousSecret: null };
    return { secret: current, previousSecret: at.getTime() < w.previousSecretExpiresAt.getTime() ? previous : null };
  }
}

/** Attempts that were direct messages only posted nothing to the channel's URL. */
const sentToChannel = (a: DeliveryAttemptEntity) => !(a.statusCode === null && a.responseBody?.startsWith('direct messages:'));
