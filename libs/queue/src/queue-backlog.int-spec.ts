import { Queue, Worker } from 'bullmq';
import IORedis from 'ioredis';
import { TEST_REDIS_URL, deleteQueueKeys, uniqueQueuePrefix } from '@herald/testing';
import { queueBacklog } from './queue-backlog';

/**
 * The backlog KEDA scales on, against the machine's real Redis and BullMQ's own scripts: waiting,
 * prioritized and due delayed jobs count; delayed jobs not due yet do not (BullMQ keeps waiting jobs
 * in a list and the other two in sorted sets, which is why a list-length scaler undercounts).
 */
describe('queueBacklog', () => {
  const prefix = uniqueQueuePrefix();
  const connection = new IORedis(TEST_REDIS_URL, { maxRetriesPerRequest: null });
  const queue = new Queue('backlog', { connection, prefix });

  afterAll(async () => {
    await queue.close();
    connection.disconnect();
    await deleteQueueKeys(prefix);
  });

  /** BullMQ's own view of the same thing, through its public API. */
  const reference = async (now: number) => {
    const counts = await queue.getJobCounts('wait', 'prioritized');
    const due = (await queue.getDelayed()).filter((job) => job.timestamp + job.delay <= now);
    return counts.wait + counts.prioritized + due.length;
  };

  it('counts waiting + prioritized + delayed-and-due jobs, also while the queue is paused, and falls to 0 when a worker drains it', async () => {
    await queue.pause();
    await queue.addBulk([1, 2, 3].map((i) => ({ name: 'plain', data: { i } })));
    await queue.addBulk([1, 2].map((i) => ({ name: 'urgent', data: { i }, opts: { priority: i } })));
    await queue.addBulk([1, 2, 3, 4].map((i) => ({ name: 'soon', data: { i }, opts: { delay: 1 } })));
    await queue.addBulk([1, 2].map((i) => ({ name: 'later', data: { i }, opts: { delay: 3_600_000 } })));
    await new Promise((r) => setTimeout(r, 20));

    const now = Date.now();
    expect(await queueBacklog(connection, queue, now)).toBe(3 + 2 + 4);
    expect(await reference(now)).toBe(3 + 2 + 4);
    // The list alone (what KEDA's Redis list scaler reads) sees a third of it.
    expect(await connection.llen(queue.keys.wait)).toBe(3);
    // Just before the "soon" jobs fell due, they did not count.
    const added = Math.min(...(await queue.getDelayed()).filter((j) => j.name === 'soon').map((j) => j.timestamp + j.delay));
    expect(await queueBacklog(connection, queue, added - 1)).toBe(3 + 2);

    await queue.resume();
    const processed: string[] = [];
    const workerConnection = new IORedis(TEST_REDIS_URL, { maxRetriesPerRequest: null });
    const worker = new Worker(
      'backlog',
      async (job) => {
        processed.push(job.name);
      },
      { connection: workerConnection, prefix },
    );
    try {
      const deadline = Date.now() + 10_000;
      while ((await queueBacklog(connection, queue)) > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      expect(await queueBacklog(connection, queue)).toBe(0);
      expect(processed.sort()).toEqual(['plain', 'plain', 'plain', 'soon', 'soon', 'soon', 'soon', 'urgent', 'urgent']);
      // The jobs due in an hour are still there, uncounted.
      expect(await queue.getDelayedCount()).toBe(2);
    } finally {
      await worker.close();
      workerConnection.disconnect();
    }
  });
});
