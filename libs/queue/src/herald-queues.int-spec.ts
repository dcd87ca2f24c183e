import { Worker } from 'bullmq';
import { QUEUES, deliverJobId } from '@herald/contracts';
import { deleteQueueKeys, testConfig, uniqueQueuePrefix } from '@herald/testing';
import { WorkerCoordination } from './coordination';
import { HeraldQueues } from './herald-queues';
import { workerConnection } from './redis';

const uuid = (n: number) => `0190d5b0-0000-7000-8000-${String(n).padStart(12, '0')}`;

/**
 * What the reconciler asks the queue library, against the machine's Redis and BullMQ's own
 * scripts: which delivery jobs Redis no longer holds, whatever state the others are in; and the
 * lease and marks the workers share.
 */
describe('HeraldQueues and WorkerCoordination against Redis', () => {
  const prefix = uniqueQueuePrefix();
  // Only the Redis side is used: the database URL is never dialled.
  const config = testConfig('postgres://127.0.0.1:1/none', prefix, { HERALD_RETRY_SCHEDULE: '0s,1h' });
  const queues = new HeraldQueues(config);
  const shared = new WorkerCoordination(queues, config);
  const workerRedis = workerConnection(config.redis, 'spec-worker');
  let worker: Worker | undefined;

  afterAll(async () => {
    await worker?.close(true);
    workerRedis.disconnect();
    await queues.onApplicationShutdown();
    await deleteQueueKeys(prefix);
  });

  it('names the delivery jobs Redis lacks, and none that are waiting, delayed, active or being retried', async () => {
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const active = uuid(1);
    // One job taken by a worker and held in `active`; one that fails once and waits for its retry
    // (delayed, 1 h); one finished and removed (removeOnComplete); one due later; one waiting.
    worker = new Worker(
      QUEUES.deliver,
      async (job) => {
        // uuid(5)'s job is held too: the worker's pause may not stop a fetch already under way,
        // and a job it took must still exist (active) rather than finish and be removed.
        if (job.data.deliveryId === active || job.data.deliveryId === uuid(5)) return held;
        if (job.data.deliveryId === uuid(2)) throw new Error('retry me');
        return 'done';
      },
      { connection: workerRedis, prefix, concurrency: 5, autorun: true, settings: { backoffStrategy: () => 3_600_000 } },
    );
    await queues.enqueueDeliveries([1, 2, 3].map((n) => ({ deliveryId: uuid(n), replay: 0 })));
    const waitFor = async (check: () => Promise<boolean>) => {
      for (let i = 0; i < 200 && !(await check()); i++) await new Promise((r) => setTimeout(r, 25));
    };
    await waitFor(
      async () =>
        (await queues.deliver.getJobState(deliverJobId(uuid(2), 0))) === 'delayed' &&
        (await queues.deliver.getJobState(active)) === 'active' &&
        !(await queues.deliver.getJob(uuid(3))),
    );
    await worker.pause(true).catch(() => undefined);
    await queues.enqueueDeliveries([
      { deliveryId: uuid(4), replay: 0, resume: { attemptsUsed: 1, delayMs: 3_600_000 } },
      { deliveryId: uuid(5), replay: 2 },
    ]);
    const states = await Promise.all([active, uuid(2), deliverJobId(uuid(4), 0)].map((id) => queues.deliver.getJobState(id)));
    expect(states).toEqual(['active', 'delayed', 'delayed']);

    const asked = [active, uuid(2), uuid(3), deliverJobId(uuid(4), 0), deliverJobId(uuid(5), 2), deliverJobId(uuid(5), 1), uuid(6)];
    // uuid(3) finished and was removed; uuid(5)'s first replay chain and uuid(6) never existed.
    expect(await queues.missingDeliveryJobs(asked)).toEqual([uuid(3), deliverJobId(uuid(5), 1), uuid(6)]);
    expect(await queues.missingDeliveryJobs([])).toEqual([]);
    release();
  });

  it('answers for more ids than one lookup chunk, in order', async () => {
    const ids = Array.from({ length: 1200 }, (_, i) => deliverJobId(uuid(10_000 + i), 0));
    await queues.enqueueDeliveries(
      ids.filter((_, i) => i % 3 === 0).map((id) => ({ deliveryId: id, replay: 0, resume: { attemptsUsed: 0, delayMs: 3_600_000 } })),
    );
    expect(await queues.missingDeliveryJobs(ids)).toEqual(ids.filter((_, i) => i % 3 !== 0));
  });

  it('gives a lease to one owner until it runs out, and keeps marks for whoever is elected next', async () => {
    expect(await shared.lease('spec:lock', 'a', 300)).toBe(true);
    expect(await shared.lease('spec:lock', 'b', 300)).toBe(false);
    expect(await shared.lease('spec:lock', 'a', 300)).toBe(false); // not re-entrant: one pass per period
    await new Promise((r) => setTimeout(r, 350));
    expect(await shared.lease('spec:lock', 'b', 300)).toBe(true);

    expect(await shared.mark('spec:cursor')).toBeNull();
    await shared.setMark('spec:cursor', '7:abc', 60_000);
    expect(await shared.mark('spec:cursor')).toBe('7:abc');
    // Under the queue prefix, so on a cluster in the queue's slot.
    expect(await queues.connection.get(`${prefix}:spec:cursor`)).toBe('7:abc');
    await shared.clearMark('spec:cursor');
    expect(await shared.mark('spec:cursor')).toBeNull();
    await shared.setMark('spec:short', 'x', 50);
    await new Promise((r) => setTimeout(r, 100));
    expect(await shared.mark('spec:short')).toBeNull();
  });
});
