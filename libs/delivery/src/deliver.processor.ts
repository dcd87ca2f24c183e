import { randomUUID } from 'node:crypto';
import { Injectable, Logger } from '@nestjs/common';
import { DelayedError, UnrecoverableError, type Job } from 'bullmq';
import { QUEUES, deliverJobChain, parseDeliverJob, type DeliverJobV1 } from '@herald/contracts';
import {
  ChannelRegistry,
  DirectMessenger,
  SafeHttpClient,
  renderMessage,
  TransportError,
  type ChannelResponse,
  type ChannelTarget,
  type Classification,
  type DirectMessageResult,
  type PreparedRequest,
} from '@herald/channels';
import { withJitter, type DeliveryStatus, type HeraldEvent } from '@herald/domain';
import { DeliveryRepository, type AttemptRecord, type DeliveryContext } from '@herald/persistence';
import {
  HeraldConfig,
  SecretBox,
  SpanKind,
  SpanStatusCode,
  failSpan,
  inSpan,
  isDependencyDown,
  secretContext,
  startSpan,
  tracingEnabled,
  type LivenessSource,
  type SecretContext,
  type TraceSpan,
  type WorkInProgress,
} from '@herald/platform';
import { HeraldQueues, RetryLater, WebhookRateLimiter, effectiveRateLimit, isRedisUnavailable, type RateDecision } from '@herald/queue';
import { DeliveryMetrics } from './delivery-metrics';
import { toHeraldEvent } from './event-view';

/** A job's answer when its claim no longer held the delivery at record time. */
const SUPERSEDED = 'superseded: another attempt holds this delivery';

/** The host of a URL, for logs (never its path or query: they carry credentials). */
function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return 'an unparsable URL';
  }
}

/** How much of a response the attempt log keeps (SPEC §3). */
const LOGGED_BODY_CHARS = 1024;
/** Decrypted webhook URLs and secrets kept per worker (keyed by ciphertext, so an update misses). */
const PLAINTEXT_CACHE_SIZE = 10_000;

/** How long a job waits when Postgres is unreachable, without using an attempt. */
const DEPENDENCY_RETRY_MS = 5000;
/** How long a job waits when Redis was unreachable for its rate limit check (it is back once the job can be put back). */
const REDIS_RETRY_MS = 1000;

/**
 * Consecutive 429s (or platform rate-limit codes) of one attempt chain that use no attempt. From
 * the next one on, a 429 uses an attempt like a 5xx (waiting at least its Retry-After), so an
 * endpoint that always answers 429 ends `dead` after the schedule and counts towards auto-disable.
 */
export const FREE_RATE_LIMITED_ANSWERS = 5;

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

/** What a job in progress is doing, for the watchdog. */
type Step = 'claim' | 'rate limit' | 'direct messages' | 'send' | 'record' | 'requeue';
const REDIS_STEPS: ReadonlySet<Step> = new Set(['rate limit', 'requeue']);

/**
 * One attempt of one delivery: claim it, render it with its channel's adapter, send it through
 * the safe client, let the adapter classify the answer, record the attempt, and map the outcome
 * onto BullMQ (retry with the schedule's delay, fail at once, or wait without using an attempt).
 */
@Injectable()
export class DeliverProcessor implements LivenessSource {
  readonly name = 'delivery jobs';
  private readonly logger = new Logger('Delivery');
  private readonly plaintexts = new Map<string, string>();
  /** Jobs in progress in this process: what each waits on, and since when. */
  private readonly active = new Map<Job, { deliveryId: string; step: Step; since: number; host?: string; span?: TraceSpan }>();
  private readonly maxAttemptMs: number;

  constructor(
    private readonly deliveries: DeliveryRepository,
    private readonly channels: ChannelRegistry,
    private readonly http: SafeHttpClient,
    private readonly secrets: SecretBox,
    private readonly config: HeraldConfig,
    private readonly metrics: DeliveryMetrics,
    private readonly limiter: WebhookRateLimiter,
    private readonly dms: DirectMessenger,
    private readonly queues: HeraldQueues,
  ) {
    this.maxAttemptMs = longestAttemptMs(config);
  }

