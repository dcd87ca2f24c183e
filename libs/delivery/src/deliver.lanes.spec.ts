import { Logger } from '@nestjs/common';
import { UnrecoverableError } from 'bullmq';
import type { ChannelSender, DirectMessenger, SendRequest, SendResult } from '@herald/channels';
import type { AttemptRecord, DeliveryLanesRepository, DeliveryRepository, DigestMember } from '@herald/persistence';
import { MetricsRegistry, type HeraldConfig } from '@herald/platform';
import type { HeraldQueues, WebhookRateLimiter } from '@herald/queue';
import { DeliveryAttempt } from './deliver.attempt';
import { DELIVERY_ID, deliveryContext, fakeRun } from './deliver.fixtures';
import { DeliveryLanes } from './deliver.lanes';
import { DeliveryMetrics } from './delivery-metrics';
import { DeliverySettle } from './deliver.settle';

beforeAll(() => Logger.overrideLogger(false));

const WEBHOOK = '0190d5b0-0000-7000-8000-00000000000a';
const MEMBER = '0190d5b0-0000-7000-8000-000000000002';
const member = (id = MEMBER, subject: string | null = null): DigestMember => ({
  deliveryId: id,
  subject,
  event: {
    id: '0190d5b0-0000-7000-8000-0000000000e2',
    type: 'bb.issue.status.update',
    level: 'SUCCESS',
    title: '',
    source: 'api',
    body: { issue: { id: 7, key: 'PAY-7', name: 'Fix', status: 'DONE' } },
    occurredAt: new Date(),
    receivedAt: new Date(),
  },
});
const digestCtx = (patch: Parameters<typeof deliveryContext>[0] = {}) =>
  deliveryContext({
    ...patch,
    webhook: { type: 'slack', digest: { afterQueued: 5, maxItems: 50 }, ...patch.webhook },
    delivery: { digestible: true, ...patch.delivery },
  });
const delivered: AttemptRecord = { startedAt: new Date(), durationMs: 5, statusCode: 200, outcome: 'delivered', error: null, responseBody: 'ok' };

function lanesWith(repo: Partial<Record<keyof DeliveryLanesRepository, jest.Mock>> = {}) {
  const promoted: string[] = [];
  const queues = {
    ready: async () => undefined,
    deliver: { getJob: async (id: string) => ({ promote: async () => void promoted.push(id) }) },
  };
  const lanesRepo = {
    claimDigest: jest.fn(async () => [member()]),
    isDigestHead: jest.fn(async () => true),
    recordDigest: jest.fn(async () => ({ leadAttempt: 1, members: [MEMBER] })),
    releaseDigest: jest.fn(async () => 1),
    markDigestAttempt: jest.fn(async () => undefined),
    nextDigestHead: jest.fn(async () => null),
    nextOfSubjects: jest.fn(async () => []),
    ...repo,
  };
  const metrics = new DeliveryMetrics(new MetricsRegistry());
  const limiter = { restampLatest: jest.fn(async () => undefined) };
  const lanes = new DeliveryLanes(
    lanesRepo as unknown as DeliveryLanesRepository,
    queues as unknown as HeraldQueues,
    limiter as unknown as WebhookRateLimiter,
    metrics,
  );
  return { lanes, repo: lanesRepo, promoted, metrics, limiter };
}

