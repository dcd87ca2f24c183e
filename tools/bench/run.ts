import { fork, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import IORedis from 'ioredis';
import { Queue } from 'bullmq';
import { Client } from 'pg';
import { Pool } from 'undici';
import { TEST_ADMIN_TOKEN, TestClient, freePort, redisCommandCounts, startApp, stopApp, testEnv, type AppName, type RunningApp } from '@herald/testing';
import { PrivatePostgres, PrivateRedis, cpuSeconds } from '../support/services';
import { BenchReceiver } from './receiver';
import { poolModeCost } from './pool-mode';
import { relayBacklog } from './relay-backlog';
import { retentionBench } from './retention';
import { orderingBench } from './ordering';
import { mergeRows, type Row } from './record';
import { scalingBench } from './scaling';

/**
 * `npm run bench`: Herald's intake and delivery measured side by side with the simplest thing
 * that could do the same job (baselines built and run in the same invocation), on private
 * Postgres and Redis. Prints a table and writes docs/benchmarks.md. Not a test: nothing asserts.
 *   BENCH_SECONDS  duration of each load phase (default 20)
 *   --long         also the 10-minute steady run for memory growth
 *   --record       with --only: write this run's rows into docs/benchmarks.md in place of the rows
 *                  of the same sections (the rest of the table and the notes stay)
 *   --only=a,b     run only these sections: relay, poolmode, retention, ordering, intake, drain, steady, fanout, spread, scaling, memory
 *                  (scaling: 1 → 2 → 4 workers and 1 → 2 ingestion processes on one Redis, on a Redis
 *                  Cluster and through PgBouncer, each in its own database; see scaling.ts for its
 *                  BENCH_SCALING_* settings)
 *                  (relay: the outbox relay under 100 000- and 1 000 000-row backlogs, each in a
 *                  fresh database; `npm run bench:relay` runs it alone, see relay-backlog.ts;
 *                  poolmode: named against unnamed statements, direct and through PgBouncer, in
 *                  its own Postgres, see pool-mode.ts; retention: batched deletes against dropped
 *                  daily partitions at 10 million events, `npm run bench:retention`, see retention.ts;
 *                  ordering: throughput with ordering by subject on and off, see ordering.ts)
 *   BENCH_PROFILE  a folder: the first worker runs with --cpu-prof and writes its profile there when
 *                  it stops (BENCH_PROFILE_APP=ingestion: ingestion instead); the phases also print
 *                  their top Postgres statements and Redis commands
 */
const SECONDS = Number(process.env.BENCH_SECONDS ?? 20);
const LONG = process.argv.includes('--long');
const ONLY = process.argv
  .find((a) => a.startsWith('--only='))
  ?.slice('--only='.length)
  .split(',');
/** With --only: put this run's rows in docs/benchmarks.md in place of the rows of the same sections. */
const RECORD = process.argv.includes('--record');
const runs = (section: string) => !ONLY || ONLY.includes(section);

const rows: Row[] = [];
const add = (section: string, measure: string, value: string, note?: string) => {
  rows.push({ section, measure, value, note });
  process.stdout.write(`  ${section} | ${measure}: ${value}${note ? ` (${note})` : ''}\n`);
};

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const pct = (values: number[], p: number) => {
  if (!values.length) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
};
const fmt = (n: number, digits = 0) => n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

function load(url: string, body: string, connections: number, headers: Record<string, string> = {}) {
  return new Promise<autocannon.Result>((resolve, reject) =>
    autocannon({ url, method: 'POST', connections, duration: SECONDS, headers: { 'content-type': 'application/json', ...headers }, body }, (err, result) =>
      err ? reject(err) : resolve(result),
    ),
  );
}

function child(script: string, args: string[]): Promise<ChildProcess> {
  const proc = fork(join(__dirname, script), args, { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  return new Promise((resolve, reject) => {
    proc.once('message', () => resolve(proc));
    proc.once('exit', (code) => reject(new Error(`${script} exited with ${code}`)));
  });
}

function rssMb(pid: number | undefined): number {
  try {
    const status = require('node:fs').readFileSync(`/proc/${pid}/status`, 'utf8') as string;
    return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
  } catch {
    return NaN;
  }
}

class Herald {
  apps = new Map<string, RunningApp>();
  env!: Record<string, string>;
  admin!: TestClient;
  ingestion!: TestClient;

  constructor(
    readonly pg: PrivatePostgres,
    readonly redis: PrivateRedis,
  ) {}

  async start(extra: Record<string, string> = {}): Promise<void> {
    const ingestionPort = await freePort();
    this.env = testEnv(this.pg.url, `bench${Date.now()}`, {
      REDIS_URL: this.redis.url,
      HERALD_INGESTION_URL: `http://127.0.0.1:${ingestionPort}`,
      HERALD_LOG_LEVEL: 'warn',
      HERALD_DB_POOL_SIZE: '20',
      HERALD_WORKER_CONCURRENCY: process.env.BENCH_CONCURRENCY ?? '200',
      HERALD_RETRY_SCHEDULE: '0s,5s,5m',
      HERALD_OUTBOX_SWEEP_MS: '1000',
      ...extra,
    });
    await this.startApp('ingestion', ingestionPort);
    await this.startApp('api-gateway', await freePort());
    this.admin = new TestClient(this.apps.get('api-gateway')?.url ?? '', TEST_ADMIN_TOKEN);
    this.ingestion = new TestClient(this.apps.get('ingestion')?.url ?? '', TEST_ADMIN_TOKEN);
  }

  /** With BENCH_PROFILE, the first app of BENCH_PROFILE_APP (default: the first worker) runs with --cpu-prof. */
  private profiled = false;

  async startApp(name: AppName, port: number, label: string = name, profiling = true): Promise<RunningApp> {
    const profileApp = process.env.BENCH_PROFILE_APP ?? 'delivery-worker';
    const profile = profiling && process.env.BENCH_PROFILE && name === profileApp && !this.profiled;
    if (profile) this.profiled = true;
    const args = profile ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROFILE}`] : [];
    const app = await startApp(name, this.env, port, 60_000, args);
    // The benchmark keeps no app output (it would grow with the run).
    app.process.stdout?.removeAllListeners('data').resume();
    app.process.stderr?.removeAllListeners('data').resume();
    this.apps.set(label, app);
    return app;
  }

  async startWorkers(n: number, profiling = true): Promise<void> {
    for (let i = 0; i < n; i++) await this.startApp('delivery-worker', await freePort(), `worker-${i}`, profiling);
  }

  async stopWorkers(): Promise<void> {
    for (const [label, app] of [...this.apps]) {
      if (!label.startsWith('worker-')) continue;
      await stopApp(app);
      this.apps.delete(label);
    }
  }

  /** Restarts ingestion and the gateway (same ports) with these settings from now on. */
  async restartFront(extra: Record<string, string>): Promise<void> {
    this.env = { ...this.env, ...extra };
    for (const name of ['ingestion', 'api-gateway'] as const) {
      const app = this.apps.get(name);
      if (!app) continue;
      await stopApp(app);
      await this.startApp(name, Number(new URL(app.url).port), name, false);
    }
  }

  async stop(): Promise<void> {
    await Promise.all([...this.apps.values()].map((app) => stopApp(app)));
    this.apps.clear();
  }
}

async function pgCalls(url: string): Promise<number> {
  const c = new Client({ connectionString: url });
  await c.connect();
  try {
    const { rows: r } = await c.query(`SELECT coalesce(sum(calls), 0)::bigint AS n FROM pg_stat_statements WHERE query NOT ILIKE '%pg_stat_statements%'`);
    return Number(r[0].n);
  } finally {
    await c.end();
  }
}

async function redisCalls(url: string): Promise<number> {
  return [...(await redisCommandCounts(url)).values()].reduce((a, b) => a + b, 0);
}

/** With BENCH_PROFILE: the Redis commands per unit of work since `before`, most frequent first. */
async function printRedisCommands(url: string, before: Map<string, number>, per: number): Promise<void> {
  if (!process.env.BENCH_PROFILE) return;
  const after = await redisCommandCounts(url);
  const rows = [...after]
    .map(([k, v]) => [k, (v - (before.get(k) ?? 0)) / per] as const)
    .filter(([, v]) => v > 0.05)
    .sort((a, b) => b[1] - a[1]);
  process.stdout.write(`    redis per unit: ${rows.map(([k, v]) => `${k} ${v.toFixed(2)}`).join(', ')}\n`);
}

async function countRows(url: string, table: 'events' | 'outbox'): Promise<number> {
  const c = new Client({ connectionString: url });
  await c.connect();
  try {
    return Number((await c.query(`SELECT count(*) AS n FROM ${table}`)).rows[0].n);
  } finally {
    await c.end();
  }
}

type Auth = Record<string, string>;

/**
 * Baseline (c) (issue 15): a bare Fastify route that commits the event and its outbox row before
 * answering (tools/bench/baseline-intake-pg.ts), on the same Postgres and schema; its rate.
 */
async function baselineC(herald: Herald, pg: PrivatePostgres, body: string, aRate: number): Promise<number> {
  const c = new Client({ connectionString: pg.url });
  await c.connect();
  const [{ id: projectId }] = (await c.query(`SELECT id FROM projects WHERE key = 'bench'`)).rows as Array<{ id: number }>;
  await c.end();
  const port = await freePort();
  const server = await child('baseline-intake-pg.js', [String(port), pg.url, String(projectId), herald.env.HERALD_DB_POOL_SIZE]);
  const cpu = cpuMeter({ server: () => [server.pid], postgres: () => pg.pids() });
  cpu.start();
  const result = await load(`http://127.0.0.1:${port}/events`, body, 50);
  add('baseline (c)', 'CPU ms per request by process', cpu.stop(result.requests.total), 'bench includes the load generator');
  server.kill();
  const rate = result.requests.average;
  add(
    'baseline (c)',
    'bare Fastify + the event and its outbox row committed to Postgres (group commit), requests/s',
    fmt(rate),
    `p50 ${result.latency.p50} ms, p99 ${result.latency.p99} ms; ${fmt((100 * rate) / aRate)} % of baseline (a)`,
  );
  return rate;
}

async function intake(herald: Herald, pg: PrivatePostgres, redis: PrivateRedis, eventsUrl: string, body: string, auth: Auth, aRate: number): Promise<void> {
  const cRate = await baselineC(herald, pg, body, aRate);
  const against = (rate: number) => `${fmt((100 * rate) / aRate, 0)} % of baseline (a), ${fmt((100 * rate) / cRate, 0)} % of baseline (c)`;
  const before = await countRows(pg.url, 'events');
  const cpu = cpuMeter({ ingestion: () => [herald.apps.get('ingestion')?.process.pid], postgres: () => pg.pids(), redis: () => [redis.pid] });
  cpu.start();
  const single = await load(eventsUrl, body, 50, auth);
  const stored = (await countRows(pg.url, 'events')) - before;
  add('intake', 'CPU ms per single-event request by process', cpu.stop(single.requests.total), 'bench + receiver includes the load generator');
  add(
    'intake',
    'single events/s (50 connections)',
    fmt(single.requests.average),
    `p50 ${single.latency.p50} ms, p99 ${single.latency.p99} ms; ${against(single.requests.average)}`,
  );
  // Requests cut off when the load phase ends may still commit, so stored ≥ 2xx is the bar.
  add(
    'intake',
    'accepted (2xx) vs stored in Postgres',
    `${fmt(single['2xx'])} / ${fmt(stored)}`,
    stored >= single['2xx'] ? 'every 2xx durable' : 'MISSING ROWS',
  );

  // The same through the gateway, which forwards to ingestion (the path producers take).
  const gateway = herald.apps.get('api-gateway');
  const viaCpu = cpuMeter({ gateway: () => [gateway?.process.pid], ingestion: () => [herald.apps.get('ingestion')?.process.pid], postgres: () => pg.pids() });
  viaCpu.start();
  const via = await load(`${gateway?.url}/v1/projects/bench/events`, body, 50, auth);
  add(
    'intake',
    'CPU ms per single-event request through the gateway, by process',
    viaCpu.stop(via.requests.total),
    'bench + receiver includes the load generator',
  );
  add(
    'intake',
    'single events/s through the gateway (50 connections)',
    fmt(via.requests.average),
    `p50 ${via.latency.p50} ms, p99 ${via.latency.p99} ms; ${against(via.requests.average)}; the gateway hop costs ${fmt(100 - (100 * via.requests.average) / single.requests.average)} % of direct intake`,
  );

  // The same with npm start's log level (info: a JSON line per request on stdout, here a pipe as
  // under a container runtime), the way most deployments run.
  await herald.restartFront({ HERALD_LOG_LEVEL: 'info' });
  const logged = await load(`${gateway?.url}/v1/projects/bench/events`, body, 50, auth);
  await herald.restartFront({ HERALD_LOG_LEVEL: 'warn' });
  add(
    'intake',
    "single events/s through the gateway, log level info (npm start's default; a JSON line per request)",
    fmt(logged.requests.average),
    `p50 ${logged.latency.p50} ms, p99 ${logged.latency.p99} ms; ${against(logged.requests.average)}`,
  );

  const batchBody = JSON.stringify(Array.from({ length: 100 }, (_, i) => ({ type: 'incident.create', title: `bench ${i}` })));
  const batch = await load(`${eventsUrl}/batch`, batchBody, 10, auth);
  add(
    'intake',
    'batched events/s (100 per request, 10 connections)',
    fmt(batch.requests.average * 100),
    `p50 ${batch.latency.p50} ms, p99 ${batch.latency.p99} ms`,
  );

  // The events above have no subscriber, but each still has an outbox row for the worker's relay.
  // Relay them now, so the delivery phases below measure their own events only.
  const backlog = await countRows(pg.url, 'outbox');
  const started = performance.now();
  await herald.startWorkers(1, false);
  while ((await countRows(pg.url, 'outbox')) > 0) await sleep(200);
  const seconds = (performance.now() - started) / 1000;
  await herald.stopWorkers();
  add(
    'intake',
    'relay: outbox rows of events without a subscriber, per second',
    fmt(backlog / seconds),
    `${fmt(backlog)} rows from the phases above, worker start-up included`,
  );
}

/** Accepts `n` events in batches of 1 000 (with no worker running, the outbox holds them all). */
async function acceptEvents(herald: Herald, n: number, type: string, title: string): Promise<void> {
  for (let i = 0; i < n; i += 1000) {
    const res = await herald.ingestion.post(
      '/v1/projects/bench/events/batch',
      Array.from({ length: Math.min(1000, n - i) }, () => ({ type, title })),
    );
    if (res.status !== 202) throw new Error(`batch: ${res.text}`);
  }
  await sleep(1500);
}

/** CPU milliseconds per unit of work, by process, between `start()` and `stop(n)`. */
function cpuMeter(groups: Record<string, () => Array<number | undefined>>) {
  const self = () => {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1e6;
  };
  const read = () => ({ ...Object.fromEntries(Object.entries(groups).map(([k, pids]) => [k, cpuSeconds(pids())])), 'bench + receiver': self() });
  let start: Record<string, number> = {};
  return {
    start: () => {
      start = read();
    },
    stop: (n: number) =>
      Object.entries(read())
        .map(([k, v]) => `${k} ${fmt(((v - start[k]) * 1000) / n, 2)}`)
        .join(', '),
  };
}

/** Baseline (b) and Herald draining 20 000 queued events with one worker. */
async function drain(herald: Herald, pg: PrivatePostgres, redis: PrivateRedis, receiver: BenchReceiver): Promise<void> {
  const N = Number(process.env.BENCH_DRAIN_EVENTS ?? 20_000);
  const baseQueue = new Queue('baseline-deliver', { connection: new IORedis(redis.url, { maxRetriesPerRequest: null }), prefix: 'baseline' });
  for (let i = 0; i < N; i += 1000)
    await baseQueue.addBulk(Array.from({ length: 1000 }, (_, j) => ({ name: 'd', data: { id: `b${i + j}`, title: 'x' }, opts: { removeOnComplete: true } })));
  receiver.reset();
  const baselineWorker = await child('baseline-worker.js', [redis.url, 'baseline', receiver.url, herald.env.HERALD_WORKER_CONCURRENCY]);
  const bRedisBefore = await redisCommandCounts(redis.url);
  const bRedis0 = [...bRedisBefore.values()].reduce((x, y) => x + y, 0);
  const bCpu = cpuMeter({ worker: () => [baselineWorker.pid], redis: () => [redis.pid] });
  bCpu.start();
  await receiver.waitForHits(N, 300_000);
  const bRate = receiver.rate();
  const bCpuText = bCpu.stop(N);
  baselineWorker.kill();
  await baseQueue.close();
  const bRedisPer = ((await redisCalls(redis.url)) - bRedis0) / N;
  await printRedisCommands(redis.url, bRedisBefore, N);
  add(
    'baseline (b)',
    'bare BullMQ worker + undici, deliveries/s',
    fmt(bRate),
    `concurrency ${herald.env.HERALD_WORKER_CONCURRENCY}; ${fmt(bRedisPer, 2)} Redis commands per delivery`,
  );
  add('baseline (b)', 'CPU ms per delivery by process', bCpuText);

  await acceptEvents(herald, N, 'deployment.create', 'drain');
  receiver.reset();
  const pg0 = await pgCalls(pg.url);
  const redisBefore = await redisCommandCounts(redis.url);
  const redis0 = [...redisBefore.values()].reduce((x, y) => x + y, 0);
  await herald.startWorkers(1);
  const hCpu = cpuMeter({ worker: () => [herald.apps.get('worker-0')?.process.pid], postgres: () => pg.pids(), redis: () => [redis.pid] });
  hCpu.start();
  await receiver.waitForHits(N, 600_000);
  const hRate = receiver.rate();
  add('delivery', 'CPU ms per delivery by process', hCpu.stop(N), 'worker start-up excluded');
  const pgPer = ((await pgCalls(pg.url)) - pg0) / N;
  const redisPer = ((await redisCalls(redis.url)) - redis0) / N;
  await printRedisCommands(redis.url, redisBefore, N);
  add('delivery', `deliveries/s, one worker, ${fmt(N)} queued events`, fmt(hRate), `${fmt((100 * hRate) / bRate)} % of baseline (b)`);
  add('delivery', 'Postgres statements per delivery', fmt(pgPer, 2), 'pg_stat_statements (top level), fan-out included');
  add('delivery', 'Redis commands per delivery', fmt(redisPer, 2), 'INFO commandstats, fan-out included');
  await printTopStatements(pg.url);
}

/** With BENCH_PROFILE: the statements that took Postgres' time (since the last reset), and a reset. */
async function printTopStatements(url: string): Promise<void> {
  if (!process.env.BENCH_PROFILE) return;
  const c = new Client({ connectionString: url });
  await c.connect();
  const { rows: top } = await c.query(
    `SELECT calls, round(total_exec_time::numeric, 1) AS total_ms, round(mean_exec_time::numeric, 3) AS mean_ms, rows, left(regexp_replace(query, '\\s+', ' ', 'g'), 110) AS q FROM pg_stat_statements ORDER BY total_exec_time DESC LIMIT 12`,
  );
  await c.query('SELECT pg_stat_statements_reset()');
  await c.end();
  for (const r of top) process.stdout.write(`    pg: ${r.calls} calls, ${r.total_ms} ms total, ${r.mean_ms} ms mean, ${r.rows} rows: ${r.q}\n`);
}

async function ensureWorker(herald: Herald): Promise<void> {
  if (![...herald.apps.keys()].some((k) => k.startsWith('worker-'))) await herald.startWorkers(1);
}

/** The steady phase's rates in events/s (BENCH_STEADY_RATES), each sent as a burst every 50 ms. */
const STEADY_RATES = (process.env.BENCH_STEADY_RATES ?? '500,200').split(',').map(Number);

/** A steady rate of single events: latency from the 2xx at intake to the receiver hit. */
async function steady(herald: Herald, receiver: BenchReceiver, rate: number): Promise<void> {
  const PER_TICK = Math.max(1, Math.round(rate / 20));
  await ensureWorker(herald);
  const accepted = new Map<string, number>();
  receiver.reset();
  const steadyEnd = Date.now() + SECONDS * 1000;
  const statuses = new Map<string, number>();
  const count = (k: string) => statuses.set(k, (statuses.get(k) ?? 0) + 1);
  let sent = 0;
  // A keep-alive undici pool, not fetch: the load generator must not eat the CPU it measures.
  const client = new Pool(herald.ingestion.baseUrl, { connections: 64 });
  const headers = { 'content-type': 'application/json', authorization: `Bearer ${TEST_ADMIN_TOKEN}` };
  const payload = JSON.stringify({ type: 'deployment.create', title: 'steady' });
  const tick = async () => {
    const sends = Array.from({ length: PER_TICK }, async () => {
      sent++;
      try {
        const res = await client.request({ path: '/v1/projects/bench/events', method: 'POST', headers, body: payload });
        const text = await res.body.text();
        count(String(res.statusCode));
        if (res.statusCode === 202) accepted.set((JSON.parse(text) as { id: string }).id, performance.now());
      } catch (err) {
        count((err as Error).message);
      }
    });
    await Promise.all(sends);
  };
  const cpu = cpuMeter({
    ingestion: () => [herald.apps.get('ingestion')?.process.pid],
    worker: () => [...herald.apps].filter(([k]) => k.startsWith('worker-')).map(([, a]) => a.process.pid),
    postgres: () => herald.pg.pids(),
    redis: () => [herald.redis.pid],
  });
  await printTopStatements(herald.pg.url);
  const pg0 = await pgCalls(herald.pg.url);
  const redis0 = await redisCalls(herald.redis.url);
  cpu.start();
  // 25 requests every 50 ms on an absolute schedule (a late tick is caught up, not skipped).
  const start = Date.now();
  for (let i = 0; Date.now() < steadyEnd; i++) {
    void tick();
    await sleep(Math.max(0, start + (i + 1) * 50 - Date.now()));
  }
  await sleep(1000);
  add('delivery', `CPU ms per event at a steady ${PER_TICK * 20} events/s, by process`, cpu.stop(sent), 'intake and delivery together');
  const pgPer = ((await pgCalls(herald.pg.url)) - pg0) / sent;
  const redisPer = ((await redisCalls(herald.redis.url)) - redis0) / sent;
  add(
    'delivery',
    `Postgres statements and Redis commands per event at a steady ${PER_TICK * 20} events/s`,
    `${fmt(pgPer, 2)} and ${fmt(redisPer, 2)}`,
    'intake and delivery together; small batches at this rate',
  );
  await printTopStatements(herald.pg.url);
  await client.close();
  process.stdout.write(`    steady: ${sent} sent, answers ${[...statuses].map(([k, v]) => `${k}×${v}`).join(', ')}\n`);
  await receiver.waitForHits(accepted.size, 60_000).catch(() => undefined);
  const latencies = [...accepted].map(([id, at]) => (receiver.firstHit.get(id) ?? NaN) - at).filter((x) => !Number.isNaN(x));
  {
    // Where the time goes, from Postgres' clock: accepted → fanned out → attempt started.
    const c = new Client({ connectionString: herald.env.DATABASE_URL });
    await c.connect();
    const { rows } = await c.query(`
      SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM d.created_at - e.received_at) * 1000) AS fanout_p50,
             percentile_cont(0.95) WITHIN GROUP (ORDER BY extract(epoch FROM d.created_at - e.received_at) * 1000) AS fanout_p95,
             percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM a.started_at - d.created_at) * 1000) AS claim_p50,
             percentile_cont(0.95) WITHIN GROUP (ORDER BY extract(epoch FROM a.started_at - d.created_at) * 1000) AS claim_p95
        FROM events e JOIN deliveries d ON d.event_id = e.id JOIN delivery_attempts a ON a.delivery_id = d.id
       WHERE e.title = 'steady'`);
    // Rows of this phase only: the next run of this phase starts from a clean slate.
    await c.query(`UPDATE events SET title = 'steady (done)' WHERE title = 'steady'`);
    await c.end();
    const r = rows[0];
    add(
      'delivery',
      'where the steady latency goes (Postgres clock)',
      `accepted → fanned out p50 ${fmt(r.fanout_p50, 1)} ms, p95 ${fmt(r.fanout_p95, 1)} ms; fanned out → attempt started p50 ${fmt(r.claim_p50, 1)} ms, p95 ${fmt(r.claim_p95, 1)} ms`,
    );
  }
  add(
    'delivery',
    `latency at a steady ${PER_TICK * 20} events/s (${fmt(accepted.size)} events)`,
    `p50 ${fmt(pct(latencies, 50), 1)} ms, p95 ${fmt(pct(latencies, 95), 1)} ms, p99 ${fmt(pct(latencies, 99), 1)} ms`,
    'from 2xx at intake to receiver hit',
  );
}

async function createWebhooks(herald: Herald, n: number, name: (i: number) => string, url: (i: number) => string, events: string[]): Promise<void> {
  for (let i = 0; i < n; i += 50) {
    await Promise.all(
      Array.from({ length: Math.min(50, n - i) }, (_, j) =>
        herald.admin.post('/v1/projects/bench/webhooks', { name: name(i + j), type: 'custom', url: url(i + j), events }),
      ),
    );
  }
}

/** One event to 1 000 webhooks. */
async function fanout(herald: Herald, receiver: BenchReceiver): Promise<void> {
  await ensureWorker(herald);
  await createWebhooks(
    herald,
    1000,
    (i) => `fan-${i}`,
    () => `${receiver.url}/hook`,
    ['bb.pipeline.completed'],
  );
  receiver.reset();
  const t0 = performance.now();
  await herald.ingestion.post('/v1/projects/bench/events', { type: 'bb.pipeline.completed', title: 'fan-out' });
  await receiver.waitForHits(1000, 60_000);
  add('delivery', 'one event to 1 000 webhooks: all delivered after', `${fmt(performance.now() - t0)} ms`);
}

/** p50/p95/p99 of `times` measured from `t0`. */
const latencies = (times: number[], t0: number) => {
  const l = times.map((t) => t - t0);
  return { p50: pct(l, 50), p95: pct(l, 95), p99: pct(l, 99), text: `p50 ${fmt(pct(l, 50))} ms, p95 ${fmt(pct(l, 95))} ms, p99 ${fmt(pct(l, 99))} ms` };
};

/**
 * 10 000 deliveries to 100 endpoints (100 events × 100 webhooks), from accepted to receiver hit, and
 * baseline (b) on the same workload (10 000 jobs for 100 endpoints, from enqueued to hit).
 */
async function spread(herald: Herald, receiver: BenchReceiver): Promise<void> {
  const EVENTS = 100;
  const ENDPOINTS = 100;
  const N = EVENTS * ENDPOINTS;
  const concurrency = herald.env.HERALD_WORKER_CONCURRENCY;

  const baseQueue = new Queue('baseline-spread', { connection: new IORedis(herald.redis.url, { maxRetriesPerRequest: null }), prefix: 'baseline' });
  const baselineWorker = await child('baseline-worker.js', [herald.redis.url, 'baseline', receiver.url, concurrency, 'baseline-spread']);
  receiver.reset();
  const b0 = performance.now();
  for (let i = 0; i < N; i += 1000) {
    await baseQueue.addBulk(
      Array.from({ length: 1000 }, (_, j) => ({
        name: 'd',
        data: { id: `s${i + j}`, path: `/hook?e=${(i + j) % ENDPOINTS}` },
        opts: { removeOnComplete: true },
      })),
    );
  }
  await receiver.waitForHits(N, 300_000);
  const bRate = N / ((receiver.lastAt - b0) / 1000);
  const b = latencies(receiver.hitTimes, b0);
  baselineWorker.kill();
  await baseQueue.close();
  add('baseline (b)', `${fmt(N)} jobs to ${ENDPOINTS} endpoints, deliveries/s (concurrency ${concurrency})`, fmt(bRate), `enqueued → receiver hit: ${b.text}`);

  await ensureWorker(herald);
  await createWebhooks(
    herald,
    ENDPOINTS,
    (i) => `spread-${i}`,
    (i) => `${receiver.url}/hook?e=${i}`,
    ['bb.pipeline.failed'],
  );
  receiver.reset();
  const res = await herald.ingestion.post(
    '/v1/projects/bench/events/batch',
    Array.from({ length: EVENTS }, () => ({ type: 'bb.pipeline.failed' })),
  );
  if (res.status !== 202) throw new Error(`batch: ${res.text}`);
  const acceptedAt = performance.now();
  await receiver.waitForHits(N, 300_000);
  const rate = N / ((receiver.lastAt - acceptedAt) / 1000);
  const h = latencies(receiver.hitTimes, acceptedAt);
  add(
    'delivery',
    `${fmt(N)} deliveries to ${ENDPOINTS} endpoints (${EVENTS} events × ${ENDPOINTS} webhooks), deliveries/s`,
    fmt(rate),
    `${fmt((100 * rate) / bRate)} % of baseline (b); accepted → receiver hit: ${h.text} (p50 ${fmt(h.p50 / b.p50, 1)}×, p99 ${fmt(h.p99 / b.p99, 1)}× baseline (b))`,
  );
}

/** RSS after 100 000 deliveries, and (with --long) over a 10-minute steady run. */
async function memory(herald: Herald, receiver: BenchReceiver): Promise<void> {
  await ensureWorker(herald);
  const rss0 = Object.fromEntries([...herald.apps].map(([k, app]) => [k, rssMb(app.process.pid)]));
  receiver.reset();
  for (let i = 0; i < 100_000; i += 1000) {
    const r = await herald.ingestion.post(
      '/v1/projects/bench/events/batch',
      Array.from({ length: 1000 }, () => ({ type: 'deployment.create', title: 'memory' })),
    );
    if (r.status !== 202) throw new Error(r.text);
    if (i % 10_000 === 0) await sleep(500);
  }
  await receiver.waitForHits(100_000, 900_000);
  const rss1 = Object.fromEntries([...herald.apps].map(([k, app]) => [k, rssMb(app.process.pid)]));
  add(
    'memory',
    'RSS after 100 000 deliveries (MiB)',
    Object.entries(rss1)
      .map(([k, v]) => `${k} ${fmt(v)} (start ${fmt(rss0[k])})`)
      .join(', '),
  );
  if (!LONG) return;
  // A sample every 30 s; one RSS reading lands anywhere between two garbage collections (the
  // heap of a busy app swings by tens of MiB), so the medians of minutes 1-3 and 8-10 are compared.
  const samples: Array<{ at: number; rss: Record<string, number>; heap: Record<string, number> }> = [];
  const started = Date.now();
  const end = started + 10 * 60_000;
  let nextSample = started + 30_000;
  while (Date.now() < end) {
    const tick = Date.now();
    await Promise.all(Array.from({ length: 30 }, () => herald.ingestion.post('/v1/projects/bench/events', { type: 'deployment.create', title: 'long' })));
    if (Date.now() >= nextSample) {
      nextSample += 30_000;
      const apps = [...herald.apps];
      samples.push({
        at: Date.now() - started,
        rss: Object.fromEntries(apps.map(([k, app]) => [k, rssMb(app.process.pid)])),
        heap: Object.fromEntries(await Promise.all(apps.map(async ([k, app]) => [k, await heapUsedMb(app.url)] as const))),
      });
    }
    await sleep(Math.max(0, 100 - (Date.now() - tick)));
  }
  const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)];
  const early = samples.filter((x) => x.at >= 60_000 && x.at <= 180_000);
  const late = samples.filter((x) => x.at >= 480_000);
  const growth = (field: 'rss' | 'heap') =>
    Object.keys(samples[0]?.[field] ?? {})
      .map((k) => {
        const a = median(early.map((x) => x[field][k]));
        const b = median(late.map((x) => x[field][k]));
        return `${k} ${fmt(a)} → ${fmt(b)} (${fmt((100 * (b - a)) / a, 1)} %)`;
      })
      .join(', ');
  add('memory', 'RSS over 10 min at 300 events/s (MiB, median of minutes 1-3 → of minutes 8-10)', growth('rss'));
  add('memory', 'V8 heap used over the same run (MiB, medians as above)', growth('heap'));
}

/** `nodejs_heap_size_used_bytes` from an app's /metrics, in MiB. */
async function heapUsedMb(url: string): Promise<number> {
  try {
    const text = await (await fetch(`${url}/metrics`)).text();
    return Number(/^nodejs_heap_size_used_bytes(?:\{[^}]*\})? ([\d.e+]+)/m.exec(text)?.[1] ?? NaN) / 1048576;
  } catch {
    return NaN;
  }
}

