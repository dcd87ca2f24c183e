import { Logger } from '@nestjs/common';
import { DelayedError } from 'bullmq';
import type { ChannelSender, DirectMessenger, SendRequest, SendResult } from '@herald/channels';
import { MetricsRegistry } from '@herald/platform';
import { DeliveryMetrics } from './delivery-metrics';
import { DeliveryAttempt } from './deliver.attempt';
import { DELIVERY_ID, deliveryContext, fakeRun, postgresDown } from './deliver.fixtures';

beforeAll(() => Logger.overrideLogger(false));

const noDms = { attempted: false, messaged: [], alreadyMessaged: [], fallback: [], postToChannel: true };

function attemptWith(sent: Partial<SendResult>, dm: unknown = noDms) {
  const requests: SendRequest[] = [];
  const sender = {
    send: async (request: SendRequest): Promise<SendResult> => {
      requests.push(request);
      request.onSend?.('hooks.example.com');
      return {
        classification: { kind: 'delivered' },
        statusCode: 200,
        responseBody: 'ok',
        startedAt: new Date(),
        durationMs: 12,
        templateError: null,
        ...sent,
      };
    },
  };
  const dms = { send: jest.fn(async () => (dm instanceof Error ? Promise.reject(dm) : dm)) };
  const metrics = new DeliveryMetrics(new MetricsRegistry());
  const attempt = new DeliveryAttempt(sender as unknown as ChannelSender, dms as unknown as DirectMessenger, metrics);
  return { attempt, requests, dms, metrics };
}

describe('DeliveryAttempt', () => {
  it('posts the stored event to the webhook through the send path and turns the answer into an attempt record', async () => {
    const { attempt, requests, metrics } = attemptWith({ statusCode: 200, responseBody: 'ok' });
    const ctx = deliveryContext();
    const run = fakeRun();
    const result = await attempt.run(run, ctx);
    expect(result).toMatchObject({
      via: 'channel',
      classification: { kind: 'delivered' },
      record: { statusCode: 200, outcome: 'delivered', error: null, responseBody: 'ok', durationMs: 12 },
    });
    const [request] = requests;
    expect(request.endpoint).toBe(ctx.webhook);
    expect(request.event).toMatchObject({
      id: ctx.event.id,
      type: 'bb.issue.create',
      title: 'Issue created',
      projectKey: 'p',
      receivedAt: ctx.event.receivedAt.toISOString(),
    });
    expect(request.context).toMatchObject({ deliveryId: DELIVERY_ID, project: { id: 1, key: 'p', name: 'P' } });
    expect(request.allowListExtraHosts).toBeUndefined();
    // The watchdog sees the send and its host.
    expect([run.step, run.host]).toEqual(['send', 'hooks.example.com']);
    expect((await metrics.deliveries.get()).values.map((v) => [v.labels.outcome, v.value])).toEqual([['delivered', 1]]);
    expect((await metrics.attemptDuration.get()).values.find((v) => v.metricName?.endsWith('_count'))?.value).toBe(1);
  });

  it('records the reason of an attempt that was not delivered', async () => {
    const { attempt } = attemptWith({ classification: { kind: 'retryable', reason: 'HTTP 503' }, statusCode: 503, responseBody: 'busy' });
    const result = await attempt.run(fakeRun(), deliveryContext());
    expect(result).toMatchObject({ via: 'channel', record: { outcome: 'retryable', error: 'HTTP 503', statusCode: 503, responseBody: 'busy' } });
  });

  it('needs no channel post when every mentioned user got a direct message', async () => {
    const dm = { attempted: true, messaged: ['ann@example.com'], alreadyMessaged: ['bob@example.com'], fallback: [], postToChannel: false };
    const { attempt, requests, dms } = attemptWith({}, dm);
    const ctx = deliveryContext({ webhook: { type: 'slack', directMessage: true } });
    const result = await attempt.run(fakeRun(), ctx);
    expect(dms.send).toHaveBeenCalledWith(expect.objectContaining({ id: ctx.event.id }), ctx.webhook, expect.objectContaining({ deliveryId: DELIVERY_ID }));
    expect(requests).toHaveLength(0);
    expect(result).toMatchObject({
      via: 'direct messages',
      record: {
        outcome: 'delivered',
        statusCode: null,
        error: null,
        responseBody: 'direct messages: 1 sent, 1 sent by an earlier attempt; no channel post needed',
      },
    });
  });

  it('still posts to the channel for users direct messages did not reach', async () => {
    const { attempt, requests } = attemptWith(
      {},
      { attempted: true, messaged: ['ann@example.com'], alreadyMessaged: [], fallback: ['nobody@example.com'], postToChannel: true },
    );
    expect((await attempt.run(fakeRun(), deliveryContext({ webhook: { type: 'slack', directMessage: true } }))).via).toBe('channel');
    expect(requests).toHaveLength(1);
  });

  it('puts the job back when Postgres is away during direct messages (their ledger), sending nothing', async () => {
    const { attempt, requests } = attemptWith({}, postgresDown());
    const run = fakeRun();
    await expect(attempt.run(run, deliveryContext())).rejects.toBeInstanceOf(DelayedError);
    expect(requests).toHaveLength(0);
    expect(run.moves).toHaveLength(1);
  });
});
