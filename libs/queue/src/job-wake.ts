import { HeraldQueues } from './herald-queues';

/**
 * Moves delivery jobs that wait in BullMQ's delayed set to the waiting list now: the next delivery
 * of a subject once the one before it finished, the next message of a digest (issue 16). A job
 * that is not delayed (waiting, active, finished, or gone: the reconciler re-queues lost ones) is
 * left as it is: it runs, or ran, anyway. Returns how many were moved. One read and one script per
 * job; callers wake a few jobs at a time.
 */
export async function promoteDeliveryJobs(queues: HeraldQueues, jobIds: readonly string[]): Promise<number> {
  if (jobIds.length === 0) return 0;
  await queues.ready();
  const moved = await Promise.all(
    jobIds.map(async (id) => {
      const job = await queues.deliver.getJob(id);
      if (!job) return false;
      // BullMQ refuses to promote a job that is not delayed: that job needs no waking.
      return job.promote().then(
        () => true,
        () => false,
      );
    }),
  );
  return moved.filter(Boolean).length;
}
