import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Queue } from 'bullmq';
import IORedis from 'ioredis';
import { TEST_ADMIN_TOKEN, TestClient, freePort, startApp, stopApp, testEnv, type RunningApp } from '@herald/testing';
import { PrivatePostgres, PrivateRedis, cpuSeconds } from '../support/services';
import { fmt, sleep, type AddRow } from './relay-backlog';

/**
 * Ordered delivery per subject (issue 16 item 3): the same workload delivered with `ordering:
 * "none"` and with `ordering: "subject"`, on a private Postgres and Redis, the three apps as
 * processes (one worker, ORDERING_BENCH_CONCURRENCY jobs at a time), to a local receiver that
 * answers after ORDERING_BENCH_RECEIVER_MS. Rows `ordering | …` of docs/benchmarks.md; `npm run
 * bench -- --only=ordering` runs only this section.
 *
 * Workload: ORDERING_BENCH_EVENTS events (default 4 000) about S subjects (issues), accepted in
 * rounds (round n holds event #n of every subject, in batches of 100), to one custom webhook
 * without a rate limit. The delivery queue is paused while they are accepted and fanned out, so
 * each run measures delivering the same queued jobs, not intake (as the scaling rows do). Each
 * subject count of ORDERING_BENCH_SUBJECTS (default 1000,50: 4 and 80 events per subject) runs
 * twice, once per ordering, each on a fresh webhook, after one unmeasured warm-up run. Reported:
 * deliveries per second from the queue's resume to the last receiver hit, the p50/p99 from resume
 * to hit, the worker's and Postgres' CPU per delivery, and how many subjects the receiver saw out
 * of order (ordering on must say 0).
 */
const EVENTS = Number(process.env.ORDERING_BENCH_EVENTS ?? 4000);
const SUBJECTS = (process.env.ORDERING_BENCH_SUBJECTS ?? '1000,50').split(',').map(Number);
const CONCURRENCY = process.env.ORDERING_BENCH_CONCURRENCY ?? '50';
const RECEIVER_MS = Number(process.env.ORDERING_BENCH_RECEIVER_MS ?? 5);

