import { Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import type { Queue } from 'bullmq';
import { QueueMetrics } from './queue-metrics';
import { HeraldQueues } from './herald-queues';
import type { RedisClient } from './redis';

/** How often a worker recounts the backlog for `/metrics` (Prometheus scrapes every 30 s). */
const REPORT_EVERY_MS = 5000;

/**
 * BullMQ's delayed set scores a job `due timestamp × 0x1000 + a counter`, so every job due at or
 * before `now` scores below `(now + 1) × 0x1000` (BullMQ promotes with the same bound).
 */
const DELAYED_SCORE_SHIFT = 0x1000;

/**
 * The jobs of `queue` a worker could start now: waiting (a list) + prioritized (a sorted set) +
 * delayed jobs already due (a sorted set; BullMQ moves them to waiting only when a worker next
 * fetches, so a busy or paused queue holds due jobs there). Delayed jobs not due yet (a retry's
 * backoff, a rate-limited webhook's wait) are not counted: more workers would not send them sooner.
 * A globally paused queue keeps its jobs in the waiting list (BullMQ ≥ 5), so they count.
 * One MULTI on `redis` (the connection the queue uses): the three counts are of the same moment
 * (on a cluster too: the queue prefix's hash tag puts the three keys in one slot).
 */
export async function queueBacklog(redis: RedisClient, queue: Pick<Queue, 'keys'>, now = Date.now()): Promise<number> {
  const dueBelow = (now + 1) * DELAYED_SCORE_SHIFT - 1;
  const replies = await redis.multi().llen(queue.keys.wait).zcard(queue.keys.prioritized).zcount(queue.keys.delayed, 0, dueBelow).exec();
  if (!replies) throw new Error('queue backlog count was aborted');
  return replies.reduce((sum, [err, n]) => {
    if (err) throw err;
    return sum + Number(n);
  }, 0);
}

/**
 * Publishes the delivery queue's backlog as `herald_queue_backlog`, the number KEDA's Prometheus
 * scaler reads (docs/decisions.md, "Kubernetes"). Every worker reports it, so queries take `max`.
 */
@Injectable()
export class QueueBacklogReporter implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(QueueBacklogReporter.name);
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly queues: HeraldQueues,
    private readonly metrics: QueueMetrics,
  ) {}

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => void this.report(), REPORT_EVERY_MS);
    this.timer.unref();
    void this.report();
  }

  async report(): Promise<void> {
    const queue = this.queues.deliver;
    try {
      this.metrics.queueBacklog.set({ queue: queue.name }, await queueBacklog(this.queues.connection, queue));
    } catch (err) {
      // Redis away: keep the last number rather than report an empty queue that would scale workers in.
      this.logger.debug(`queue backlog unavailable: ${(err as Error).message}`);
    }
  }

  onApplicationShutdown(): void {
    clearInterval(this.timer);
  }
}
