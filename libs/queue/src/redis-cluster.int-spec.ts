import { DelayedError, type Job } from 'bullmq';
import { Cluster } from 'ioredis';
import { QUEUES, deliverJobId } from '@herald/contracts';
import { MetricsRegistry, hashTag, type HeraldConfig } from '@herald/platform';
import { QueueMetrics } from './queue-metrics';
import { RedisClusterServers, testConfig } from '@herald/testing';
import { HeraldQueues, QueueDepthReporter, RedisProbe } from './herald-queues';
import { QueueBacklogReporter, queueBacklog } from './queue-backlog';
import { WebhookRateLimiter } from './rate-limiter';
import { createWorker } from './worker';

/**
 * Herald's Redis users on a real Redis Cluster of three masters (issue 13, item 1), started and
 * stopped by this spec: BullMQ's scripts touch several keys of a queue at once, the limiter's
 * script three keys of a webhook, the backlog count three keys in one MULTI. On a cluster each of
 * those must stay in one hash slot, or Redis answers CROSSSLOT.
 */
describe('Herald on a Redis Cluster', () => {
  let servers: RedisClusterServers;
  let config: HeraldConfig;
  let queues: HeraldQueues;
  const uuid = (n: number) => `00000000-0000-7000-8000-${String(n).padStart(12, '0')}`;

  beforeAll(async () => {
    servers = await RedisClusterServers.start({ password: 'cluster-secret-0123' });
    // HERALD_QUEUE_PREFIX unset: the cluster default "{herald}" (a private cluster, nothing else uses it).
    config = testConfig('postgres://unused/none', '', { ...servers.env(), HERALD_QUEUE_PREFIX: '' });
    queues = new HeraldQueues(config);
  }, 60_000);

  afterAll(async () => {
    await queues?.onApplicationShutdown();
    await servers?.stop();
  });

  it('defaults the queue prefix to {herald}, so every key of the delivery queue hashes to one slot', async () => {
    expect(config.queuePrefix).toBe('{herald}');
    expect(queues.connection).toBeInstanceOf(Cluster);
    const keys = Object.values(queues.deliver.keys).filter((k) => k !== '');
    expect(new Set(keys.map(hashTag))).toEqual(new Set(['herald']));
    await new RedisProbe(queues).check();
  });

  it('queues delivery jobs, finds the missing ones by id (BullMQ getJob, on the queue slot), and counts depth and backlog', async () => {
    await queues.enqueueDeliveries([1, 2, 3].map((n) => ({ deliveryId: uuid(n), replay: 0 })));
    // Two chains resumed by the reconciler: one due at once, one an hour away.
    await queues.enqueueDeliveries([
      { deliveryId: uuid(4), replay: 0, resume: { attemptsUsed: 1, delayMs: 0 } },
      { deliveryId: uuid(5), replay: 0, resume: { attemptsUsed: 1, delayMs: 3_600_000 } },
    ]);
    const ids = [1, 2, 3, 4, 5, 6].map((n) => deliverJobId(uuid(n), 0));
    expect(await queues.missingDeliveryJobs(ids)).toEqual([ids[5]]);

    // The schedule's first delay is 0 s with ±20 % jitter, so the first three may sit in delayed for an instant.
    await new Promise((r) => setTimeout(r, 50));
    expect(await queueBacklog(queues.connection, queues.deliver)).toBe(4);

    const registry = new MetricsRegistry();
    const metrics = new QueueMetrics(registry);
    await new QueueBacklogReporter(queues, metrics).report();
    await new QueueDepthReporter(queues, metrics).report();
    const text = await registry.registry.metrics();
    expect(text).toContain(`herald_queue_backlog{queue="${QUEUES.deliver}"} 4`);
    const depth = (state: string) => Number(new RegExp(`herald_queue_jobs\\{queue="${QUEUES.deliver}",state="${state}"\\} (\\d+)`).exec(text)?.[1]);
    expect(depth('waiting') + depth('delayed')).toBe(5);
    expect(depth('delayed')).toBeGreaterThanOrEqual(1);
  });

  it('runs the worker on a cluster connection: jobs are taken, and a job put back with moveToDelayed comes again', async () => {
    const seen: string[] = [];
    const worker = createWorker<{ deliveryId: string }>(
      QUEUES.deliver,
      async (job: Job<{ deliveryId: string }>, token?: string) => {
        seen.push(job.data.deliveryId);
        if (job.data.deliveryId === uuid(1) && seen.filter((id) => id === uuid(1)).length === 1) {
          await job.moveToDelayed(Date.now() + 200, token);
          throw new DelayedError();
        }
        return 'ok';
      },
      config,
    );
    void worker.run();
    try {
      const deadline = Date.now() + 15_000;
      while (Date.now() < deadline && !(seen.length >= 5 && (await queueBacklog(queues.connection, queues.deliver)) === 0))
        await new Promise((r) => setTimeout(r, 100));
      expect([...new Set(seen)].sort()).toEqual([1, 2, 3, 4].map(uuid));
      expect(seen.filter((id) => id === uuid(1))).toHaveLength(2);
      // The chain due in an hour waits, still counted as delayed but not as backlog.
      expect(await queueBacklog(queues.connection, queues.deliver)).toBe(0);
      expect(await queues.missingDeliveryJobs([deliverJobId(uuid(5), 0)])).toEqual([]);
    } finally {
      await worker.close();
    }
  });

  it("keeps each webhook's limiter keys in one slot, spreads webhooks over the masters, and holds the limit", async () => {
    // Redis' decisions alone: every answer counts as instant (a loaded run could make a yes late; rate-limiter.int-spec covers that).
    const limiter = Object.assign(new WebhookRateLimiter(queues, config), { clock: () => 0 });
    const nodes = new Set<number>();
    for (let n = 100; n < 112; n++) {
      const keys = Object.values(limiter.keys(uuid(n)));
      expect(new Set(keys.map(hashTag))).toEqual(new Set([uuid(n)]));
      nodes.add((await servers.nodeOf(keys[0])).port);
    }
    // Twelve webhooks over three masters: not all on the queue's node.
    expect(nodes.size).toBeGreaterThan(1);

    const limit = { count: 3, perSeconds: 10 };
    const decisions = [];
    for (let i = 0; i < 4; i++) decisions.push(await limiter.acquire(uuid(100), limit));
    expect(decisions.map((d) => d.allowed)).toEqual([true, true, true, false]);
    await limiter.pause(uuid(101), Date.now() + 60_000);
    expect(await limiter.acquire(uuid(101), null)).toMatchObject({ allowed: false, reason: 'paused' });
  });
});
