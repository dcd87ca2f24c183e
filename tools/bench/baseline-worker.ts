import IORedis from 'ioredis';
import { Worker } from 'bullmq';
import { Pool } from 'undici';

/**
 * Baseline (b): the simplest thing that delivers — a bare BullMQ worker that POSTs each job's body
 * to a local receiver (at the job's `path`, else /hook) with an undici keep-alive pool. No database,
 * no signing, no rate limits: the ceiling Herald's worker is compared with.
 * `node baseline-worker.js <redisUrl> <prefix> <receiverUrl> <concurrency> [queue]`
 */
const [redisUrl, prefix, receiverUrl, concurrency, queueName = 'baseline-deliver'] = process.argv.slice(2);
const pool = new Pool(receiverUrl, { connections: 128, pipelining: 1 });
const connection = new IORedis(redisUrl, { maxRetriesPerRequest: null });
const worker = new Worker(
  queueName,
  async (job) => {
    const path = typeof job.data.path === 'string' ? job.data.path : '/hook';
    const res = await pool.request({ path, method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(job.data) });
    await res.body.dump();
    if (res.statusCode >= 300) throw new Error(`HTTP ${res.statusCode}`);
  },
  { connection, prefix, concurrency: Number(concurrency), removeOnComplete: { count: 0 } },
);
worker.on('ready', () => process.send?.('ready'));
