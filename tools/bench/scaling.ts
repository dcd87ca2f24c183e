import autocannon from 'autocannon';
import { Queue } from 'bullmq';
import { Client } from 'pg';
import { QUEUES } from '@herald/contracts';
import { loadConfig } from '@herald/platform';
import { producerConnection, type RedisClient } from '@herald/queue';
import { RedisClusterServers, TEST_ADMIN_TOKEN, TestClient, freePort, startApp, stopApp, testEnv, type AppName, type RunningApp } from '@herald/testing';
import { PrivatePgBouncer } from '../support/pgbouncer';
import { PrivatePostgres, PrivateRedis, cpuSeconds, machineCpuSeconds } from '../support/services';
import type { BenchReceiver } from './receiver';
import type { AddRow } from './relay-backlog';

/**
 * Scaling (issue 13 item 5): what more processes add, in three setups side by side — one Redis
 * server and Postgres directly ("single server"), a three-master Redis Cluster, and Postgres
 * through PgBouncer in transaction pooling (HERALD_DATABASE_POOL_MODE=transaction, the LISTEN
 * connection direct). Each setup gets its own database on the bench's Postgres.
 *
 * Workers: 1 → 2 → 4 worker processes with a fixed number of jobs each, delivering to a receiver
 * that answers after 50 ms, so one worker's ceiling is `jobs / 50 ms` and the machine's CPU should
 * not be the limit (the rows report each process's CPU to show whether it was). The delivery queue
 * is paused while the workers start and the relay fans the events out, so each run measures
 * delivering queued jobs, not start-up; each run lasts about BENCH_SCALING_SECONDS at the ideal rate.
 *
 * Ingestion: single-event intake at 50 connections straight to one ingestion process, then spread
 * over two (not on the Cluster: intake never touches Redis).
 *
 *   BENCH_SCALING_CONCURRENCY  jobs per worker (default 5)
 *   BENCH_SCALING_SECONDS      length of each delivery run at the ideal rate (default 10)
 *   BENCH_SCALING_SETUPS       which setups (default single,cluster,pgbouncer)
 *   BENCH_SCALING_WORKERS      worker counts (default 1,2,4)
 */
const RECEIVER_DELAY_MS = 50;
const fmt = (n: number, digits = 0) => n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

type SetupName = 'single' | 'cluster' | 'pgbouncer';
const LABEL: Record<SetupName, string> = {
  single: 'single server',
  cluster: 'Redis Cluster (3 masters)',
  pgbouncer: 'through PgBouncer (transaction pooling)',
};

interface Setup {
  name: SetupName;
  env: Record<string, string>;
  /** Processes besides Herald's and Postgres whose CPU counts (Redis nodes, PgBouncer). */
  others: () => Record<string, Array<number | undefined>>;
  stop: () => Promise<void>;
}

async function createDatabase(pg: PrivatePostgres, name: string): Promise<string> {
  const c = new Client({ connectionString: pg.url });
  await c.connect();
  try {
    await c.query(`DROP DATABASE IF EXISTS ${name}`);
    await c.query(`CREATE DATABASE ${name}`);
  } finally {
    await c.end();
  }
  const url = new URL(pg.url);
  url.pathname = `/${name}`;
  return url.toString();
}

async function makeSetup(name: SetupName, databaseUrl: string): Promise<Setup> {
  if (name === 'cluster') {
    const cluster = await RedisClusterServers.start({ masters: 3 });
    return { name, env: cluster.env(), others: () => ({ redis: cluster.nodes.map((n) => n.pid) }), stop: () => cluster.stop() };
  }
  const redis = await PrivateRedis.create(false);
  if (name === 'single') return { name, env: { REDIS_URL: redis.url }, others: () => ({ redis: [redis.pid] }), stop: () => redis.destroy() };
  const bouncer = await PrivatePgBouncer.start({ poolMode: 'transaction', poolSize: 20, databases: { herald: { target: databaseUrl } } }).catch(
    async (err: unknown) => {
      await redis.destroy();
      throw err;
    },
  );
  const bouncerPid = bouncer.pid();
  return {
    name,
    env: { REDIS_URL: redis.url, DATABASE_URL: bouncer.url('herald'), HERALD_DATABASE_POOL_MODE: 'transaction', HERALD_DATABASE_LISTEN_URL: databaseUrl },
    others: () => ({ redis: [redis.pid], pgbouncer: [bouncerPid] }),
    stop: async () => {
      await bouncer.stop();
      await redis.destroy();
    },
  };
}