async function main(): Promise<void> {
  process.stdout.write(`Herald benchmark: ${cpus().length} cores, ${SECONDS} s per load phase\n`);
  // Its own fresh databases, before the shared one below is made.
  if (runs('relay')) await relayBacklog(add);
  if (runs('poolmode')) await poolModeCost(add);
  if (runs('retention')) await retentionBench(add);
  if (runs('ordering')) await orderingBench(add);
  if (ONLY?.every((section) => section === 'relay' || section === 'poolmode' || section === 'retention' || section === 'ordering')) process.exit(0);
  const pg = await PrivatePostgres.create({ shared_preload_libraries: 'pg_stat_statements', 'pg_stat_statements.track': 'top', max_connections: '300' });
  const redis = await PrivateRedis.create(false);
  const receiver = new BenchReceiver();
  await receiver.start();
  const herald = new Herald(pg, redis);
  try {
    const body = JSON.stringify({ type: 'incident.create', title: 'bench', issue: { id: 1, name: 'x' } });
    let aRate = NaN;
    if (runs('intake')) {
      const basePort = await freePort();
      const baselineIntake = await child('baseline-intake.js', [String(basePort), redis.url, 'baseline']);
      const aCpu = cpuMeter({ server: () => [baselineIntake.pid], redis: () => [redis.pid] });
      aCpu.start();
      const a = await load(`http://127.0.0.1:${basePort}/events`, body, 50);
      add('baseline (a)', 'CPU ms per request by process', aCpu.stop(a.requests.total), 'bench includes the load generator');
      baselineIntake.kill();
      aRate = a.requests.average;
      add('baseline (a)', 'bare Fastify + BullMQ add, requests/s', fmt(aRate), `p50 ${a.latency.p50} ms, p99 ${a.latency.p99} ms`);
    }

    await herald.start();
    const c = new Client({ connectionString: pg.url });
    await c.connect();
    await c.query('CREATE EXTENSION IF NOT EXISTS pg_stat_statements');
    await c.end();
    await herald.admin.post('/v1/projects', { key: 'bench', name: 'Bench' });
    const hook = await herald.admin.post('/v1/projects/bench/webhooks', {
      name: 'r',
      type: 'custom',
      url: `${receiver.url}/hook`,
      events: ['deployment.create'],
    });
    if (hook.status !== 201) throw new Error(`webhook: ${hook.text}`);
    const eventsUrl = `${herald.apps.get('ingestion')?.url}/v1/projects/bench/events`;
    const auth = { authorization: `Bearer ${TEST_ADMIN_TOKEN}` };

    if (runs('intake')) await intake(herald, pg, redis, eventsUrl, body, auth, aRate);
    if (runs('drain')) await drain(herald, pg, redis, receiver);
    if (runs('steady')) for (const rate of STEADY_RATES) await steady(herald, receiver, rate);
    if (runs('fanout')) await fanout(herald, receiver);
    if (runs('spread')) await spread(herald, receiver);
    if (runs('scaling')) {
      await herald.stopWorkers();
      await scalingBench(add, { pg, receiver, loadSeconds: SECONDS });
    }
    if (runs('memory')) await memory(herald, receiver);
  } finally {
    await herald.stop();
    await receiver.stop();
    await redis.destroy();
    await pg.destroy();
  }
  const doc = join(__dirname, '..', '..', '..', 'docs', 'benchmarks.md');
  if (!ONLY) writeFileSync(doc, render());
  else if (RECORD) {
    const settings = Object.entries(process.env)
      .filter(([k]) => k.startsWith('BENCH_'))
      .map(([k, v]) => `${k}=${v} `)
      .join('');
    writeFileSync(
      doc,
      mergeRows(
        readFileSync(doc, 'utf8'),
        rows,
        `\`${settings}npm run bench -- ${process.argv.slice(2).join(' ')}\` on ${new Date().toISOString()}, ${cpus().length} cores`,
      ),
    );
  }
  process.exit(0);
}

