import { Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import { Job, Queue, type JobsOptions } from 'bullmq';
import { Cluster } from 'ioredis';
import { JOBS, QUEUES, deliverJobId, type DeliverJobV1 } from '@herald/contracts';
import { HeraldConfig, type ReadinessProbe } from '@herald/platform';
import { QueueMetrics } from './queue-metrics';
import { deliverJobOptions } from './job-options';
import { RedisUnavailable, producerConnection, type RedisClient } from './redis';

/** Job ids looked up at once by `missingDeliveryJobs` (a recovery walk asks about up to 10 000). */
const JOB_LOOKUP_CHUNK = 500;

/** Jobs one run of {@link ADD_WAITING} adds at most (a relay pass may queue thousands; Redis runs one script at a time). */
const ADD_CHUNK = 500;

/**
 * Adds waiting delivery jobs as BullMQ's own `addStandardJob` script does, without what nobody
 * reads: the `added` and `waiting` entries of the queue's events stream (and the stream's length
 * setting that goes with them) and the job-id counter, which only numbers jobs without an id. A
 * job whose key exists already is left as it is (its id is its delivery chain: docs/contract.md
 * §6.2). The job hash has the fields BullMQ writes (name, data, opts, timestamp, delay, priority),
 * the ids go to the wait list in order, and the marker wakes the workers unless the queue is
 * paused or at its global concurrency, exactly as BullMQ's script decides. One run for many jobs:
 * per job an EXISTS and an HMSET, per run one LPUSH, one HMGET and one ZADD (BullMQ: ten commands
 * per job, its script included). Delayed jobs (a re-queued chain waiting for its retry) go
 * through BullMQ's `addBulk`.
 *
 * KEYS: wait, meta, active, marker. ARGV: the job key prefix, then per job id, name, data, opts, timestamp.
 * Returns how many jobs were added.
 */
const ADD_WAITING = `
local rcall = redis.call
local ids = {}
for i = 2, #ARGV, 5 do
  local jobKey = ARGV[1] .. ARGV[i]
  if rcall('EXISTS', jobKey) == 0 then
    rcall('HMSET', jobKey, 'name', ARGV[i + 1], 'data', ARGV[i + 2], 'opts', ARGV[i + 3], 'timestamp', ARGV[i + 4], 'delay', 0, 'priority', 0)
    ids[#ids + 1] = ARGV[i]
  end
end
if #ids == 0 then return 0 end
rcall('LPUSH', KEYS[1], unpack(ids))
local meta = rcall('HMGET', KEYS[2], 'paused', 'concurrency')
local maxed = meta[1] or (meta[2] and rcall('LLEN', KEYS[3]) >= tonumber(meta[2]))
if not maxed then rcall('ZADD', KEYS[4], 0, '0') end
return #ids
`;

type AddingRedis = RedisClient & {
  heraldAddWaiting(wait: string, meta: string, active: string, marker: string, ...args: Array<string | number>): Promise<number>;
};

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
    if (!('heraldAddWaiting' in this.connection)) this.connection.defineCommand('heraldAddWaiting', { numberOfKeys: 4, lua: ADD_WAITING });
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
    const jobs = items.map(({ deliveryId, replay, resume, traceparent }) => ({
      name: JOBS.deliver,
      data: traceparent ? { v: 1 as const, deliveryId, traceparent } : { v: 1 as const, deliveryId },
      opts: deliverJobOptions(this.config.retryScheduleMs, deliverJobId(deliveryId, replay), resume),
    }));
    const delayed = jobs.filter((j) => (j.opts.delay ?? 0) > 0);
    const waiting = jobs.filter((j) => (j.opts.delay ?? 0) <= 0);
    const adds: Array<Promise<unknown>> = [];
    for (let i = 0; i < waiting.length; i += ADD_CHUNK) adds.push(this.addWaiting(waiting.slice(i, i + ADD_CHUNK)));
    if (delayed.length) adds.push(this.deliver.addBulk(delayed));
    await Promise.all(adds);
  }

  /** Runs {@link ADD_WAITING} for jobs without a delay; each job's hash as BullMQ's `Job` would store it. */
  private async addWaiting(jobs: Array<{ name: string; data: DeliverJobV1; opts: JobsOptions }>): Promise<void> {
    const keys = this.deliver.keys;
    const args: Array<string | number> = [keys['']];
    for (const { name, data, opts } of jobs) {
      const job = new Job(this.deliver, name, data, opts, opts.jobId);
      const stored = job.asJSON();
      // BullMQ stores the options the Job normalised (attempts, backoff), undefined ones left out.
      args.push(opts.jobId as string, stored.name, stored.data, JSON.stringify(job.opts), stored.timestamp);
    }
    await (this.connection as AddingRedis).heraldAddWaiting(keys.wait, keys.meta, keys.active, keys.marker, ...args);
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
