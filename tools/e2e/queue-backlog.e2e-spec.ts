import { randomUUID } from 'node:crypto';
import { Queue } from 'bullmq';
import IORedis from 'ioredis';
import { JOBS, QUEUES, type DeliverJobV1 } from '@herald/contracts';
import {
  FakeReceiver,
  TestClient,
  TEST_ADMIN_TOKEN,
  TEST_REDIS_URL,
  createTestDatabase,
  deleteQueueKeys,
  eventually,
  freePort,
  startApp,
  stopApp,
  testEnv,
  uniqueQueuePrefix,
  type RunningApp,
} from '@herald/testing';

/**
 * The number KEDA scales the workers on (issue 12, item 4), end to end: with the delivery queue
 * paused, N events become N waiting jobs, next to prioritized jobs, delayed jobs already due and
 * delayed jobs not due; the worker's `herald_queue_backlog` must equal BullMQ's own count of what
 * is ready (waiting + prioritized + due), and fall to 0 once the queue resumes, while the jobs due
 * in an hour stay uncounted.
 */
describe("herald_queue_backlog, the worker autoscaler's input", () => {
  const N = 25;
  let prefix: string;
  let receiver: FakeReceiver;
  let apps: RunningApp[] = [];
  let worker: RunningApp;
  let redis: IORedis;
  let queue: Queue<DeliverJobV1>;

  beforeAll(async () => {
    receiver = await FakeReceiver.start();
    prefix = uniqueQueuePrefix();
    const ingestionPort = await freePort();
    const env = testEnv(await createTestDatabase(), prefix, { HERALD_INGESTION_URL: `http://127.0.0.1:${ingestionPort}` });
    apps = await Promise.all([
      startApp('api-gateway', env, await freePort()),
      startApp('ingestion', env, ingestionPort),
      startApp('delivery-worker', env, await freePort()),
    ]);
    worker = apps[2];
    redis = new IORedis(TEST_REDIS_URL, { maxRetriesPerRequest: 3 });
    queue = new Queue<DeliverJobV1>(QUEUES.deliver, { connection: redis, prefix });
  }, 60_000);

  afterAll(async () => {
    await Promise.all(apps.map((app) => stopApp(app)));
    await queue?.close();
    redis?.disconnect();
    await receiver?.stop();
    await deleteQueueKeys(prefix);
  });

  const backlogMetric = async (): Promise<number | undefined> => {
    const text = await (await fetch(`${worker.url}/metrics`)).text();
    const found = /^herald_queue_backlog\{queue="herald\.deliver"\} (\d+)$/m.exec(text);
    return found ? Number(found[1]) : undefined;
  };

  /** BullMQ's own answer, through its public API: waiting + prioritized + delayed jobs whose time has come. */
  const readyJobs = async (): Promise<number> => {
    const now = Date.now();
    const counts = await queue.getJobCounts('wait', 'prioritized');
    const due = (await queue.getDelayed()).filter((job) => job.timestamp + job.delay <= now).length;
    return counts.wait + counts.prioritized + due;
  };

  it('equals the real backlog while the workers are paused, and falls to 0 when they resume', async () => {
    const admin = new TestClient(apps[0].url, TEST_ADMIN_TOKEN);
    expect((await admin.post('/v1/projects', { key: 'backlog', name: 'Backlog' })).status).toBe(201);
    expect(
      (await admin.post('/v1/projects/backlog/webhooks', { name: 'r', type: 'custom', url: `${receiver.url}/hook`, events: ['bb.issue.create'] })).status,
    ).toBe(201);

    await queue.pause();
    for (let i = 0; i < N; i++) expect((await admin.post('/v1/projects/backlog/events', { type: 'bb.issue.create' })).status).toBe(202);
    // Jobs of deliveries that do not exist finish at once ("already final"): they only fill the sets.
    const job = () => ({ name: JOBS.deliver, data: { v: 1 as const, deliveryId: randomUUID() } });
    await queue.addBulk([1, 2, 3].map((priority) => ({ ...job(), opts: { priority } })));
    await queue.addBulk([1, 2, 3, 4].map(() => ({ ...job(), opts: { delay: 1 } })));
    await queue.addBulk([1, 2].map(() => ({ ...job(), opts: { delay: 3_600_000 } })));

    const expected = N + 3 + 4;
    await eventually(async () => (await readyJobs()) === expected, 15_000, `BullMQ to hold ${expected} ready jobs`);
    // The list alone (KEDA's Redis list scaler) misses the prioritized ones at least (due delayed
    // jobs sit in the delayed set until a worker's fetch promotes them, paused or not).
    expect(await queue.getWaitingCount()).toBeLessThanOrEqual(expected - 3);
    await eventually(async () => (await backlogMetric()) === expected, 15_000, `herald_queue_backlog to read ${expected}`);
    expect(await readyJobs()).toBe(expected);
    expect(receiver.requests).toHaveLength(0);

    await queue.resume();
    await eventually(async () => (await backlogMetric()) === 0, 30_000, 'herald_queue_backlog to fall to 0');
    expect(await readyJobs()).toBe(0);
    await receiver.waitFor(N, 10_000);
    expect(await queue.getDelayedCount()).toBe(2);
  });
});
