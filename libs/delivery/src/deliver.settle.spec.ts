import { Logger } from '@nestjs/common';
import { DelayedError, UnrecoverableError } from 'bullmq';
import type { Classification } from '@herald/channels';
import { FREE_RATE_LIMITED_ANSWERS } from '@herald/domain';
import type { AttemptRecord, DeliveryRepository } from '@herald/persistence';
import { MetricsRegistry, type HeraldConfig } from '@herald/platform';
import { DeliveryMetrics } from './delivery-metrics';
import { RetryLater, type WebhookRateLimiter } from '@herald/queue';
import type { AttemptResult } from './deliver.attempt';
import { DELIVERY_ID, deliveryContext, fakeRun, postgresDown } from './deliver.fixtures';
import { DeliverySettle, SUPERSEDED } from './deliver.settle';

beforeAll(() => Logger.overrideLogger(false));

const config = { retryScheduleMs: [0, 1000, 60_000], autoDisableFailures: 20, autoDisableDays: 5 } as HeraldConfig;
const record: AttemptRecord = { startedAt: new Date(), durationMs: 5, statusCode: 200, outcome: 'delivered', error: null, responseBody: 'ok' };
const channel = (classification: Classification): AttemptResult => ({ via: 'channel', classification, record: { ...record, outcome: classification.kind } });

function settleWith(recorded: Array<number | Error> = [1], disabled = false) {
  const answers = [...recorded];
  const deliveries = {
    recordAttempt: jest.fn(async () => {
      const next = answers.length > 1 ? answers.shift() : answers[0];
      if (next instanceof Error) throw next;
      return next;
    }),
    disable: jest.fn(async () => disabled),
    disableIfFailing: jest.fn(async () => disabled),
  };
  const limiter = { pause: jest.fn(async () => undefined) };
  const metrics = new DeliveryMetrics(new MetricsRegistry());
  const settle = new DeliverySettle(deliveries as unknown as DeliveryRepository, limiter as unknown as WebhookRateLimiter, metrics, config);
  return { settle, deliveries, limiter, metrics };
}

const finished = async (metrics: DeliveryMetrics) => (await metrics.deliveriesFinished.get()).values.map((v) => [v.labels.status, v.value]);