describe('DeliveryLanes', () => {
  it("claims a digest's other deliveries with the leader's token and the webhook's policy, only for a digest webhook's digestible delivery", async () => {
    const { lanes, repo, limiter } = lanesWith();
    const run = fakeRun();
    await lanes.collect(run, digestCtx(), 25_000, { count: 1, perSeconds: 1 });
    expect(repo.claimDigest).toHaveBeenCalledWith({
      leadId: DELIVERY_ID,
      webhookId: WEBHOOK,
      token: run.claimToken,
      afterQueued: 5,
      maxItems: 50,
      maxAttemptMs: 25_000,
    });
    expect(run.digest?.members.map((m) => m.deliveryId)).toEqual([MEMBER]);
    // The limiter's log takes the message's real departure, after the claim.
    expect(limiter.restampLatest).toHaveBeenCalledWith(WEBHOOK, { count: 1, perSeconds: 1 });

    for (const ctx of [
      deliveryContext({ webhook: { type: 'slack' } }),
      digestCtx({ delivery: { digestible: false } }),
      digestCtx({ webhook: { type: 'custom' } }),
    ]) {
      const other = lanesWith();
      const plain = fakeRun();
      await other.lanes.collect(plain, ctx, 25_000, null);
      expect(other.repo.claimDigest).not.toHaveBeenCalled();
      expect(plain.digest).toBeUndefined();
    }
    const none = lanesWith({ claimDigest: jest.fn(async () => []) });
    const alone = fakeRun();
    await none.lanes.collect(alone, digestCtx(), 25_000, null);
    expect(none.limiter.restampLatest).not.toHaveBeenCalled();
    expect(alone.digest).toBeUndefined();
  });

  it("lets the digest's head wait only for the limit's window; the others wait for their spread slot", async () => {
    const refused = { allowed: false as const, waitMs: 120_000, reason: 'limit' as const, windowWaitMs: 800 };
    expect(await lanesWith().lanes.refusedWaitMs(digestCtx(), refused)).toBe(800);
    expect(await lanesWith({ isDigestHead: jest.fn(async () => false) }).lanes.refusedWaitMs(digestCtx(), refused)).toBe(120_000);
    expect(await lanesWith().lanes.refusedWaitMs(deliveryContext(), refused)).toBe(120_000);
    expect(await lanesWith().lanes.refusedWaitMs(digestCtx(), { ...refused, reason: 'paused' })).toBe(120_000);
  });

  it('records a delivered digest on all it carried, counts each, and wakes the next message and the next of each subject', async () => {
    const { lanes, repo, promoted, metrics } = lanesWith({
      nextDigestHead: jest.fn(async () => ({ deliveryId: 'd-head', replay: 0 })),
      nextOfSubjects: jest.fn(async () => [{ deliveryId: 'd-next', replay: 2 }]),
    });
    const run = fakeRun();
    run.digest = { members: [member(MEMBER, 'issue:7')] };
    const ctx = digestCtx({ webhook: { ordering: 'subject' }, delivery: { subject: 'issue:6' } });
    await expect(lanes.settleDelivered(run, ctx, delivered)).resolves.toBe('delivered a digest of 2');
    expect(repo.recordDigest).toHaveBeenCalledWith(DELIVERY_ID, run.claimToken, [MEMBER], delivered);
    expect(repo.nextOfSubjects).toHaveBeenCalledWith(WEBHOOK, ['issue:6', 'issue:7']);
    expect(promoted.sort()).toEqual(['d-head', 'd-next.r2']);
    expect((await metrics.deliveriesFinished.get()).values.map((v) => [v.labels.status, v.value])).toEqual([['succeeded', 2]]);
  });

  it("gives a failed digest's members back and marks the leader's attempt", async () => {
    const { lanes, repo } = lanesWith();
    const run = fakeRun();
    run.digest = { members: [member()] };
    await lanes.releaseMembers(run, digestCtx(), 'HTTP 500');
    expect(repo.releaseDigest).toHaveBeenCalledWith([MEMBER], run.claimToken, expect.stringContaining('HTTP 500'));
    expect(repo.markDigestAttempt).toHaveBeenCalledWith(DELIVERY_ID, 2);
  });

  it('wakes nothing when waking fails: the held deliveries ask again by themselves', async () => {
    const { lanes } = lanesWith({ nextOfSubjects: jest.fn(async () => Promise.reject(new Error('connection reset'))) });
    await expect(
      lanes.afterFinish(digestCtx({ webhook: { ordering: 'subject' }, delivery: { subject: 'issue:1' } }), ['issue:1'], true),
    ).resolves.toBeUndefined();
  });
});

describe('the attempt and settle steps with a digest', () => {
  it("sends one message carrying the leader and its members (no direct messages), in the webhook platform's digest form", async () => {
    const requests: SendRequest[] = [];
    const sender = {
      send: async (request: SendRequest): Promise<SendResult> => {
        requests.push(request);
        return { classification: { kind: 'delivered' }, statusCode: 200, responseBody: 'ok', startedAt: new Date(), durationMs: 3, templateError: null };
      },
    };
    const dms = { send: jest.fn() };
    const attempt = new DeliveryAttempt(sender as unknown as ChannelSender, dms as unknown as DirectMessenger, new DeliveryMetrics(new MetricsRegistry()));
    const run = fakeRun();
    run.digest = { members: [member()] };
    await attempt.run(run, digestCtx({ webhook: { directMessage: true } }));
    expect(dms.send).not.toHaveBeenCalled();
    const body = JSON.parse(requests[0].render?.({ url: 'https://hooks.slack.com/services/x', secret: null, previousSecret: null, locale: 'en' }).body ?? '{}');
    const blocks = body.attachments[0].blocks;
    expect(blocks[0].text.text).toBe('*✅ P: 2 notifications*');
    expect(blocks[2].text.text.split('\n')).toEqual(['• Issue created', '• ✅ Issue resolved — PAY-7 Fix']);
  });

  it("settles a delivered digest through the lanes, and a failed one as the leader's attempt, giving the members back", async () => {
    const deliveries = { recordAttempt: jest.fn(async () => 1), disable: jest.fn(async () => false), disableIfFailing: jest.fn(async () => false) };
    const { lanes, repo } = lanesWith();
    const config = { retryScheduleMs: [0, 1000], autoDisableFailures: 20, autoDisableDays: 5 } as HeraldConfig;
    const settle = new DeliverySettle(
      deliveries as unknown as DeliveryRepository,
      { pause: jest.fn() } as unknown as WebhookRateLimiter,
      new DeliveryMetrics(new MetricsRegistry()),
      config,
      lanes,
    );
    const ok = fakeRun();
    ok.digest = { members: [member()] };
    await expect(settle.settle(ok, digestCtx(), { via: 'channel', classification: { kind: 'delivered' }, record: delivered })).resolves.toBe(
      'delivered a digest of 2',
    );
    expect(deliveries.recordAttempt).not.toHaveBeenCalled();

    const failed = fakeRun();
    failed.digest = { members: [member()] };
    await expect(
      settle.settle(failed, digestCtx({ delivery: { chainAttempts: 1 } }), {
        via: 'channel',
        classification: { kind: 'rejected', reason: 'HTTP 400 invalid_blocks' },
        record: { ...delivered, outcome: 'rejected', statusCode: 400 },
      }),
    ).rejects.toBeInstanceOf(UnrecoverableError);
    expect((deliveries.recordAttempt.mock.calls[0] as unknown[])[2]).toBe('failed');
    expect(repo.releaseDigest).toHaveBeenCalledWith([MEMBER], failed.claimToken, expect.stringContaining('HTTP 400 invalid_blocks'));
  });
});
