import { Injectable } from '@nestjs/common';
import { ChannelRegistry, SafeHttpClient, TransportError, type ChannelTarget } from '@herald/channels';
import { newId, type ChannelType, type EventType, type HeraldEvent, type RateLimit } from '@herald/domain';
import type { ProjectEntity } from '@herald/persistence';
import { HeraldConfig } from '@herald/platform';
import { WebhookRateLimiter } from '@herald/queue';
import type { TestResultDto } from '../delivery-actions/delivery-actions.dto';

/** How much of the answer a test shows, as the attempt log keeps. */
const EXCERPT_CHARS = 1024;

export interface TestSend {
  type: ChannelType;
  /** The webhook's name, quoted in the message. */
  name: string;
  /** The event type the test message poses as (the webhook's first). */
  eventType: string;
  target: ChannelTarget;
  /** Rate-limit key and limit: the webhook's own for a saved one, so a test cannot get the sender blocked. */
  limiterKey: string;
  rateLimit: RateLimit | null;
}

/**
 * One test message through the channel's adapter and the same safety checks as a delivery, no
 * retry (SPEC §3): for a saved webhook and for a form not saved yet. Errors and the response
 * excerpt name the host, never the URL (a credential).
 */
@Injectable()
export class TestSender {
  constructor(
    private readonly channels: ChannelRegistry,
    private readonly http: SafeHttpClient,
    private readonly limiter: WebhookRateLimiter,
    private readonly config: HeraldConfig,
  ) {}

  async send(project: ProjectEntity, test: TestSend, started = Date.now()): Promise<TestResultDto> {
    const done = (result: Omit<TestResultDto, 'durationMs'>): TestResultDto => ({ ...result, durationMs: Date.now() - started });
    const adapter = this.channels.get(test.type);
    const { url } = test.target;
    const host = safeHost(url);
    try {
      adapter.validateUrl(url, this.config.extraAllowedHosts);
    } catch (err) {
      return done({ ok: false, error: (err as Error).message });
    }
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
    const prepared = adapter.render(event, test.target, { deliveryId: newId(), now, project: { id: project.id, key: project.key, name: project.name } });
    try {
      const response = await this.http.send(prepared);
      const verdict = adapter.classify(response, prepared);
      if (verdict.kind === 'rate_limited') await this.limiter.pause(test.limiterKey, Date.now() + verdict.retryAfterMs);
      const responseBody = scrub(response.body.slice(0, EXCERPT_CHARS), url, host);
      return done(
        verdict.kind === 'delivered'
          ? { ok: true, statusCode: response.statusCode, responseBody }
          : { ok: false, statusCode: response.statusCode, error: scrub(verdict.reason, url, host), responseBody },
      );
    } catch (err) {
      if (!(err instanceof TransportError)) throw err;
      return done({ ok: false, error: scrub(err.message, url, host) });
    }
  }
}

function safeHost(url: string): string {
  try {
    return new URL(url).hostname;
  } catch {
    return 'the stored URL';
  }
}

/** Belt and braces: whatever an error or a response says, the URL (a credential) never leaves. */
function scrub(message: string, url: string, host: string): string {
  return message.split(url).join(host);
}
