import { Injectable, Logger } from '@nestjs/common';
import { DelayedError, UnrecoverableError, type Job } from 'bullmq';
import { parseDeliverJob, type DeliverJobV1 } from '@herald/contracts';
import { ChannelRegistry, DirectMessenger, SafeHttpClient, TransportError, type ChannelTarget, type Classification } from '@herald/channels';
import { withJitter, type DeliveryStatus } from '@herald/domain';
import { DeliveryRepository, type AttemptRecord, type DeliveryContext } from '@herald/persistence';
import { HeraldConfig, Metrics, SecretBox, isDependencyDown, secretContext, type SecretContext } from '@herald/platform';
import { RetryLater, WebhookRateLimiter, effectiveRateLimit } from '@herald/queue';
import { toHeraldEvent } from './event-view';

/** How much of a response the attempt log keeps (SPEC §3). */
const LOGGED_BODY_CHARS = 1024;
/** Decrypted webhook URLs and secrets kept per worker (keyed by ciphertext, so an update misses). */
const PLAINTEXT_CACHE_SIZE = 10_000;

/** How long a job waits when Postgres is unreachable, without using an attempt. */
const DEPENDENCY_RETRY_MS = 5000;

/**
 * One attempt of one delivery: claim it, render it with its channel's adapter, send it through
 * the safe client, let the adapter classify the answer, record the attempt, and map the outcome
 * onto BullMQ (retry with the schedule's delay, fail at once, or wait without using an attempt).
 */
@Injectable()
export class DeliverProcessor {
  private readonly logger = new Logger('Delivery');
  private readonly plaintexts = new Map<string, string>();

  constructor(
    private readonly deliveries: DeliveryRepository,
    private readonly channels: ChannelRegistry,
    private readonly http: SafeHttpClient,
    private readonly secrets: SecretBox,
    private readonly config: HeraldConfig,
    private readonly metrics: Metrics,
    private readonly limiter: WebhookRateLimiter,
    private readonly dms: DirectMessenger,
  ) {}

