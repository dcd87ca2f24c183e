import IORedis from 'ioredis';
import { JOBS, QUEUES, deliverJobId, type DeliverJobV1 } from '@herald/contracts';
import { RedisServer, eventually, redisCommandCounts, testConfig, uniqueQueuePrefix } from '@herald/testing';
import { HeraldQueues } from './herald-queues';
import { createWorker } from './worker';

const uuid = (n: number) => `0190d5b0-0000-7000-8000-${String(n).padStart(12, '0')}`;

/**
 * What one delivery costs Redis (issue 15 Part 2: at most 26 commands per delivery while draining,
 * its job's add included), on a private server so that nothing else is counted: the relay's
 * enqueue of a pass, and Herald's worker taking, finishing and removing each job.
 */
describe('Redis commands per delivery', () => {
  let server: RedisServer;
  let queues: HeraldQueues;

  beforeAll(async () => {
    server = await RedisServer.start();
    queues = new HeraldQueues(testConfig('postgres://127.0.0.1:1/none', uniqueQueuePrefix(), { REDIS_URL: server.url, HERALD_RETRY_SCHEDULE: '0s,1h' }));
  });
  afterAll(async () => {
    await queues.onApplicationShutdown();
    await server.stop();
  });

  it('queues a pass of deliveries and runs them in at most 26 commands each', async () => {
    const N = 400;
    const done = new Set<string>();
    const config = testConfig('postgres://127.0.0.1:1/none', queues.deliver.opts.prefix as string, { REDIS_URL: server.url, HERALD_RETRY_SCHEDULE: '0s,1h' });
    const worker = createWorker<DeliverJobV1>(
      QUEUES.deliver,
      async (job) => {
        done.add(job.data.deliveryId);
        return 'delivered';
      },
      config,
    );
    void worker.run();
    await worker.waitUntilReady();
    const before = await redisCommandCounts(server.url);
    await queues.enqueueDeliveries(Array.from({ length: N }, (_, i) => ({ deliveryId: uuid(i), replay: 0 })));
    await eventually(async () => done.size === N && (await queues.deliver.getJobCounts('active', 'wait')).active === 0, 30_000, 'every job finished');
    await worker.close();
    const after = await redisCommandCounts(server.url);
    const total = [...after].reduce((sum, [k, v]) => sum + v - (before.get(k) ?? 0), 0);
    // The counting connection's own INFO commands, and the worker's close, are within the margin.
    expect(total / N).toBeLessThanOrEqual(26);
    // Finished jobs are removed (removeOnComplete): Redis keeps only work in progress.
    expect(await queues.deliver.getJob(uuid(0))).toBeUndefined();
  });

  it('stores a waiting job as BullMQ does, and adds an existing job id only once', async () => {
    const leanId = uuid(1000);
    const viaBullmq = uuid(1001);
    await queues.enqueueDeliveries([{ deliveryId: leanId, replay: 0, traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' }]);
    await queues.deliver.add(
      JOBS.deliver,
      { v: 1, deliveryId: viaBullmq, traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' },
      {
        jobId: viaBullmq,
        attempts: 2,
        delay: 0,
        backoff: { type: 'herald-schedule' },
        removeOnComplete: true,
        removeOnFail: true,
      },
    );
    const redis = new IORedis(server.url);
    try {
      const lean = await redis.hgetall(`${queues.deliver.keys['']}${leanId}`);
      const stock = await redis.hgetall(`${queues.deliver.keys['']}${viaBullmq}`);
      expect(Object.keys(lean).sort()).toEqual(Object.keys(stock).sort());
      expect(JSON.parse(lean.opts)).toEqual({ ...JSON.parse(stock.opts), jobId: leanId });
      expect({ ...lean, opts: undefined, timestamp: undefined, data: undefined }).toEqual({ ...stock, opts: undefined, timestamp: undefined, data: undefined });
      expect(JSON.parse(lean.data)).toEqual({ ...JSON.parse(stock.data), deliveryId: leanId });
      const job = await queues.deliver.getJob(deliverJobId(leanId, 0));
      expect(job?.data.deliveryId).toBe(leanId);
      expect(await job?.getState()).toBe('waiting');

      // A repeated pass (the relay after a crash) changes nothing.
      const waiting = await redis.llen(queues.deliver.keys.wait);
      await queues.enqueueDeliveries([{ deliveryId: leanId, replay: 0 }]);
      expect(await redis.llen(queues.deliver.keys.wait)).toBe(waiting);
    } finally {
      redis.disconnect();
    }
  });
});
