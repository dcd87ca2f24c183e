import { Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import { Queue } from 'bullmq';
import { Cluster } from 'ioredis';
import { JOBS, QUEUES, deliverJobId, type DeliverJobV1 } from '@herald/contracts';
import { HeraldConfig, type ReadinessProbe } from '@herald/platform';
import { QueueMetrics } from './queue-metrics';
import { deliverJobOptions } from './job-options';
import { RedisUnavailable, producerConnection, type RedisClient } from './redis';

/** Job ids looked up at once by `missingDeliveryJobs` (a recovery walk asks about up to 10 000). */
const JOB_LOOKUP_CHUNK = 500;

/**
 * Typed producers for Herald's queues. Every enqueue is awaited and fails fast when Redis is down;
 * callers decide what that means (the outbox keeps the work, the API answers 503).
 */
@Injectable()
export class HeraldQueues implements OnApplicationShutdown {
  readonly connection: RedisClient;
  readonly deliver: Queue<DeliverJobV1>;

  constructor(private readonly config: HeraldConfig) {
    this.connection = producerConnection(config.redis, 'herald-producer');
    // Without a listener ioredis reports every failed reconnect as an unhandled error.
    this.connection.on('error', () => undefined);
    const options = { connection: this.connection, prefix: config.queuePrefix };
    this.deliver = new Queue<DeliverJobV1>(QUEUES.deliver, options);
    this.deliver.on('error', () => undefined);
  }

  /**
   * Waits briefly for a connection that is (re)connecting, so a process that just started or a
   * Redis blip does not fail the enqueue; a real outage still fails after `timeoutMs`.
   */
  async ready(timeoutMs = 2000): Promise<void> {
    if (this.connection.status === 'ready') return;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.connection.off('ready', onReady);
        reject(new RedisUnavailable(`Redis is unavailable (connection ${this.connection.status})`));
      }, timeoutMs);
      const onReady = () => {
        clearTimeout(timer);
        resolve();
      };
      this.connection.once('ready', onReady);
    });
  }

  /**
   * One job per delivery attempt chain; its id makes a repeated enqueue of the same chain a no-op.
   * `resume` continues a chain that already used attempts (the reconciler re-queueing a lost job);
   * `traceparent` is the trace context the attempts continue (tracing on).
   */
  async enqueueDeliveries(
    items: Array<{ deliveryId: string; replay: number; resume?: { attemptsUsed: number; delayMs: number }; traceparent?: string }>,
  ): Promise<void> {
    if (items.length === 0) return;
    await this.ready();
    await this.deliver.addBulk(
      items.map(({ deliveryId, replay, resume, traceparent }) => ({
        name: JOBS.deliver,
        data: traceparent ? { v: 1 as const, deliveryId, traceparent } : { v: 1 as const, deliveryId },
        opts: deliverJobOptions(this.config.retryScheduleMs, deliverJobId(deliveryId, replay), resume),
      })),
    );
  }

  /** Whether the producer connection is up (what the relay and the watchdog ask before counting on Redis). */
  get redisReady(): boolean {
    return this.connection.status === 'ready';
  }

  /** Calls `listener` each time the connection becomes ready (at start and after every reconnect); returns the unsubscribe. */
  onReady(listener: () => void): () => void {
    this.connection.on('ready', listener);
    return () => void this.connection.off('ready', listener);
  }

  /**
   * The delivery jobs of `jobIds` that Redis no longer holds in any state (waiting, delayed,
   * active, or kept after finishing), as BullMQ's own `Queue.getJob` answers: each is one O(1)
   * read of the job under the queue's prefix, so on a cluster they all go to the queue's slot
   * (the `{herald}` hash tag). (`getJobState` would answer more, but it scans the wait and active
   * lists for every id: with a backlog that is seconds of Redis time per pass.) Asked in chunks,
   * each chunk's reads sent together.
   */
  async missingDeliveryJobs(jobIds: readonly string[]): Promise<string[]> {
    await this.ready();
    const missing: string[] = [];
    for (let i = 0; i < jobIds.length; i += JOB_LOOKUP_CHUNK) {
      const chunk = jobIds.slice(i, i + JOB_LOOKUP_CHUNK);
      const jobs = await Promise.all(chunk.map((id) => this.deliver.getJob(id)));
      chunk.forEach((id, j) => {
        if (!jobs[j]) missing.push(id);
      });
    }
    return missing;
  }

  /**
   * Which Redis server holds the queue: its `run_id` (every master's, on a cluster). A restart or a
   * failover to another server changes it, and the new server may lack jobs the old one had.
   */
  async serverIdentity(): Promise<string> {
    const connection = this.connection;
    const nodes = connection instanceof Cluster ? connection.nodes('master') : [connection];
    // A cluster between slot refreshes may list no node: that is no answer, not a new server.
    if (nodes.length === 0) throw new RedisUnavailable('no Redis master connected');
    const ids = await Promise.all(nodes.map(async (node) => /^run_id:(\w+)/m.exec(await node.info('server'))?.[1] ?? 'unknown'));
    return ids.sort().join(',');
  }

  async onApplicationShutdown(): Promise<void> {
    await this.deliver.close().catch(() => undefined);
    this.connection.disconnect();
  }
}

/**
 * `/readyz` probe: the Redis node that holds the delivery queue answers. A key read rather than
 * PING, because on a cluster PING reaches any node, while Herald needs the one serving its slot.
 */
@Injectable()
export class RedisProbe implements ReadinessProbe {
  readonly name = 'redis';
  constructor(private readonly queues: HeraldQueues) {}
  async check(): Promise<void> {
    // A connection between reconnect attempts gets a moment to come back before it counts as down.
    await this.queues.ready(1000);
    await this.queues.connection.exists(this.queues.deliver.keys.meta);
  }
}

/** Publishes queue depth by state for `/metrics` every few seconds. */
@Injectable()
export class QueueDepthReporter implements OnApplicationShutdown {
  private timer?: NodeJS.Timeout;
  private readonly logger = new Logger(QueueDepthReporter.name);

  constructor(
    private readonly queues: HeraldQueues,
    private readonly metrics: QueueMetrics,
  ) {}

  start(intervalMs = 5000): void {
    this.timer = setInterval(() => void this.report(), intervalMs);
    this.timer.unref();
  }

  async report(): Promise<void> {
    try {
      const queue = this.queues.deliver;
      const counts = await queue.getJobCounts('waiting', 'active', 'delayed', 'failed', 'prioritized');
      for (const [state, n] of Object.entries(counts)) this.metrics.queueDepth.set({ queue: queue.name, state }, n);
    } catch (err) {
      this.logger.debug(`queue depth unavailable: ${(err as Error).message}`);
    }
  }

  onApplicationShutdown(): void {
    clearInterval(this.timer);
  }
}
