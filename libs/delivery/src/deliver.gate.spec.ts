import { Logger } from '@nestjs/common';
import { DelayedError } from 'bullmq';
import { ChannelRegistry } from '@herald/channels';
import type { DeliveryRepository } from '@herald/persistence';
import { MetricsRegistry, type HeraldConfig } from '@herald/platform';
import { DeliveryMetrics } from './delivery-metrics';
import { RedisUnavailable, type WebhookRateLimiter } from '@herald/queue';
import { DeliveryGate, longestAttemptMs } from './deliver.gate';
import { DELIVERY_ID, deliveryContext, fakeRun, postgresDown } from './deliver.fixtures';

beforeAll(() => Logger.overrideLogger(false));

const config = { deliveryTimeoutMs: 10_000 } as HeraldConfig;

function gateWith(claim: unknown, acquire: () => Promise<unknown> = async () => ({ allowed: true })) {
  const deliveries = { claim: jest.fn(async () => (claim instanceof Error ? Promise.reject(claim) : claim)), release: jest.fn(async () => true) };
  const limiter = { acquire: jest.fn(acquire) };
  const metrics = new DeliveryMetrics(new MetricsRegistry());
  const gate = new DeliveryGate(deliveries as unknown as DeliveryRepository, new ChannelRegistry(), limiter as unknown as WebhookRateLimiter, metrics, config);
  return { gate, deliveries, limiter, metrics };
}

const deferrals = async (metrics: DeliveryMetrics) => (await metrics.rateLimitDeferrals.get()).values.map((v) => [v.labels.reason, v.value]);

describe('DeliveryGate', () => {
  it('claims the delivery for this chain with the run’s token and the longest an attempt may last', async () => {
    const ctx = deliveryContext();
    const { gate, deliveries } = gateWith({ kind: 'claimed', context: ctx });
    const run = fakeRun(2);
    await expect(gate.pass(run)).resolves.toEqual({ open: true, ctx });
    expect(deliveries.claim).toHaveBeenCalledWith({ deliveryId: DELIVERY_ID, replay: 2, token: run.claimToken, maxAttemptMs: longestAttemptMs(config) });
    expect(longestAttemptMs(config)).toBe(25_000);
  });

  it('ends the job when there is nothing to do', async () => {
    const { gate } = gateWith({ kind: 'done', reason: 'delivery is succeeded' });
    await expect(gate.pass(fakeRun())).resolves.toEqual({ open: false, result: 'delivery is succeeded' });
  });

  it('puts the job back, without an attempt, while another attempt holds the delivery or its retry is not due', async () => {
    const { gate } = gateWith({ kind: 'wait', waitMs: 3000, reason: 'in progress' });
    const run = fakeRun();
    const before = Date.now();
    await expect(gate.pass(run)).rejects.toBeInstanceOf(DelayedError);
    expect(run.moves[0]).toBeGreaterThanOrEqual(before + 3000);
  });

  it('puts the job back when Postgres is unreachable for the claim', async () => {
    const { gate } = gateWith(postgresDown());
    const run = fakeRun();
    await expect(gate.pass(run)).rejects.toBeInstanceOf(DelayedError);
    expect(run.moves).toHaveLength(1);
  });

  it("fails a disabled webhook's delivery (kept replayable) without asking the rate limit", async () => {
    const { gate, deliveries, limiter } = gateWith({
      kind: 'claimed',
      context: deliveryContext({ webhook: { enabled: false, disabledReason: 'the endpoint answered 410 Gone' } }),
    });
    const run = fakeRun();
    await expect(gate.pass(run)).resolves.toEqual({ open: false, result: 'webhook disabled' });
    expect(deliveries.release).toHaveBeenCalledWith(DELIVERY_ID, run.claimToken, 'failed', null, 'webhook disabled: the endpoint answered 410 Gone');
    expect(limiter.acquire).not.toHaveBeenCalled();
  });

  it("asks the webhook's own limit, else its channel's default", async () => {
    const own = gateWith({ kind: 'claimed', context: deliveryContext({ webhook: { rateLimitCount: 2, rateLimitPerSeconds: 1 } }) });
    await own.gate.pass(fakeRun());
    expect(own.limiter.acquire).toHaveBeenCalledWith('0190d5b0-0000-7000-8000-00000000000a', { count: 2, perSeconds: 1 });
    const slack = gateWith({ kind: 'claimed', context: deliveryContext({ webhook: { type: 'slack' } }) });
    await slack.gate.pass(fakeRun());
    expect(slack.limiter.acquire).toHaveBeenCalledWith('0190d5b0-0000-7000-8000-00000000000a', new ChannelRegistry().get('slack').defaultRateLimit);
  });

  it('gives the claim back and waits for the slot when the limit refuses, using no attempt', async () => {
    const { gate, deliveries, metrics } = gateWith({ kind: 'claimed', context: deliveryContext() }, async () => ({
      allowed: false,
      waitMs: 700,
      reason: 'limit',
    }));
    const run = fakeRun();
    const before = Date.now();
    await expect(gate.pass(run)).rejects.toBeInstanceOf(DelayedError);
    const [, , status, next] = deliveries.release.mock.calls[0] as unknown as [string, string, string, Date];
    expect(status).toBe('pending');
    expect(next.getTime()).toBe(run.moves[0]);
    expect(run.moves[0]).toBeGreaterThanOrEqual(before + 700);
    expect(await deferrals(metrics)).toEqual([['limit', 1]]);
  });

  it('gives the claim back and waits a second when Redis is away for the check', async () => {
    const { gate, deliveries } = gateWith({ kind: 'claimed', context: deliveryContext() }, () => Promise.reject(new RedisUnavailable('Redis is unavailable')));
    const run = fakeRun();
    await expect(gate.pass(run)).rejects.toBeInstanceOf(DelayedError);
    expect(deliveries.release).toHaveBeenCalledWith(DELIVERY_ID, run.claimToken, 'pending', null, null);
    expect(run.moves).toHaveLength(1);
  });

  it('gives the claim back and lets BullMQ see any other limiter error', async () => {
    const { gate, deliveries } = gateWith({ kind: 'claimed', context: deliveryContext() }, () => Promise.reject(new Error('ERR unknown command')));
    const run = fakeRun();
    await expect(gate.pass(run)).rejects.toThrow('ERR unknown command');
    expect(deliveries.release).toHaveBeenCalledTimes(1);
    expect(run.moves).toEqual([]);
  });
});
