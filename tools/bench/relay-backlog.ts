import { Client } from 'pg';
import { TEST_ADMIN_TOKEN, TestClient, freePort, startApp, stopApp, testEnv, type AppName, type RunningApp } from '@herald/testing';
import { PrivatePostgres, PrivateRedis } from '../support/services';
import { BenchReceiver } from './receiver';

/**
 * The relay under a backlog (issue 10, 5b): how fast one worker's outbox relay drains 100 000 and
 * 1 000 000 outbox rows that arrive in one burst, each size in a fresh database. The tables are
 * analysed while empty and the worker runs on them for ten seconds (ten sweeps: more than the
 * five runs after which Postgres may keep a generic plan for a prepared statement, made for empty
 * tables), then one transaction inserts the whole burst (events and their
 * outbox rows, as intake writes them, by INSERT … SELECT: a million requests would take longer
 * than the relay), and the relay drains it through its real code path. Reported: rows/s from the
 * burst's commit to an empty outbox, the largest and mean lease statement time (pg_stat_statements),
 * and a stall check (no progress for 60 s ends the phase).
 *
 *   RELAY_BENCH_SIZES  backlog sizes (default 100000,1000000)
 */
const SIZES = (process.env.RELAY_BENCH_SIZES ?? '100000,1000000')
  .split(',')
  .map(Number)
  .filter((n) => n > 0);
/** Events of this type reach the subscribed webhook; the other type has no subscriber. */
const SUBSCRIBED = 'incident.create';
const UNSUBSCRIBED = 'bb.issue.create';
const STALL_MS = 60_000;

export type AddRow = (section: string, measure: string, value: string, note?: string) => void;

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
export const fmt = (n: number, digits = 0) => n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

export async function sql<T = Record<string, unknown>>(url: string, text: string, values: unknown[] = []): Promise<T[]> {
  const c = new Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query(text, values)).rows as T[];
  } finally {
    await c.end();
  }
}

/** Every size without a subscriber (the relay's own cost), then the first size with one subscribed webhook (deliveries created and queued while the worker delivers them). */
export async function relayBacklog(add: AddRow, sizes: number[] = SIZES): Promise<void> {
  for (const rows of sizes) await phase(add, rows, false);
  if (sizes.length) await phase(add, sizes[0], true);
}