describe('DeliverySettle', () => {
  it('records a delivered attempt as succeeded with the run’s claim token, and completes the job', async () => {
    const { settle, deliveries, metrics } = settleWith();
    const run = fakeRun();
    await expect(settle.settle(run, deliveryContext(), channel({ kind: 'delivered' }))).resolves.toBe('delivered');
    expect(deliveries.recordAttempt).toHaveBeenCalledWith(
      DELIVERY_ID,
      run.claimToken,
      'succeeded',
      null,
      expect.objectContaining({ outcome: 'delivered' }),
      true,
    );
    expect(await finished(metrics)).toEqual([['succeeded', 1]]);
    expect((await metrics.deliveryLatency.get()).values.find((v) => v.metricName?.endsWith('_count'))?.value).toBe(1);
  });

  it('records a delivery done by direct messages alone', async () => {
    const { settle, deliveries, metrics } = settleWith();
    await expect(settle.settle(fakeRun(), deliveryContext(), { via: 'direct messages', record })).resolves.toBe('delivered by direct message');
    expect(deliveries.recordAttempt).toHaveBeenCalledWith(DELIVERY_ID, expect.any(String), 'succeeded', null, record, true);
    expect(await finished(metrics)).toEqual([['succeeded', 1]]);
  });

  it("schedules a retryable attempt's retry from the delivery's own place in the schedule", async () => {
    const { settle, deliveries } = settleWith();
    const before = Date.now();
    const err = await settle
      .settle(fakeRun(), deliveryContext({ delivery: { chainAttempts: 1 } }), channel({ kind: 'retryable', reason: 'HTTP 502' }))
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RetryLater);
    expect((err as RetryLater).message).toBe('HTTP 502');
    // schedule[2] = 60 s, ±20 % jitter
    expect((err as RetryLater).delayMs).toBeGreaterThanOrEqual(48_000);
    expect((err as RetryLater).delayMs).toBeLessThanOrEqual(72_000);
    const [, , status, next, , usesAttempt] = deliveries.recordAttempt.mock.calls[0] as unknown as [string, string, string, Date, AttemptRecord, boolean];
    expect([status, usesAttempt]).toEqual(['pending', true]);
    expect(next.getTime()).toBeGreaterThanOrEqual(before + (err as RetryLater).delayMs);
  });

  it('ends the chain dead after its last attempt and checks the failure streak for auto-disable', async () => {
    const { settle, deliveries, metrics } = settleWith([1], true);
    const err = await settle
      .settle(fakeRun(), deliveryContext({ delivery: { chainAttempts: 2 } }), channel({ kind: 'retryable', reason: 'timeout' }))
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnrecoverableError);
    expect((deliveries.recordAttempt.mock.calls[0] as unknown[])[2]).toBe('dead');
    expect(deliveries.disableIfFailing).toHaveBeenCalledWith(
      '0190d5b0-0000-7000-8000-00000000000a',
      20,
      5,
      'the last 20 deliveries failed over 5 days or more',
    );
    expect(await finished(metrics)).toEqual([['dead', 1]]);
    expect((await metrics.webhooksDisabled.get()).values.map((v) => [v.labels.reason, v.value])).toEqual([['failure_streak', 1]]);
  });

  it('fails a rejected attempt for good, and disables the webhook at once on 410 Gone', async () => {
    const { settle, deliveries } = settleWith();
    await expect(settle.settle(fakeRun(), deliveryContext(), channel({ kind: 'rejected', reason: 'HTTP 410', gone: true }))).rejects.toBeInstanceOf(
      UnrecoverableError,
    );
    expect((deliveries.recordAttempt.mock.calls[0] as unknown[])[2]).toBe('failed');
    expect(deliveries.disable).toHaveBeenCalledWith('0190d5b0-0000-7000-8000-00000000000a', 'the endpoint answered 410 Gone');
    expect(deliveries.disableIfFailing).not.toHaveBeenCalled();
  });

  it('keeps a failed auto-disable check from changing the outcome', async () => {
    const { settle, deliveries } = settleWith();
    deliveries.disableIfFailing.mockRejectedValueOnce(new Error('deadlock detected'));
    await expect(settle.settle(fakeRun(), deliveryContext(), channel({ kind: 'rejected', reason: 'HTTP 404' }))).rejects.toBeInstanceOf(UnrecoverableError);
  });

  it("pauses the webhook on a platform's rate limit and holds the delivery without an attempt within the free streak", async () => {
    const { settle, deliveries, limiter, metrics } = settleWith();
    const run = fakeRun();
    const before = Date.now();
    await expect(
      settle.settle(
        run,
        deliveryContext({ delivery: { rateLimitedStreak: FREE_RATE_LIMITED_ANSWERS - 1 } }),
        channel({ kind: 'rate_limited', retryAfterMs: 30_000, reason: 'HTTP 429' }),
      ),
    ).rejects.toBeInstanceOf(DelayedError);
    const until = run.moves[0];
    expect(until).toBeGreaterThanOrEqual(before + 30_000);
    expect(limiter.pause).toHaveBeenCalledWith('0190d5b0-0000-7000-8000-00000000000a', until);
    const [, , status, next, , usesAttempt] = deliveries.recordAttempt.mock.calls[0] as unknown as [string, string, string, Date, AttemptRecord, boolean];
    expect([status, next.getTime(), usesAttempt]).toEqual(['pending', until, false]);
    expect((await metrics.rateLimitDeferrals.get()).values.map((v) => [v.labels.reason, v.value])).toEqual([['platform', 1]]);
  });

  it('uses an attempt for a rate-limited answer past the free streak, waiting at least its Retry-After', async () => {
    const { settle, limiter } = settleWith();
    const ctx = deliveryContext({ delivery: { rateLimitedStreak: FREE_RATE_LIMITED_ANSWERS } });
    const err = await settle.settle(fakeRun(), ctx, channel({ kind: 'rate_limited', retryAfterMs: 90_000, reason: 'HTTP 429' })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RetryLater);
    expect((err as RetryLater).delayMs).toBeGreaterThanOrEqual(90_000);
    expect(limiter.pause).toHaveBeenCalledTimes(1);
  });

  it('stops without effects when another attempt took the delivery over', async () => {
    const { settle, metrics, deliveries } = settleWith([0]);
    await expect(settle.settle(fakeRun(), deliveryContext(), channel({ kind: 'rejected', reason: 'HTTP 400' }))).resolves.toBe(SUPERSEDED);
    expect(deliveries.disableIfFailing).not.toHaveBeenCalled();
    expect(await finished(metrics)).toEqual([]);
  });

  it('retries the record through a Postgres blip (the request was sent), and puts the job back after a longer outage', async () => {
    jest.useFakeTimers({ advanceTimers: true });
    try {
      const blip = settleWith([postgresDown(), 1]);
      await expect(blip.settle.settle(fakeRun(), deliveryContext(), channel({ kind: 'delivered' }))).resolves.toBe('delivered');
      expect(blip.deliveries.recordAttempt).toHaveBeenCalledTimes(2);
      const outage = settleWith([postgresDown()]);
      const run = fakeRun();
      const settled = expect(outage.settle.settle(run, deliveryContext(), channel({ kind: 'delivered' }))).rejects.toBeInstanceOf(DelayedError);
      await jest.advanceTimersByTimeAsync(10_000);
      await settled;
      expect(outage.deliveries.recordAttempt).toHaveBeenCalledTimes(4);
      expect(run.moves).toHaveLength(1);
    } finally {
      jest.useRealTimers();
    }
  });
});