function render(): string {
  const lines = [
    '# Benchmarks',
    '',
    'Measured by `npm run bench` (tools/bench/run.ts), which rewrites this file. Everything runs on one',
    'machine: private Postgres (with pg_stat_statements) and Redis started by the benchmark, the Herald',
    'apps as processes, the load generator (autocannon) and a local receiver. The baselines are built and',
    'run in the same invocation: (a) a bare Fastify server validating a small JSON body with one BullMQ',
    '`add` per request; (b) a bare BullMQ worker POSTing each job with an undici keep-alive pool; (c) a',
    'bare Fastify server that answers once the event and its outbox row are committed to Postgres',
    "(ingestion's statement and schema, group commit).",
    'These are measurements, not tests; nothing asserts them.',
    '',
    `Run: ${new Date().toISOString()}, ${cpus().length} cores (${cpus()[0]?.model ?? 'unknown CPU'}), ${SECONDS} s per load phase, by \`npm run bench${LONG ? ' -- --long' : ''}\`.`,
    '',
    '| section | measure | value | note |',
    '|---|---|---|---|',
    ...rows.map((r) => `| ${r.section} | ${r.measure} | ${r.value} | ${r.note ?? ''} |`),
    '',
  ];
  return lines.join('\n') + keptNotes();
}

/** Hand-written analysis below this marker in docs/benchmarks.md survives a new run. */
const NOTES_MARKER = '<!-- notes: kept when the benchmark rewrites this file -->';

function keptNotes(): string {
  try {
    const current = readFileSync(join(__dirname, '..', '..', '..', 'docs', 'benchmarks.md'), 'utf8');
    const at = current.indexOf(NOTES_MARKER);
    return at >= 0 ? `\n${current.slice(at)}` : '';
  } catch {
    return '';
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack ?? err}\n`);
  process.exit(1);
});