  /** Work in progress for the watchdog: each job's step and since when it has been on it. */
  inProgress(): WorkInProgress[] {
    const redisDown = this.queues.connection.status !== 'ready';
    return [...this.active.values()].map((a) => ({
      waitingOn: `delivery ${a.deliveryId}: ${a.step}${a.step === 'send' && a.host ? ` to ${a.host}` : ''}`,
      since: a.since,
      dependencyDown: redisDown && REDIS_STEPS.has(a.step),
    }));
  }

  readonly process = async (job: Job<DeliverJobV1>, lockToken?: string): Promise<string> => {
    const data = parseDeliverJob(job.data);
    const { deliveryId } = data;
    const replay = deliverJobChain(job.id, deliveryId);
    if (replay === null) return `ignored: job id ${job.id} is not a delivery job id`;
    // One span per attempt, continuing the trace the relay's fan-out put in the job (tracing on).
    const span = tracingEnabled() ? attemptSpan(job, data) : undefined;
    this.active.set(job, { deliveryId, step: 'claim', since: Date.now(), span });
    try {
      const result = await this.attempt(job, lockToken, deliveryId, replay, randomUUID(), span);
      span?.setAttribute('herald.result', result);
      return result;
    } catch (err) {
      if (span) endOfAttempt(span, err);
      throw err;
    } finally {
      span?.end();
      this.active.delete(job);
    }
  };

  private step(job: Job, step: Step, host?: string): void {
    const a = this.active.get(job);
    if (a) Object.assign(a, { step, since: Date.now(), host });
  }

