import { Worker, type Job, type WorkerOptions } from 'bullmq';
import type { HeraldConfig } from '@herald/platform';
import { heraldBackoff } from './job-options';
import { workerConnection } from './redis';

export type JobProcessor<T> = (job: Job<T>, token?: string) => Promise<unknown>;

/**
 * A BullMQ worker with Herald's settings: the retry-schedule backoff, a lock that a killed worker
 * gives up after `HERALD_JOB_LOCK_MS` (its jobs are then picked up by the stalled-job check), and a
 * Redis connection that waits for Redis to come back instead of failing.
 */
export function createWorker<T>(queueName: string, processor: JobProcessor<T>, config: HeraldConfig, options: Partial<WorkerOptions> = {}): Worker<T> {
  const connection = workerConnection(config.redis, `herald-worker:${queueName}`);
  connection.on('error', () => undefined);
  const worker = new Worker<T>(queueName, processor, {
    connection,
    prefix: config.queuePrefix,
    concurrency: config.workerConcurrency,
    lockDuration: config.lockDurationMs,
    stalledInterval: config.stalledIntervalMs,
    // A job whose worker died is retried; only one that kills its worker again and again fails.
    maxStalledCount: 10,
    settings: { backoffStrategy: heraldBackoff(config.retryScheduleMs) },
    autorun: false,
    ...options,
  });
  worker.on('error', () => undefined);
  worker.on('closed', () => connection.disconnect());
  return worker;
}