/** Records, per subject, the event numbers in the order they arrived. */
class OrderReceiver {
  private server?: Server;
  hits = 0;
  lastAt = 0;
  /** Each hit: when, and which event (its subject and number). */
  readonly hitsLog: Array<{ at: number; subject: number; n: number }> = [];
  readonly seen = new Map<string, number[]>();
  private waiter?: { n: number; resolve: () => void };

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const at = performance.now();
        const match = /"title":"s(\d+) #(\d+)"/.exec(Buffer.concat(chunks).toString('utf8'));
        if (match) {
          const list = this.seen.get(match[1]) ?? [];
          list.push(Number(match[2]));
          this.seen.set(match[1], list);
          this.hitsLog.push({ at, subject: Number(match[1]), n: Number(match[2]) });
        }
        this.hits++;
        this.lastAt = at;
        if (this.waiter && this.hits >= this.waiter.n) this.waiter.resolve();
        setTimeout(() => res.writeHead(200).end(), RECEIVER_MS);
      });
    });
    this.server.keepAliveTimeout = 60_000;
    await new Promise<void>((r) => this.server?.listen(0, '127.0.0.1', r));
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server?.address() as AddressInfo).port}`;
  }

  reset(): void {
    this.hits = 0;
    this.hitsLog.length = 0;
    this.seen.clear();
  }

  waitFor(n: number, timeoutMs: number): Promise<void> {
    if (this.hits >= n) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`ordering bench: ${this.hits} of ${n} deliveries within ${timeoutMs} ms`)), timeoutMs);
      this.waiter = {
        n,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      };
    });
  }

  /** Subjects whose events arrived out of order. */
  outOfOrder(): number {
    return [...this.seen.values()].filter((ns) => ns.some((n, i) => i > 0 && n < ns[i - 1])).length;
  }

  async stop(): Promise<void> {
    await new Promise<void>((r) => this.server?.close(() => r()));
  }
}

const pct = (values: number[], p: number) =>
  [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.max(0, Math.ceil((p / 100) * values.length) - 1))];

export async function orderingBench(add: AddRow): Promise<void> {
  const pg = await PrivatePostgres.create({ max_connections: '200' });
  const redis = await PrivateRedis.create(false);
  const receiver = new OrderReceiver();
  await receiver.start();
  const apps: RunningApp[] = [];
  try {
    const ingestionPort = await freePort();
    const env = testEnv(pg.url, `ordbench${Date.now()}`, {
      REDIS_URL: redis.url,
      HERALD_INGESTION_URL: `http://127.0.0.1:${ingestionPort}`,
      HERALD_LOG_LEVEL: 'warn',
      HERALD_DB_POOL_SIZE: '20',
      HERALD_WORKER_CONCURRENCY: CONCURRENCY,
      HERALD_RETRY_SCHEDULE: '0s,5s,5m',
      HERALD_OUTBOX_SWEEP_MS: '1000',
    });
    apps.push(
      await startApp('ingestion', env, ingestionPort, 60_000),
      await startApp('api-gateway', env, await freePort(), 60_000),
      await startApp('delivery-worker', env, await freePort(), 60_000),
    );
    for (const app of apps) {
      app.process.stdout?.removeAllListeners('data').resume();
      app.process.stderr?.removeAllListeners('data').resume();
    }
    const [ingestionApp, gateway, worker] = apps;
    const admin = new TestClient(gateway.url, TEST_ADMIN_TOKEN);
    const ingestion = new TestClient(ingestionApp.url, TEST_ADMIN_TOKEN);
    await admin.post('/v1/projects', { key: 'ordbench', name: 'Ordering bench' });

    const deliver = new Queue('herald.deliver', { connection: new IORedis(redis.url, { maxRetriesPerRequest: null }), prefix: env.HERALD_QUEUE_PREFIX });
    let hooks = 0;
    /** One run: the events accepted and queued while the queue is paused, then delivered. */
    const run = async (subjects: number, perSubject: number, ordering: 'none' | 'subject') => {
      const total = perSubject * subjects;
      const hook = await admin.post('/v1/projects/ordbench/webhooks', {
        name: `h${++hooks}`,
        type: 'custom',
        url: `${receiver.url}/hook`,
        events: ['bb.issue.comment.create'],
        ordering,
      });
      if (hook.status !== 201) throw new Error(`webhook: ${hook.text}`);
      await deliver.pause();
      const all = Array.from({ length: total }, (_, i) => ({
        type: 'bb.issue.comment.create',
        title: `s${i % subjects} #${Math.floor(i / subjects)}`,
        issue: { id: `B-${i % subjects}` },
      }));
      for (let i = 0; i < all.length; i += 100) {
        const res = await ingestion.post('/v1/projects/ordbench/events/batch', all.slice(i, i + 100));
        if (res.status !== 202) throw new Error(`batch: ${res.text}`);
      }
      for (let waited = 0; (await deliver.getJobCountByTypes('wait', 'prioritized')) < total; waited += 100) {
        if (waited > 120_000) throw new Error('ordering bench: the deliveries were not queued within 2 minutes');
        await sleep(100);
      }
      receiver.reset();
      const cpuBefore = { worker: cpuSeconds([worker.process.pid]), postgres: cpuSeconds(pg.pids()) };
      const started = performance.now();
      await deliver.resume();
      await receiver.waitFor(total, 600_000);
      const rate = total / Math.max((receiver.lastAt - started) / 1000, 0.001);
      const latencies = receiver.hitsLog.map((h) => h.at - started);
      const cpu = { worker: cpuSeconds([worker.process.pid]) - cpuBefore.worker, postgres: cpuSeconds(pg.pids()) - cpuBefore.postgres };
      // Delete the webhook (and its deliveries) so the next run starts from an empty queue.
      await admin.delete(`/v1/projects/ordbench/webhooks/${hook.body.id}`);
      await sleep(500);
      return { total, rate, latencies, cpu, outOfOrder: receiver.outOfOrder() };
    };
    await run(100, 5, 'subject');
    for (const subjects of SUBJECTS) {
      const perSubject = Math.max(1, Math.floor(EVENTS / subjects));
      for (const ordering of ['none', 'subject'] as const) {
        const { total, rate, latencies, cpu, outOfOrder } = await run(subjects, perSubject, ordering);
        add(
          'ordering',
          `${fmt(total)} queued deliveries about ${fmt(subjects)} subjects (${perSubject} each), ordering ${ordering}: deliveries/s`,
          fmt(rate),
          `resume → hit p50 ${fmt(pct(latencies, 50))} ms, p99 ${fmt(pct(latencies, 99))} ms; CPU per delivery: worker ${fmt((1000 * cpu.worker) / total, 2)} ms, ` +
            `Postgres ${fmt((1000 * cpu.postgres) / total, 2)} ms; subjects seen out of order: ${outOfOrder} of ${subjects}`,
        );
      }
    }
    await deliver.close();
  } finally {
    await Promise.all(apps.map((app) => stopApp(app)));
    await receiver.stop();
    await redis.destroy();
    await pg.destroy();
  }
}