/** CPU use of each group of processes between start() and stop(), in % of one core, and the machine's busy share. */
function cpuUse(groups: () => Record<string, Array<number | undefined>>) {
  const read = () => Object.fromEntries(Object.entries(groups()).map(([k, pids]) => [k, cpuSeconds(pids)]));
  const self = () => {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1e6;
  };
  let start: Record<string, number> = {};
  let selfStart = 0;
  let machine = machineCpuSeconds();
  let t0 = 0;
  return {
    start: () => {
      start = read();
      selfStart = self();
      machine = machineCpuSeconds();
      t0 = performance.now();
    },
    stop: () => {
      const seconds = (performance.now() - t0) / 1000;
      const now = read();
      const m = machineCpuSeconds();
      const each = Object.entries(now).map(([k, v]) => `${k} ${fmt((100 * (v - (start[k] ?? 0))) / seconds)}`);
      each.push(`bench + receiver ${fmt((100 * (self() - selfStart)) / seconds)}`);
      return `CPU, % of one core: ${each.join(', ')}; machine ${fmt((100 * (m.busy - machine.busy)) / (m.total - machine.total))} % busy`;
    },
  };
}

class Apps {
  readonly running = new Map<string, RunningApp>();
  constructor(readonly env: Record<string, string>) {}

  async start(label: string, name: AppName, port?: number): Promise<RunningApp> {
    const app = await startApp(name, this.env, port ?? (await freePort()), 90_000);
    app.process.stdout?.removeAllListeners('data').resume();
    app.process.stderr?.removeAllListeners('data').resume();
    this.running.set(label, app);
    return app;
  }

  /** Each running app whose label starts with `prefix`, as a CPU group of its own. */
  each(prefix: string): Record<string, number[]> {
    return Object.fromEntries([...this.running].filter(([k]) => k.startsWith(prefix)).map(([k, a]) => [k, [a.process.pid ?? 0]]));
  }

  async stop(prefix = ''): Promise<void> {
    await Promise.all([...this.running].filter(([k]) => k.startsWith(prefix)).map(([k, a]) => (this.running.delete(k), stopApp(a))));
  }
}

function load(urls: string[], seconds: number, body: string): Promise<autocannon.Result> {
  return new Promise((resolve, reject) =>
    autocannon(
      {
        // autocannon spreads its connections over several URLs (its types know only one).
        url: (urls.length === 1 ? urls[0] : urls) as string,
        method: 'POST',
        connections: 50,
        duration: seconds,
        headers: { 'content-type': 'application/json', authorization: `Bearer ${TEST_ADMIN_TOKEN}` },
        body,
      },
      (err, result) => (err ? reject(err) : resolve(result)),
    ),
  );
}

