import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { DeliveryRepository, EventRepository, dataSourceOptions, openDatabase, type AttemptRecord } from '@herald/persistence';
import { PrivatePgBouncer } from '../support/pgbouncer';
import { PrivatePostgres, cpuSeconds } from '../support/services';
import type { AddRow } from './relay-backlog';

/**
 * What HERALD_DATABASE_POOL_MODE=transaction costs (issue 13 item 3): the hot path's statements
 * run unnamed (planned on every run) instead of as named prepared statements (planned once per
 * connection), and every statement crosses PgBouncer (transaction pooling, 20 server connections).
 * The same code (the repositories, in this process: no HTTP, no Redis) on the same private
 * Postgres, in three setups:
 *   named      session mode, direct: the default
 *   unnamed    transaction mode, direct: what planning on every run costs
 *   pgbouncer  transaction mode through PgBouncer: planning plus the pooler's hop
 * and two loads: one caller in a loop (each call is one statement: latency), and 64 concurrent
 * callers (the MicroBatcher groups their calls: throughput and Postgres CPU per call). The units
 * are an intake call (one event: the events + outbox insert) and a delivery's database work (its
 * claim, then its record). Within each load the three setups run back to back, so they are
 * compared on the machine as it is at that moment.
 *
 *   POOLMODE_BENCH_SECONDS  duration of each intake measurement (default 10)
 *   POOLMODE_BENCH_DELIVERIES  deliveries per concurrent delivery measurement (default 20000; one caller: a tenth)
 */
const SECONDS = Number(process.env.POOLMODE_BENCH_SECONDS ?? 10);
const DELIVERIES = Number(process.env.POOLMODE_BENCH_DELIVERIES ?? 20_000);
const CONCURRENCY = 64;
const POOL = 20;

const fmt = (n: number, digits = 0) => n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

type Setup = 'named' | 'unnamed' | 'pgbouncer';
const SETUPS: Setup[] = ['named', 'unnamed', 'pgbouncer'];

interface Measured {
  perSecond: number;
  /** Mean milliseconds per call (one caller) or per call as seen by a caller (concurrent). */
  meanMs: number;
  pgCpuMs: number;
  bouncerCpuMs: number;
}

