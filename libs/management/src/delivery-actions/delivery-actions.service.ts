import { Injectable } from '@nestjs/common';
import { ChannelRegistry, SafeHttpClient, TransportError } from '@herald/channels';
import { Conflict, NotFound, ValidationFailed, newId, type EventType, type HeraldEvent } from '@herald/domain';
import { DeliveryRepository, WebhookRepository, type ProjectEntity, type WebhookEntity } from '@herald/persistence';
import { HeraldConfig, SecretBox, secretContext } from '@herald/platform';
import { WebhookRateLimiter, effectiveRateLimit } from '@herald/queue';
import type { RecoverResultDto, ReplayResultDto, TestResultDto } from './delivery-actions.dto';

/** Replay, recover (SPEC §3, §6.2) and the synchronous test send (SPEC §3). */
@Injectable()
export class DeliveryActionsService {
  constructor(
    private readonly deliveries: DeliveryRepository,
    private readonly webhooks: WebhookRepository,
    private readonly channels: ChannelRegistry,
    private readonly http: SafeHttpClient,
    private readonly secrets: SecretBox,
    private readonly limiter: WebhookRateLimiter,
    private readonly config: HeraldConfig,
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
   * One test message through the webhook's adapter and the same safety checks as a delivery, no
   * retry. It respects the webhook's rate limit and platform pause (a test must not get the sender
   * blocked). Errors name the host, never the stored URL.
   */
  async test(project: ProjectEntity, webhook: WebhookEntity): Promise<TestResultDto> {
    const adapter = this.channels.get(webhook.type);
    const started = Date.now();
    const done = (result: Omit<TestResultDto, 'durationMs'>): TestResultDto => ({ ...result, durationMs: Date.now() - started });
    let url: string;
    let secret: string | null;
    try {
      url = this.secrets.decrypt(webhook.urlEncrypted, secretContext.webhookUrl(webhook.id));
      secret = webhook.secretEncrypted ? this.secrets.decrypt(webhook.secretEncrypted, secretContext.webhookSecret(webhook.id)) : null;
    } catch {
      return done({ ok: false, error: UNDECRYPTABLE });
    }
    const host = safeHost(url);
    try {
      adapter.validateUrl(url, this.config.extraAllowedHosts);
    } catch (err) {
      return done({ ok: false, error: (err as Error).message });
    }
    const decision = await this.limiter.acquire(webhook.id, effectiveRateLimit(webhook, adapter));
    if (!decision.allowed) {
      const why = decision.reason === 'paused' ? 'the platform asked Herald to wait' : 'the webhook is at its rate limit';
      return done({ ok: false, error: `not sent: ${why}; try again in ${Math.ceil(decision.waitMs / 1000)} s` });
    }
    const now = new Date();
    const event: HeraldEvent = {
      id: newId(),
      type: (webhook.events[0] ?? 'bb.issue.create') as EventType,
      level: 'INFO',
      title: 'Test message from Herald',
      description: `Sent to check the webhook "${webhook.name}". No real event caused it.`,
      occurredAt: now.toISOString(),
      receivedAt: now.toISOString(),
      projectKey: project.key,
      source: 'api',
    };
    const prepared = adapter.render(
      event,
      { url, secret, previousSecret: null, locale: webhook.locale === 'zh' ? 'zh' : webhook.locale === 'en' ? 'en' : adapter.defaultLocale },
      { deliveryId: newId(), now, project: { id: project.id, key: project.key, name: project.name } },
    );
    try {
      const response = await this.http.send(prepared);
      const verdict = adapter.classify(response, prepared);
      if (verdict.kind === 'rate_limited') await this.limiter.pause(webhook.id, Date.now() + verdict.retryAfterMs);
      return done(verdict.kind === 'delivered' ? { ok: true, statusCode: response.statusCode } : { ok: false, statusCode: response.statusCode, error: scrub(verdict.reason, url, host) });
    } catch (err) {
      if (!(err instanceof TransportError)) throw err;
      return done({ ok: false, error: scrub(err.message, url, host) });
    }
  }
}

const UNDECRYPTABLE =
  "not sent: the webhook's stored URL or secret cannot be decrypted: HERALD_ENCRYPTION_KEY changed since it was saved; restore that key, or set the webhook's url (and secret) again";

function disabledMessage(webhook: WebhookEntity, action: string): string {
  const why = webhook.disabledReason ? ` (${webhook.disabledReason})` : '';
  return `webhook ${webhook.id} is disabled${why}; re-enable it with PATCH {"enabled": true} before ${action}`;
}

function safeHost(url: string): string {
  try {
    return new URL(url).hostname;
  } catch {
    return 'the stored URL';
  }
}

/** Belt and braces: whatever an error says, the stored URL (a credential) never leaves. */
function scrub(message: string, url: string, host: string): string {
  return message.split(url).join(host);
}