async function phase(add: AddRow, rows: number, subscribed: boolean): Promise<void> {
  const pg = await PrivatePostgres.create({ shared_preload_libraries: 'pg_stat_statements', 'pg_stat_statements.track': 'top' });
  const redis = await PrivateRedis.create(false);
  const receiver = new BenchReceiver();
  await receiver.start();
  const apps: RunningApp[] = [];
  try {
    const ingestionPort = await freePort();
    const env = testEnv(pg.url, `relaybench${Date.now()}`, {
      REDIS_URL: redis.url,
      HERALD_INGESTION_URL: `http://127.0.0.1:${ingestionPort}`,
      HERALD_LOG_LEVEL: 'warn',
      HERALD_DB_POOL_SIZE: '20',
      HERALD_WORKER_CONCURRENCY: '200',
      HERALD_RETRY_SCHEDULE: '0s,5s,5m',
      HERALD_OUTBOX_SWEEP_MS: '1000',
    });
    const start = async (name: AppName, port: number) => {
      const app = await startApp(name, env, port, 60_000);
      app.process.stdout?.removeAllListeners('data').resume();
      app.process.stderr?.removeAllListeners('data').resume();
      apps.push(app);
      return app;
    };
    await start('ingestion', ingestionPort);
    const gateway = await start('api-gateway', await freePort());
    await start('delivery-worker', await freePort());
    await sql(pg.url, 'CREATE EXTENSION IF NOT EXISTS pg_stat_statements');
    const admin = new TestClient(gateway.url, TEST_ADMIN_TOKEN);
    await admin.post('/v1/projects', { key: 'relay', name: 'Relay' });
    const hook = await admin.post('/v1/projects/relay/webhooks', { name: 'r', type: 'custom', url: `${receiver.url}/hook`, events: [SUBSCRIBED] });
    if (hook.status !== 201) throw new Error(`webhook: ${hook.text}`);

    // A fresh database whose tables autovacuum has analysed while empty (as it does after a
    // backlog drains); the worker's relay sweeps the empty outbox every second meanwhile, so any
    // plan it caches is made for empty tables (Postgres may keep a generic plan for a prepared
    // statement after five runs, until the next ANALYZE).
    await sql(pg.url, 'ANALYZE');
    await sleep(10_000);
    await sql(pg.url, 'SELECT pg_stat_statements_reset()');

    const [{ id: projectId }] = await sql<{ id: number }>(pg.url, `SELECT id FROM projects WHERE key = 'relay'`);
    const burstStarted = performance.now();
    await sql(
      pg.url,
      `WITH e AS (
         INSERT INTO events (project_id, type, level, title, source, body, occurred_at)
         SELECT $1, $2, 'INFO', 'backlog ' || i, 'api', '{"description":"relay backlog bench"}', now() FROM generate_series(1, $3::integer) i
         RETURNING id)
       INSERT INTO outbox (kind, ref) SELECT 'event', id FROM e ORDER BY id`,
      [projectId, subscribed ? SUBSCRIBED : UNSUBSCRIBED, rows],
    );
    const committed = performance.now();

    let left = rows;
    let lastProgress = committed;
    let stalled = false;
    for (;;) {
      const [{ n }] = await sql<{ n: string }>(pg.url, 'SELECT count(*) AS n FROM outbox');
      const now = performance.now();
      if (Number(n) < left) lastProgress = now;
      left = Number(n);
      if (left === 0) break;
      if (now - lastProgress > STALL_MS) {
        stalled = true;
        break;
      }
      await sleep(250);
    }
    const seconds = (performance.now() - committed) / 1000;
    const [lease] = await sql<{ calls: string; max: number; mean: number }>(
      pg.url,
      `SELECT sum(calls) AS calls, max(max_exec_time) AS max, sum(total_exec_time) / nullif(sum(calls), 0) AS mean
         FROM pg_stat_statements WHERE query LIKE '%leased AS MATERIALIZED%' OR query LIKE '%WITH leased AS%'`,
    );
    const label = `${fmt(rows)} rows${subscribed ? ', one subscribed webhook' : ', no subscriber'}`;
    const insert = `burst inserted in ${fmt((committed - burstStarted) / 1000, 1)} s`;
    if (stalled) {
      add(
        'relay',
        `backlog of ${label}: rows/s`,
        'STALLED',
        `${fmt(rows - left)} of ${fmt(rows)} relayed, then no progress for ${STALL_MS / 1000} s; ${insert}`,
      );
    } else {
      add('relay', `backlog of ${label}: rows/s`, fmt(rows / seconds), `drained in ${fmt(seconds, 1)} s after the burst's commit; ${insert}`);
    }
    add(
      'relay',
      `backlog of ${label}: lease statement`,
      `max ${fmt(Number(lease?.max ?? NaN), 1)} ms, mean ${fmt(Number(lease?.mean ?? NaN), 1)} ms`,
      `${fmt(Number(lease?.calls ?? 0))} passes (pg_stat_statements)${subscribed ? `; ${fmt(receiver.hits)} deliveries received meanwhile` : ''}`,
    );
  } finally {
    for (const app of apps) await stopApp(app).catch(() => undefined);
    await receiver.stop();
    await redis.destroy();
    await pg.destroy();
  }
}

if (require.main === module) {
  relayBacklog((section, measure, value, note) => process.stdout.write(`  ${section} | ${measure}: ${value}${note ? ` (${note})` : ''}\n`)).then(
    () => process.exit(0),
    (err: unknown) => {
      process.stderr.write(`${(err as Error).stack ?? err}\n`);
      process.exit(1);
    },
  );
}