  readonly process = async (job: Job<DeliverJobV1>, token?: string): Promise<string> => {
    const { deliveryId } = parseDeliverJob(job.data);
    const ctx = await this.orDelay(job, token, () => this.deliveries.claim(deliveryId));
    if (!ctx) return 'already final';
    if (!ctx.webhook.enabled) {
      // Kept replayable: PATCH {enabled: true} and a replay or recover sends it.
      await this.orDelay(job, token, () =>
        this.deliveries.setStatus(deliveryId, 'failed', null, `webhook disabled${ctx.webhook.disabledReason ? `: ${ctx.webhook.disabledReason}` : ''}`),
      );
      return 'webhook disabled';
    }

    const adapter = this.channels.get(ctx.webhook.type);
    const channel = ctx.webhook.type;

    // Over the webhook's limit, or paused by its platform: wait without using an attempt (SPEC §6.3).
    const decision = await this.limiter.acquire(ctx.webhook.id, effectiveRateLimit(ctx.webhook, adapter));
    if (!decision.allowed) {
      const until = Date.now() + decision.waitMs;
      await this.orDelay(job, token, () => this.deliveries.setStatus(deliveryId, 'pending', new Date(until), null));
      this.metrics.rateLimitDeferrals.inc({ channel, reason: decision.reason });
      await job.moveToDelayed(until, token);
      throw new DelayedError();
    }

    const event = toHeraldEvent(ctx);
    const renderContext = { deliveryId, now: new Date(), project: { id: ctx.project.id, key: ctx.project.key, name: ctx.project.name } };

    // Direct messages first (SPEC §7): each mentioned user at most once per delivery, across
    // retries; the channel post is still sent when DMs do not apply or someone fell back to it.
    const dmStarted = new Date();
    const dm = await this.orDelay(job, token, () => this.dms.send(event, ctx.webhook, renderContext));
    if (!dm.postToChannel) {
      await this.record(job, token, deliveryId, 'succeeded', null, {
        startedAt: dmStarted,
        durationMs: Date.now() - dmStarted.getTime(),
        statusCode: null,
        outcome: 'delivered',
        error: null,
        responseBody: `direct messages: ${dm.messaged.length} sent, ${dm.alreadyMessaged.length} sent by an earlier attempt; no channel post needed`,
      });
      this.metrics.deliveriesFinished.inc({ channel, status: 'succeeded' });
      return 'delivered by direct message';
    }

    const startedAt = new Date();
    let classification: Classification;
    let statusCode: number | null = null;
    let responseBody: string | null = null;
    let target: ChannelTarget | null = null;
    try {
      target = this.target(ctx, adapter.defaultLocale);
      const prepared = adapter.render(event, target, renderContext);
      try {
        const response = await this.http.send(prepared);
        statusCode = response.statusCode;
        responseBody = response.body.slice(0, LOGGED_BODY_CHARS);
        classification = adapter.classify(response, prepared);
      } catch (err) {
        if (!(err instanceof TransportError)) throw err;
        classification = err.retryable ? { kind: 'retryable', reason: err.message } : { kind: 'rejected', reason: err.message };
      }
    } catch (err) {
      // Recorded as an attempt, never thrown on: BullMQ would retry it without a trace, and the
      // delivery would sit `delivering` until the reconciler re-queued it, again and again.
      const message = (err as Error).message ?? String(err);
      classification = target
        ? { kind: 'retryable', reason: `internal error rendering or sending: ${message.split(target.url).join('<webhook URL>')}` }
        : {
            // A ciphertext that does not decrypt now never will: no retry can help.
            kind: 'rejected',
            reason: `the webhook's stored URL or secret cannot be decrypted: HERALD_ENCRYPTION_KEY changed since it was saved (or the value is damaged); restore the key it was saved with, or set the webhook's url (and secret) again`,
          };
    }
    const durationMs = Date.now() - startedAt.getTime();
    this.metrics.attemptDuration.observe({ channel }, durationMs / 1000);
    this.metrics.deliveries.inc({ channel, outcome: classification.kind });

    const attempt: AttemptRecord = {
      startedAt,
      durationMs,
      statusCode,
      outcome: classification.kind,
      error: classification.kind === 'delivered' ? null : classification.reason,
      responseBody,
    };
    const log = { deliveryId, eventId: ctx.event.id, webhookId: ctx.webhook.id, attempt: ctx.delivery.attemptCount + 1 };

    switch (classification.kind) {
      case 'delivered': {
        await this.record(job, token, deliveryId, 'succeeded', null, attempt);
        this.metrics.deliveriesFinished.inc({ channel, status: 'succeeded' });
        this.metrics.deliveryLatency.observe({ channel }, (Date.now() - ctx.event.receivedAt.getTime()) / 1000);
        this.logger.debug({ ...log, durationMs }, 'delivered');
        return 'delivered';
      }
      case 'rate_limited': {
        // The platform asked us to wait: hold this delivery without using an attempt.
        const until = Date.now() + classification.retryAfterMs;
        // The pause holds the whole webhook, in every worker, not just this delivery.
        await this.limiter.pause(ctx.webhook.id, until);
        await this.record(job, token, deliveryId, 'pending', new Date(until), attempt);
        this.metrics.rateLimitDeferrals.inc({ channel, reason: 'platform' });
        this.logger.warn({ ...log, retryAfterMs: classification.retryAfterMs }, `rate limited by the platform: ${classification.reason}`);
        await job.moveToDelayed(until, token);
        throw new DelayedError();
      }
      case 'retryable': {
        const attemptsInChain = job.opts.attempts ?? 1;
        if (job.attemptsMade + 1 >= attemptsInChain) {
          await this.record(job, token, deliveryId, 'dead', null, attempt);
          this.metrics.deliveriesFinished.inc({ channel, status: 'dead' });
          await this.autoDisable(ctx, null);
          this.logger.warn({ ...log, error: classification.reason }, 'retry schedule exhausted: delivery is dead (replayable)');
          throw new UnrecoverableError(classification.reason);
        }
        const delayMs = withJitter(this.config.retryScheduleMs[job.attemptsMade + 1] ?? 0);
        await this.record(job, token, deliveryId, 'pending', new Date(Date.now() + delayMs), attempt);
        this.logger.log({ ...log, delayMs, error: classification.reason }, 'attempt failed, will retry');
        throw new RetryLater(classification.reason, delayMs);
      }
      case 'rejected': {
        await this.record(job, token, deliveryId, 'failed', null, attempt);
        this.metrics.deliveriesFinished.inc({ channel, status: 'failed' });
        await this.autoDisable(ctx, classification.gone ? 'the endpoint answered 410 Gone' : null);
        this.logger.warn({ ...log, error: classification.reason }, 'rejected: delivery failed (replayable)');
        throw new UnrecoverableError(classification.reason);
      }
    }
  };