  private async attempt(job: Job<DeliverJobV1>, token: string | undefined, deliveryId: string, replay: number, claimToken: string, span: TraceSpan | undefined): Promise<string> {
    const claim = await this.orDelay(job, token, () => this.deliveries.claim({ deliveryId, replay, token: claimToken, maxAttemptMs: this.maxAttemptMs }));
    if (claim.kind === 'done') return claim.reason;
    if (claim.kind === 'wait') {
      span?.setAttribute('herald.deferred', 'another attempt holds the delivery, or its retry is not due');
      // Not an attempt: another one holds the delivery (or the retry is not due); ask again then.
      this.step(job, 'requeue');
      await job.moveToDelayed(Date.now() + claim.waitMs, token);
      throw new DelayedError();
    }
    const ctx = claim.context;
    span?.setAttributes({
      'herald.channel': ctx.webhook.type,
      'herald.webhook.id': ctx.webhook.id,
      'herald.event.id': ctx.event.id,
      'herald.attempt': ctx.delivery.attemptCount + 1,
    });
    const record = (status: Exclude<DeliveryStatus, 'delivering'>, next: Date | null, attempt: AttemptRecord, usesAttempt: boolean) => {
      span?.setAttribute('herald.delivery.status', status);
      return this.record(job, token, ctx, claimToken, status, next, attempt, usesAttempt);
    };
    if (!ctx.webhook.enabled) {
      // Kept replayable: PATCH {enabled: true} and a replay or recover sends it.
      await this.orDelay(job, token, () =>
        this.deliveries.release(deliveryId, claimToken, 'failed', null, `webhook disabled${ctx.webhook.disabledReason ? `: ${ctx.webhook.disabledReason}` : ''}`),
      );
      return 'webhook disabled';
    }

    const adapter = this.channels.get(ctx.webhook.type);
    const channel = ctx.webhook.type;

    // Over the webhook's limit, or paused by its platform: wait without using an attempt (SPEC §6.3).
    this.step(job, 'rate limit');
    let decision: RateDecision;
    try {
      decision = await this.limiter.acquire(ctx.webhook.id, effectiveRateLimit(ctx.webhook, adapter));
    } catch (err) {
      // Nothing was sent: give the claim back, or the next try would wait until this attempt counts
      // as abandoned (longestAttemptMs). Redis away (a restart, a failover) uses no attempt either.
      await this.orDelay(job, token, () => this.deliveries.release(deliveryId, claimToken, 'pending', null, null));
      if (!isRedisUnavailable(err)) throw err;
      this.logger.warn({ deliveryId }, `redis unavailable for the rate limit check, delivery waits: ${(err as Error).message}`);
      this.step(job, 'requeue');
      await job.moveToDelayed(Date.now() + REDIS_RETRY_MS, token);
      throw new DelayedError();
    }
    if (!decision.allowed) {
      const until = Date.now() + decision.waitMs;
      await this.orDelay(job, token, () => this.deliveries.release(deliveryId, claimToken, 'pending', new Date(until), null));
      this.metrics.rateLimitDeferrals.inc({ channel, reason: decision.reason });
      span?.setAttribute('herald.deferred', `rate limit (${decision.reason}): waits ${decision.waitMs} ms`);
      this.step(job, 'requeue');
      await job.moveToDelayed(until, token);
      throw new DelayedError();
    }

    const event = toHeraldEvent(ctx);
    const renderContext = { deliveryId, now: new Date(), project: { id: ctx.project.id, key: ctx.project.key, name: ctx.project.name } };

    // Direct messages first (SPEC §7): each mentioned user at most once per delivery, across
    // retries; the channel post is still sent when DMs do not apply or someone fell back to it.
    const dmStarted = new Date();
    this.step(job, 'direct messages');
    const dm = await this.orDelay(job, token, () =>
      span && ctx.webhook.directMessage ? this.tracedDirectMessages(span, event, ctx, renderContext) : this.dms.send(event, ctx.webhook, renderContext),
    );
    if (!dm.postToChannel) {
      const recorded = await record('succeeded', null, {
        startedAt: dmStarted,
        durationMs: Date.now() - dmStarted.getTime(),
        statusCode: null,
        outcome: 'delivered',
        error: null,
        responseBody: `direct messages: ${dm.messaged.length} sent, ${dm.alreadyMessaged.length} sent by an earlier attempt; no channel post needed`,
      }, true);
      if (!recorded) return SUPERSEDED;
      span?.setAttribute('herald.outcome', 'delivered');
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
      const { request: prepared, templateError } = renderMessage(adapter, event, target, renderContext);
      if (templateError) {
        // The built-in message goes out instead (issue 16); the template's author finds out here and in the preview.
        this.metrics.templateFallbacks.inc({ channel });
        this.logger.warn({ deliveryId, webhookId: ctx.webhook.id, eventType: ctx.event.type, reason: templateError }, `message template failed, built-in message sent: ${templateError}`);
      }
      this.step(job, 'send', hostOf(prepared.url));
      try {
        const response = span ? await this.tracedSend(span, prepared) : await this.http.send(prepared);
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
    if (span) {
      span.setAttribute('herald.outcome', classification.kind);
      if (statusCode !== null) span.setAttribute('http.response.status_code', statusCode);
      if (classification.kind !== 'delivered') span.setStatus({ code: SpanStatusCode.ERROR, message: classification.reason });
    }

    const attempt: AttemptRecord = {
      startedAt,
      durationMs,
      statusCode,
      outcome: classification.kind,
      error: classification.kind === 'delivered' ? null : classification.reason,
      responseBody,
    };
    const log = { deliveryId, eventId: ctx.event.id, webhookId: ctx.webhook.id, attempt: ctx.delivery.attemptCount + 1 };

    this.step(job, 'record');
    switch (classification.kind) {
      case 'delivered': {
        if (!(await record('succeeded', null, attempt, true))) return SUPERSEDED;
        this.metrics.deliveriesFinished.inc({ channel, status: 'succeeded' });
        this.metrics.deliveryLatency.observe({ channel }, (Date.now() - ctx.event.receivedAt.getTime()) / 1000);
        this.logger.debug({ ...log, durationMs }, 'delivered');
        return 'delivered';
      }
      case 'rate_limited': {
        // The platform asked us to wait: the pause holds the whole webhook, in every worker.
        const until = Date.now() + classification.retryAfterMs;
        await this.limiter.pause(ctx.webhook.id, until);
        this.metrics.rateLimitDeferrals.inc({ channel, reason: 'platform' });
        if (ctx.delivery.rateLimitedStreak < FREE_RATE_LIMITED_ANSWERS) {
          // Within the free streak: hold this delivery without using an attempt.
          if (!(await record('pending', new Date(until), attempt, false))) return SUPERSEDED;
          this.logger.warn({ ...log, retryAfterMs: classification.retryAfterMs }, `rate limited by the platform: ${classification.reason}`);
          this.step(job, 'requeue');
          await job.moveToDelayed(until, token);
          throw new DelayedError();
        }
        // Past the free streak: this 429 uses an attempt, and the retry waits for Retry-After too.
        return this.retryOrDie(ctx, attempt, classification.reason, classification.retryAfterMs, record, log);
      }
      case 'retryable':
        return this.retryOrDie(ctx, attempt, classification.reason, 0, record, log);
      case 'rejected': {
        if (!(await record('failed', null, attempt, true))) return SUPERSEDED;
        this.metrics.deliveriesFinished.inc({ channel, status: 'failed' });
        await this.autoDisable(ctx, classification.gone ? 'the endpoint answered 410 Gone' : null);
        this.logger.warn({ ...log, error: classification.reason }, 'rejected: delivery failed (replayable)');
        throw new UnrecoverableError(classification.reason);
      }
    }
  }

  /**
   * An attempt that used the schedule failed: retry after the schedule's next delay (at least
   * `minDelayMs`), or end `dead` when this was the chain's last attempt. The position in the
   * schedule is the delivery's own count, so a re-queued job continues where its chain was.
   */
  private async retryOrDie(
    ctx: DeliveryContext,
    attempt: AttemptRecord,
    reason: string,
    minDelayMs: number,
    record: (status: Exclude<DeliveryStatus, 'delivering'>, next: Date | null, attempt: AttemptRecord, usesAttempt: boolean) => Promise<boolean>,
    log: Record<string, unknown>,
  ): Promise<string> {
    const used = ctx.delivery.chainAttempts + 1;
    const channel = ctx.webhook.type;
    if (used >= this.config.retryScheduleMs.length) {
      if (!(await record('dead', null, attempt, true))) return SUPERSEDED;
      this.metrics.deliveriesFinished.inc({ channel, status: 'dead' });
      await this.autoDisable(ctx, null);
      this.logger.warn({ ...log, error: reason }, 'retry schedule exhausted: delivery is dead (replayable)');
      throw new UnrecoverableError(reason);
    }
    const delayMs = Math.max(minDelayMs, withJitter(this.config.retryScheduleMs[used] ?? 0));
    if (!(await record('pending', new Date(Date.now() + delayMs), attempt, true))) return SUPERSEDED;
    this.logger.log({ ...log, delayMs, error: reason }, 'attempt failed, will retry');
    throw new RetryLater(reason, delayMs);
  }

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

  /** The channel post as a client span under the attempt's: method, host and port, status code (never the URL: it is a credential). */
  private async tracedSend(parent: TraceSpan, prepared: PreparedRequest): Promise<ChannelResponse> {
    let host = 'unknown';
    let port = 0;
    try {
      const url = new URL(prepared.url);
      host = url.hostname;
      port = Number(url.port) || (url.protocol === 'https:' ? 443 : 80);
    } catch {
      // the send refuses it, and the span says why
    }
    return inSpan(prepared.method, { kind: SpanKind.CLIENT, parent, attributes: { 'http.request.method': prepared.method, 'server.address': host, 'server.port': port } }, async (span) => {
      const response = await this.http.send(prepared);
      span.setAttribute('http.response.status_code', response.statusCode);
      if (response.statusCode >= 400) span.setStatus({ code: SpanStatusCode.ERROR });
      return response;
    });
  }

  /** The direct messages of an attempt (webhooks with `directMessage`) as a span under the attempt's. */
  private tracedDirectMessages(parent: TraceSpan, event: HeraldEvent, ctx: DeliveryContext, renderContext: Parameters<DirectMessenger['send']>[2]): Promise<DirectMessageResult> {
    return inSpan('herald.delivery.direct_messages', { parent }, async (span) => {
      const dm = await this.dms.send(event, ctx.webhook, renderContext);
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

  private target(ctx: DeliveryContext, defaultLocale: 'en' | 'zh'): ChannelTarget {
    const w = ctx.webhook;
    const previousValid = w.previousSecretEncrypted && w.previousSecretExpiresAt && w.previousSecretExpiresAt.getTime() > Date.now();
    return {
      url: this.decrypt(w.urlEncrypted, secretContext.webhookUrl(w.id)),
      secret: w.secretEncrypted ? this.decrypt(w.secretEncrypted, secretContext.webhookSecret(w.id)) : null,
      previousSecret: previousValid ? this.decrypt(w.previousSecretEncrypted as string, secretContext.webhookSecret(w.id)) : null,
      locale: w.locale === 'zh' || w.locale === 'en' ? w.locale : defaultLocale,
      template: w.template,
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
   * Returns false when this claim no longer holds the delivery (another attempt took over, or
   * the delivery was replayed): nothing was written, and the job must stop.
   */
  private async record(
    job: Job,
    token: string | undefined,
    ctx: DeliveryContext,
    claimToken: string,
    status: Exclude<DeliveryStatus, 'delivering'>,
    next: Date | null,
    attempt: AttemptRecord,
    usesAttempt: boolean,
  ): Promise<boolean> {
    for (let i = 0; ; i++) {
      try {
        const number = await this.deliveries.recordAttempt(ctx.delivery.id, claimToken, status, next, attempt, usesAttempt);
        if (number === 0) {
          this.logger.warn({ deliveryId: ctx.delivery.id, outcome: attempt.outcome }, 'attempt result not recorded: another attempt took this delivery over (this job lost its lock or was replaced by a replay)');
        }
        return number > 0;
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
      this.active.get(job)?.span?.setAttribute('herald.deferred', 'postgres unavailable');
      this.step(job, 'requeue');
      await job.moveToDelayed(Date.now() + DEPENDENCY_RETRY_MS, token);
      throw new DelayedError();
    }
  }
}


/** The span of one attempt: a consumer span continuing the job's trace context (a new trace for a job without one). */
function attemptSpan(job: Job<DeliverJobV1>, data: DeliverJobV1): TraceSpan {
  return startSpan('herald.delivery.attempt', {
    kind: SpanKind.CONSUMER,
    parent: data.traceparent,
    attributes: {
      'herald.delivery.id': data.deliveryId,
      'messaging.system': 'bullmq',
      'messaging.destination.name': QUEUES.deliver,
      'messaging.message.id': job.id ?? '',
      'herald.job.attempts_made': job.attemptsMade,
    },
  });
}

/**
 * An attempt that ends by throwing: a deferral (DelayedError) is no failure, and a retry or a final
 * failure already has its status from the classification; anything else is an error of its own.
 */
function endOfAttempt(span: TraceSpan, err: unknown): void {
  if (err instanceof DelayedError) return;
  if (err instanceof RetryLater) span.setAttribute('herald.retry_in_ms', err.delayMs);
  else if (!(err instanceof UnrecoverableError)) failSpan(span, err);
}
