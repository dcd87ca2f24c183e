import { Injectable } from '@nestjs/common';
import { ChannelSender, type PlainEndpoint, type StoredEndpoint } from '@herald/channels';
import { newId, type EventType, type HeraldEvent, type RateLimit } from '@herald/domain';
import type { ProjectEntity } from '@herald/persistence';
import { HeraldConfig } from '@herald/platform';
import { WebhookRateLimiter } from '@herald/queue';
import type { TestResultDto } from '../delivery-actions/delivery-actions.dto';

export interface TestSend {
  /** A saved webhook (its stored, encrypted target) or a form not saved yet. */
  endpoint: StoredEndpoint | PlainEndpoint;
  /** The webhook's name, quoted in the message. */
  name: string;
  /** The event type the test message poses as (the webhook's first). */
  eventType: string;
  /** Rate-limit key and limit: the webhook's own for a saved one, so a test cannot get the sender blocked. */
  limiterKey: string;
  rateLimit: RateLimit | null;
}

/**
 * One test message, no retry (docs/contract.md §3.6), for a saved webhook and for a form not saved yet: through
 * the same send path as a delivery (ChannelSender: decrypt, locale, render, the safe client,
 * classify, secrets kept out), after the webhook's rate limit and platform pause, and with the
 * URL checked against the channel's allow-list as it is now. Errors and the response excerpt name
 * the host, never the URL (a credential).
 */
@Injectable()
export class TestSender {
  constructor(
    private readonly sender: ChannelSender,
    private readonly limiter: WebhookRateLimiter,
    private readonly config: HeraldConfig,
  ) {}

  async send(project: ProjectEntity, test: TestSend, started = Date.now()): Promise<TestResultDto> {
    const done = (result: Omit<TestResultDto, 'durationMs'>): TestResultDto => ({ ...result, durationMs: Date.now() - started });
    const decision = await this.limiter.acquire(test.limiterKey, test.rateLimit);
    if (!decision.allowed) {
      const why = decision.reason === 'paused' ? 'the platform asked Herald to wait' : 'the webhook is at its rate limit';
      return done({ ok: false, error: `not sent: ${why}; try again in ${Math.ceil(decision.waitMs / 1000)} s` });
    }
    const now = new Date();
    const event: HeraldEvent = {
      id: newId(),
      type: test.eventType as EventType,
      level: 'INFO',
      title: 'Test message from Herald',
      description: `Sent to check the webhook "${test.name}". No real event caused it.`,
      occurredAt: now.toISOString(),
      receivedAt: now.toISOString(),
      projectKey: project.key,
      source: 'api',
    };
    const context = { deliveryId: newId(), now, project: { id: project.id, key: project.key, name: project.name } };
    const {
      classification: verdict,
      statusCode,
      responseBody,
    } = await this.sender.send({ endpoint: test.endpoint, event, context, allowListExtraHosts: this.config.extraAllowedHosts });
    if (verdict.kind === 'rate_limited') await this.limiter.pause(test.limiterKey, Date.now() + verdict.retryAfterMs);
    const answer = { ...(statusCode !== null && { statusCode }), ...(responseBody !== null && { responseBody }) };
    return done(verdict.kind === 'delivered' ? { ok: true, ...answer } : { ok: false, error: verdict.reason, ...answer });
  }
}