export async function scalingBench(add: AddRow, options: { pg: PrivatePostgres; receiver: BenchReceiver; loadSeconds: number }): Promise<void> {
  const { pg, receiver } = options;
  const concurrency = Number(process.env.BENCH_SCALING_CONCURRENCY ?? 5);
  const runSeconds = Number(process.env.BENCH_SCALING_SECONDS ?? 10);
  const workerCounts = (process.env.BENCH_SCALING_WORKERS ?? '1,2,4').split(',').map(Number);
  const setups = (process.env.BENCH_SCALING_SETUPS ?? 'single,cluster,pgbouncer').split(',') as SetupName[];
  for (const name of setups) {
    if (!LABEL[name]) throw new Error(`unknown scaling setup ${name}; known: ${Object.keys(LABEL).join(', ')}`);
    const databaseUrl = await createDatabase(pg, `scaling_${name}`);
    const setup = await makeSetup(name, databaseUrl);
    const ingestionPorts = [await freePort(), await freePort()];
    const env = testEnv(databaseUrl, name === 'cluster' ? '{herald}' : `scaling-${name}`, {
      HERALD_INGESTION_URL: `http://127.0.0.1:${ingestionPorts[0]}`,
      HERALD_LOG_LEVEL: 'warn',
      HERALD_DB_POOL_SIZE: '10',
      HERALD_WORKER_CONCURRENCY: String(concurrency),
      HERALD_RETRY_SCHEDULE: '0s,5s,5m',
      HERALD_OUTBOX_SWEEP_MS: '1000',
      ...setup.env,
    });
    const apps = new Apps(env);
    let queue: Queue | undefined;
    let connection: RedisClient | undefined;
    try {
      const ingestion = await apps.start('ingestion-0', 'ingestion', ingestionPorts[0]);
      const gateway = await apps.start('gateway', 'api-gateway');
      const admin = new TestClient(gateway.url, TEST_ADMIN_TOKEN);
      const intake = new TestClient(ingestion.url, TEST_ADMIN_TOKEN);
      if ((await admin.post('/v1/projects', { key: 'scale', name: 'Scale' })).status !== 201) throw new Error('scaling: cannot create the project');
      const hook = await admin.post('/v1/projects/scale/webhooks', { name: 'r', type: 'custom', url: `${receiver.url}/hook`, events: ['deployment.create'] });
      if (hook.status !== 201) throw new Error(`scaling: webhook: ${hook.text}`);
      const config = loadConfig(env);
      connection = producerConnection(config.redis, 'bench-scaling');
      queue = new Queue(QUEUES.deliver, { connection, prefix: config.queuePrefix });

      const rates: number[] = [];
      for (const workers of workerCounts) {
        const ideal = (workers * concurrency * 1000) / RECEIVER_DELAY_MS;
        const n = Math.max(200, Math.round(ideal * runSeconds));
        await queue.pause();
        await Promise.all(Array.from({ length: workers }, (_, i) => apps.start(`worker-${i}`, 'delivery-worker')));
        for (let i = 0; i < n; i += 1000) {
          const res = await intake.post(
            '/v1/projects/scale/events/batch',
            Array.from({ length: Math.min(1000, n - i) }, () => ({ type: 'deployment.create', title: 'scale' })),
          );
          if (res.status !== 202) throw new Error(`scaling: batch: ${res.text}`);
        }
        for (let waited = 0; (await queue.getJobCountByTypes('wait', 'prioritized')) < n; waited += 100) {
          if (waited > 180_000) throw new Error('scaling: the deliveries were not queued within 3 minutes');
          await sleep(100);
        }
        receiver.reset();
        receiver.delayMs = RECEIVER_DELAY_MS;
        const cpu = cpuUse(() => ({ ...apps.each('worker-'), postgres: pg.pids(), ...setup.others() }));
        cpu.start();
        const started = performance.now();
        await queue.resume();
        await receiver.waitForHits(n, 600_000);
        const rate = n / ((receiver.lastAt - started) / 1000);
        const cpuText = cpu.stop();
        receiver.delayMs = 0;
        rates.push(rate);
        const against =
          workers === workerCounts[0]
            ? `ideal ${fmt(ideal)}/s`
            : `${fmt(rate / rates[0], 2)}× ${workerCounts[0]} worker${workerCounts[0] > 1 ? 's' : ''}${workers === 2 ? ' (target ≥ 1.8×)' : workers === 4 ? ' (target ≥ 3.2×)' : ''}; ideal ${fmt(ideal)}/s`;
        add(
          'scaling',
          `${LABEL[name]}: ${workers} worker${workers > 1 ? 's' : ''} × ${concurrency} jobs, receiver ${RECEIVER_DELAY_MS} ms, deliveries/s`,
          fmt(rate),
          `${against}; ${fmt(n)} deliveries; ${cpuText}`,
        );
        await apps.stop('worker-');
      }

      if (name !== 'cluster') {
        const body = JSON.stringify({ type: 'incident.create', title: 'scale', issue: { id: 1, name: 'x' } });
        const urls = [`${ingestion.url}/v1/projects/scale/events`];
        const results: number[] = [];
        for (const processes of [1, 2]) {
          if (processes === 2) {
            const second = await apps.start('ingestion-1', 'ingestion', ingestionPorts[1]);
            urls.push(`${second.url}/v1/projects/scale/events`);
          }
          // The newest process has served nothing yet: its code is not compiled hot (V8) until it has.
          await load([urls[urls.length - 1]], 2, body);
          const cpu = cpuUse(() => ({ ...apps.each('ingestion-'), postgres: pg.pids(), ...setup.others() }));
          cpu.start();
          const r = await load(urls, options.loadSeconds, body);
          const cpuText = cpu.stop();
          results.push(r.requests.average);
          const vs = processes === 1 ? '' : `${fmt(r.requests.average / results[0], 2)}× one process; `;
          add(
            'scaling',
            `${LABEL[name]}: single events/s straight to ${processes} ingestion process${processes > 1 ? 'es' : ''} (50 connections)`,
            fmt(r.requests.average),
            `${vs}p50 ${r.latency.p50} ms, p99 ${r.latency.p99} ms; ${cpuText}`,
          );
        }
      }
    } finally {
      await queue?.close().catch(() => undefined);
      connection?.disconnect();
      await apps.stop();
      await setup.stop();
    }
  }
}