export async function poolModeCost(add: AddRow): Promise<void> {
  const pg = await PrivatePostgres.create({ max_connections: '300' });
  let bouncer: PrivatePgBouncer | undefined;
  const open: DataSource[] = [];
  try {
    const setupDb = await openDatabase({ url: pg.url, poolSize: 2, applicationName: 'bench-poolmode-setup' });
    open.push(setupDb);
    const [{ id: project }] = await setupDb.query(`INSERT INTO projects (key, name) VALUES ('pool', 'Pool') RETURNING id`);
    const [{ id: webhook }] = await setupDb.query(
      `INSERT INTO webhooks (project_id, name, type, url_encrypted, url_masked, events) VALUES ($1, 'h', 'custom', 'x', 'x', '{incident.create}') RETURNING id`,
      [project],
    );
    bouncer = await PrivatePgBouncer.start({ poolMode: 'transaction', poolSize: POOL, databases: { herald: { target: pg.url } } });
    const repos = {} as Record<Setup, { events: EventRepository; deliveries: DeliveryRepository }>;
    for (const setup of SETUPS) {
      const db = new DataSource(
        dataSourceOptions({
          url: setup === 'pgbouncer' ? bouncer.url('herald') : pg.url,
          poolSize: POOL,
          applicationName: `bench-poolmode-${setup}`,
          poolMode: setup === 'named' ? 'session' : 'transaction',
        }),
      );
      await db.initialize();
      open.push(db);
      repos[setup] = { events: new EventRepository(db), deliveries: new DeliveryRepository(db) };
    }
    const bouncerPid = bouncer.pid();
    const cpu = () => ({ pg: cpuSeconds(pg.pids()), bouncer: cpuSeconds([bouncerPid]) });

    const event = () => ({
      type: 'incident.create',
      level: 'INFO',
      title: 'pool mode bench',
      source: 'api' as const,
      body: { description: 'x' },
      occurredAt: new Date().toISOString(),
    });
    const intakeCall = (setup: Setup) => repos[setup].events.accept(project, [event()]).then(() => undefined);
    const attempt = (): AttemptRecord => ({ startedAt: new Date(), durationMs: 3, statusCode: 200, outcome: 'delivered', error: null, responseBody: 'ok' });
    const deliveryWork = async (setup: Setup, deliveryId: string) => {
      const token = randomUUID();
      const claim = await repos[setup].deliveries.claim({ deliveryId, replay: 0, token, maxAttemptMs: 60_000 });
      if (claim.kind !== 'claimed') throw new Error(`bench delivery ${deliveryId} not claimed: ${claim.kind}`);
      await repos[setup].deliveries.recordAttempt(deliveryId, token, 'succeeded', null, attempt(), true);
    };
    /** Pending deliveries for one measurement, made before it starts. */
    const makeDeliveries = async (n: number): Promise<string[]> => {
      const rows: Array<{ id: string }> = await setupDb.query(
        `WITH e AS (
           INSERT INTO events (project_id, type, level, title, source, body, occurred_at)
           SELECT $1, 'incident.create', 'INFO', 'bench', 'api', '{}', now() FROM generate_series(1, $3::integer)
           RETURNING id, project_id)
         INSERT INTO deliveries (project_id, event_id, webhook_id, event_type) SELECT project_id, id, $2, 'incident.create' FROM e RETURNING id`,
        [project, webhook, n],
      );
      return rows.map((r) => r.id);
    };

    /** Runs the calls `next` hands out from `callers` loops until it has none left; returns calls/s, mean latency, CPU per call. */
    const measure = async (callers: number, next: () => (() => Promise<void>) | null): Promise<Measured> => {
      const before = cpu();
      const started = performance.now();
      let calls = 0;
      let busyMs = 0;
      await Promise.all(
        Array.from({ length: callers }, async () => {
          for (let call = next(); call; call = next()) {
            const t = performance.now();
            await call();
            busyMs += performance.now() - t;
            calls++;
          }
        }),
      );
      const seconds = (performance.now() - started) / 1000;
      const after = cpu();
      return {
        perSecond: calls / seconds,
        meanMs: busyMs / calls,
        pgCpuMs: ((after.pg - before.pg) * 1000) / calls,
        bouncerCpuMs: ((after.bouncer - before.bouncer) * 1000) / calls,
      };
    };
    const forSeconds = (setup: Setup) => {
      const end = performance.now() + SECONDS * 1000;
      return () => (performance.now() < end ? () => intakeCall(setup) : null);
    };
    const over = (setup: Setup, ids: string[]) => {
      let i = 0;
      return () =>
        i < ids.length
          ? (
              (id: string) => () =>
                deliveryWork(setup, id)
            )(ids[i++])
          : null;
    };

    // Warm-up: every pool connected, every named statement prepared, caches of the plans warm.
    for (const setup of SETUPS) {
      const ids = await makeDeliveries(2 * POOL);
      await measure(POOL, over(setup, ids));
      await measure(
        POOL,
        (() => {
          let n = 4 * POOL;
          return () => (n-- > 0 ? () => intakeCall(setup) : null);
        })(),
      );
    }

    const report = async (unit: string, callers: number, run: (setup: Setup) => Promise<Measured>) => {
      const results = {} as Record<Setup, Measured>;
      for (const setup of SETUPS) results[setup] = await run(setup);
      const each = (f: (m: Measured) => string) => SETUPS.map((s) => f(results[s])).join(' / ');
      add(
        'pool mode',
        `${unit}, ${callers === 1 ? 'one caller' : `${callers} callers`}: per second (named direct / unnamed direct / unnamed via PgBouncer)`,
        each((m) => fmt(m.perSecond)),
        `mean ${each((m) => fmt(m.meanMs, 2))} ms per call; Postgres CPU ${each((m) => fmt(m.pgCpuMs, 3))} ms per call; pgbouncer CPU ${fmt(results.pgbouncer.bouncerCpuMs, 3)} ms per call`,
      );
    };
    await report('intake (one event)', 1, (setup) => measure(1, forSeconds(setup)));
    await report('intake (one event)', CONCURRENCY, (setup) => measure(CONCURRENCY, forSeconds(setup)));
    await report('delivery (claim + record)', 1, async (setup) => measure(1, over(setup, await makeDeliveries(Math.ceil(DELIVERIES / 10)))));
    await report('delivery (claim + record)', CONCURRENCY, async (setup) => measure(CONCURRENCY, over(setup, await makeDeliveries(DELIVERIES))));
  } finally {
    for (const db of open) await db.destroy().catch(() => undefined);
    await bouncer?.stop();
    await pg.destroy();
  }
}

if (require.main === module) {
  poolModeCost((section, measure, value, note) => process.stdout.write(`  ${section} | ${measure}: ${value}${note ? ` (${note})` : ''}\n`)).then(
    () => process.exit(0),
    (err: unknown) => {
      process.stderr.write(`${(err as Error).stack ?? err}\n`);
      process.exit(1);
    },
  );
}