  /**
   * SPEC §6.7: a 410 disables the webhook at once; otherwise it is disabled when its last
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

  private target(ctx: DeliveryContext, defaultLocale: 'en' | 'zh'): ChannelTarget {
    const w = ctx.webhook;
    const previousValid = w.previousSecretEncrypted && w.previousSecretExpiresAt && w.previousSecretExpiresAt.getTime() > Date.now();
    return {
      url: this.decrypt(w.urlEncrypted, secretContext.webhookUrl(w.id)),
      secret: w.secretEncrypted ? this.decrypt(w.secretEncrypted, secretContext.webhookSecret(w.id)) : null,
      previousSecret: previousValid ? this.decrypt(w.previousSecretEncrypted as string, secretContext.webhookSecret(w.id)) : null,
      locale: w.locale === 'zh' || w.locale === 'en' ? w.locale : defaultLocale,
    };
  }

  /**
   * AES-GCM per attempt costs more than the rest of rendering; a ciphertext always decrypts to the
   * same plaintext in the same place, so the answer is cached (bounded, oldest entry evicted
   * first) by place and ciphertext: one copied onto another webhook must miss, and fail to open.
   */
  private decrypt(ciphertext: string, context: SecretContext): string {
    const key = `${context.column}:${context.row}:${ciphertext}`;
    let plain = this.plaintexts.get(key);
    if (plain === undefined) {
      plain = this.secrets.decrypt(ciphertext, context);
      if (this.plaintexts.size >= PLAINTEXT_CACHE_SIZE) this.plaintexts.delete(this.plaintexts.keys().next().value as string);
      this.plaintexts.set(key, plain);
    }
    return plain;
  }

  /**
   * Records the attempt. The request was already sent, so a short Postgres blip is retried here
   * rather than by re-sending; a longer outage puts the job back (it will be sent again: at least once).
   */
  private async record(job: Job, token: string | undefined, deliveryId: string, status: Exclude<DeliveryStatus, 'delivering'>, next: Date | null, attempt: AttemptRecord): Promise<void> {
    for (let i = 0; ; i++) {
      try {
        await this.deliveries.recordAttempt(deliveryId, status, next, attempt);
        return;
      } catch (err) {
        if (!isDependencyDown(err) || i >= 3) return this.orDelay(job, token, () => Promise.reject(err));
        await new Promise((r) => setTimeout(r, 500 * (i + 1)));
      }
    }
  }

  /** Runs a database step; if Postgres is unreachable, puts the job back without using an attempt. */
  private async orDelay<T>(job: Job, token: string | undefined, step: () => Promise<T>): Promise<T> {
    try {
      return await step();
    } catch (err) {
      if (!isDependencyDown(err)) throw err;
      this.logger.warn({ deliveryId: (job.data as DeliverJobV1).deliveryId }, `postgres unavailable, delivery waits: ${(err as Error).message}`);
      await job.moveToDelayed(Date.now() + DEPENDENCY_RETRY_MS, token);
      throw new DelayedError();
    }
  }
}

