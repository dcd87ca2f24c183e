import 'reflect-metadata';
import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { DataSource } from 'typeorm';
import {
  DeliveryRepository,
  EventRepository,
  OutboxRepository,
  RetentionPurge,
  RetentionRepository,
  dataSourceOptions,
  runMigrations,
  uuidV7Bound,
} from '@herald/persistence';
import { PrivatePostgres } from '../support/services';
import { fmt, sleep, sql, type AddRow } from './relay-backlog';

/**
 * Retention at 10 million events (issue 13, item 6): batched deletes against the schema as it is,
 * and daily time partitions dropped whole, each measured on the same data in a fresh database of a
 * private Postgres. Rows `retention | …` of docs/benchmarks.md; `npm run bench:retention` runs
 * only this section.
 *
 * Data: RETENTION_BENCH_EVENTS events (default 10 000 000) received evenly over the last 40 days,
 * each with one delivery (succeeded; about 1 in 100 000 still pending) and one attempt, written by
 * INSERT … SELECT generate_series with time-ordered UUIDv7 ids, then VACUUM ANALYZE. A 30-day
 * retention removes the oldest quarter (10 days).
 *
 * While each approach removes those 10 days, a hot path runs beside it through Herald's own
 * repositories (the statements the apps run): intake at RETENTION_BENCH_RATE events/s (default
 * 200; EventRepository.accept, group commit included), the relay's lease and fan-out
 * (OutboxRepository), and each delivery's claim and record (DeliveryRepository). Reported: the
 * p50/p95/p99 of an intake call and of a delivery (claim + record) before and during the removal;
 * rows removed per second; WAL written (pg_current_wal_lsn, full-page images from pg_stat_wal);
 * buffers written (pg_stat_bgwriter) and blocks read (pg_stat_database); and afterwards table
 * sizes and free space (pgstattuple_approx after VACUUM, whose own time and WAL are reported too:
 * deletes leave that work behind, dropped partitions do not).
 *
 *   RETENTION_BENCH_EVENTS    events (default 10000000)
 *   RETENTION_BENCH_RATE      intake events/s of the hot path (default 200)
 *   RETENTION_BENCH_SECONDS   length of each "before" phase (default 30)
 *   RETENTION_BENCH_SETTINGS  batch/pause pairs for the deletes, each removing an equal share of
 *                             the 10 days (default 500/200,5000/0: Herald's defaults, then large
 *                             batches without a pause)
 */
const EVENTS = Number(process.env.RETENTION_BENCH_EVENTS ?? 10_000_000);
const RATE = Number(process.env.RETENTION_BENCH_RATE ?? 200);
const BEFORE_SECONDS = Number(process.env.RETENTION_BENCH_SECONDS ?? 30);
const SETTINGS = (process.env.RETENTION_BENCH_SETTINGS ?? '500/200,5000/0').split(',').map((s) => {
  const [batch, pauseMs] = s.split('/').map(Number);
  return { batch, pauseMs };
});
const SPAN_DAYS = 40;
const RETENTION_DAYS = 30;
const DAY_MS = 86_400_000;
const TYPE = 'incident.create';
/** Rows written per INSERT … SELECT while building the data. */
const CHUNK = 500_000;

const pct = (values: number[], p: number) => {
  if (!values.length) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
};
const ms = (values: number[]) =>
  `p50 ${fmt(pct(values, 50), 1)}, p95 ${fmt(pct(values, 95), 1)}, p99 ${fmt(pct(values, 99), 1)} ms (max ${fmt(Math.max(...values), 0)})`;
const mb = (bytes: number) => `${fmt(bytes / 1048576, bytes < 10 * 1048576 ? 2 : 0)} MB`;

interface HotPathSamples {
  intake: number[];
  delivery: number[];
  /** Failed calls, by message. */
  errors: Map<string, number>;
}

const errorsText = (s: HotPathSamples) => (s.errors.size ? `; failed: ${[...s.errors].map(([m, n]) => `${n}× ${m}`).join(', ')}` : '');

/**
 * Intake and delivery as the apps run them, minus HTTP and Redis: the statements (and their
 * batching) are Herald's own, run on a pool of 20 like an app's.
 */
class HotPath {
  private db!: DataSource;
  private events!: EventRepository;
  private outbox!: OutboxRepository;
  private deliveries!: DeliveryRepository;
  private samples: HotPathSamples = { intake: [], delivery: [], errors: new Map() };
  private stopped = true;
  private loops: Array<Promise<void>> = [];

  constructor(
    private readonly url: string,
    private readonly projectId: number,
  ) {}

  async open(): Promise<void> {
    this.db = new DataSource(dataSourceOptions({ url: this.url, poolSize: 20, applicationName: 'bench-hot-path' }));
    await this.db.initialize();
    this.events = new EventRepository(this.db);
    this.outbox = new OutboxRepository(this.db);
    this.deliveries = new DeliveryRepository(this.db);
  }

  start(): void {
    this.stopped = false;
    this.samples = { intake: [], delivery: [], errors: new Map() };
    this.loops = [this.intake(), this.relay()];
  }

  async stop(): Promise<HotPathSamples> {
    this.stopped = true;
    await Promise.all(this.loops);
    return this.samples;
  }

  close(): Promise<void> {
    return this.db.destroy();
  }

  /** Open loop: events are sent on schedule whatever the answers take, so a stall shows as latency. */
  private async intake(): Promise<void> {
    const started = performance.now();
    const inFlight = new Set<Promise<void>>();
    let sent = 0;
    while (!this.stopped) {
      const due = Math.floor(((performance.now() - started) / 1000) * RATE);
      for (; sent < due; sent++) {
        const t0 = performance.now();
        const call = this.events
          .accept(this.projectId, [
            { type: TYPE, level: 'INFO', title: 'hot path', source: 'api', body: { description: 'retention bench' }, occurredAt: new Date().toISOString() },
          ])
          .then(
            () => void this.samples.intake.push(performance.now() - t0),
            (err: Error) => this.failed('intake', err),
          );
        inFlight.add(call);
        call.finally(() => inFlight.delete(call));
      }
      await sleep(5);
    }
    await Promise.all(inFlight);
  }

  /** The worker's relay and delivery statements: lease and fan out, claim and record each delivery, delete the outbox rows. */
  private async relay(): Promise<void> {
    let after: string | null = null;
    while (!this.stopped || (await this.outbox.backlog(1)) > 0) {
      try {
        const work = await this.outbox.leaseAndFanOut(500, 30_000, { after });
        after = work.outboxIds.length === 500 ? work.lastId : null;
        await Promise.all(work.deliveries.map((d) => this.deliver(d.deliveryId)));
        await this.outbox.delete(work.outboxIds);
        if (!work.outboxIds.length) await sleep(20);
      } catch (err) {
        this.failed('delivery', err as Error);
        await sleep(50);
      }
    }
  }

  private failed(what: string, err: Error): void {
    const key = `${what}: ${err.message.slice(0, 80)}`;
    this.samples.errors.set(key, (this.samples.errors.get(key) ?? 0) + 1);
  }

  private async deliver(deliveryId: string): Promise<void> {
    const t0 = performance.now();
    const token = randomUUID();
    const claim = await this.deliveries.claim({ deliveryId, replay: 0, token, maxAttemptMs: 25_000 });
    if (claim.kind !== 'claimed') return;
    await this.deliveries.recordAttempt(
      deliveryId,
      token,
      'succeeded',
      null,
      { startedAt: new Date(), durationMs: 1, statusCode: 200, outcome: 'delivered', error: null, responseBody: 'ok' },
      true,
    );
    this.samples.delivery.push(performance.now() - t0);
  }
}

/** Postgres' cumulative counters of writing and reading, to diff around a phase. */
async function counters(url: string): Promise<{ lsn: string; fpi: number; written: number; read: number }> {
  const [row] = await sql<{ lsn: string; fpi: string; written: string; read: string }>(
    url,
    `SELECT pg_current_wal_lsn()::text AS lsn, (SELECT wal_fpi FROM pg_stat_wal) AS fpi,
            (SELECT buffers_checkpoint + buffers_clean + buffers_backend FROM pg_stat_bgwriter) AS written,
            (SELECT sum(blks_read) FROM pg_stat_database) AS read`,
  );
  return { lsn: row.lsn, fpi: Number(row.fpi), written: Number(row.written), read: Number(row.read) };
}

async function io(url: string, before: Awaited<ReturnType<typeof counters>>): Promise<{ wal: number; fpi: number; written: number; read: number }> {
  const after = await counters(url);
  const [{ wal }] = await sql<{ wal: string }>(url, `SELECT pg_wal_lsn_diff($1::pg_lsn, $2::pg_lsn) AS wal`, [after.lsn, before.lsn]);
  return { wal: Number(wal), fpi: after.fpi - before.fpi, written: (after.written - before.written) * 8192, read: (after.read - before.read) * 8192 };
}

/** `hotWal`: what the hot path running beside wrote meanwhile (its rate before × the time), left out of the per-row figure. */
const ioText = (x: { wal: number; fpi: number; written: number; read: number }, rows: number, hotWal = 0) =>
  `WAL ${mb(x.wal)} (${fmt(Math.max(0, x.wal - hotWal) / Math.max(1, rows), 0)} B per row removed${hotWal ? `, net of about ${mb(hotWal)} the hot path wrote meanwhile` : ''}; ` +
  `${fmt(x.fpi)} full-page images); buffers written ${mb(x.written)}, blocks read ${mb(x.read)}`;

/** The three tables' sizes (heap + indexes + TOAST, over every partition). */
async function sizes(url: string): Promise<string> {
  const rows = await sql<{ t: string; total: string }>(
    url,
    `SELECT t, coalesce((SELECT sum(pg_total_relation_size(relid)) FROM pg_partition_tree(t::regclass)), pg_total_relation_size(t::regclass)) AS total
       FROM unnest(ARRAY['events', 'deliveries', 'delivery_attempts']) t`,
  );
  return rows.map((r) => `${r.t} ${mb(Number(r.total))}`).join(', ');
}

/** A random UUIDv7 for a given moment, in SQL (Herald's own generator uses clock_timestamp()). */
const UUID_AT = `
  CREATE OR REPLACE FUNCTION bench_uuid_at(ts timestamptz) RETURNS uuid AS $$
    SELECT encode(set_bit(set_bit(overlay(uuid_send(gen_random_uuid())
             placing substring(int8send((extract(epoch from ts) * 1000)::bigint) from 3) from 1 for 6), 52, 1), 53, 1), 'hex')::uuid
  $$ LANGUAGE sql VOLATILE`;

/** Writes the events, one delivery and one attempt each, in chunks; returns the time the data starts. */
async function build(url: string, projectId: number, webhookId: string, start: number): Promise<void> {
  await sql(url, UUID_AT);
  const stepMs = (SPAN_DAYS * DAY_MS) / EVENTS;
  const t0 = performance.now();
  for (let lo = 0; lo < EVENTS; lo += CHUNK) {
    const hi = Math.min(EVENTS, lo + CHUNK) - 1;
    await sql(
      url,
      `WITH e AS (
         INSERT INTO events (id, project_id, type, level, title, source, body, occurred_at, received_at)
         SELECT bench_uuid_at(t), $1, $4, 'INFO', 'bench event ' || i, 'api', '{"description":"retention bench","issue":{"id":1,"name":"x"}}', t, t
           FROM generate_series($2::integer, $3::integer) i, LATERAL (SELECT to_timestamp(($5::double precision + i * $6::double precision) / 1000) AS t) x
         RETURNING id, project_id, type, received_at
       ), d AS (
         INSERT INTO deliveries (id, project_id, event_id, webhook_id, event_type, status, attempt_count, chain_attempts, next_attempt_at, created_at, updated_at, delivered_at)
         SELECT bench_uuid_at(received_at + interval '1 second'), project_id, id, $7, type, s, 1, 1,
                CASE WHEN s = 'pending' THEN now() + interval '1 day' END, received_at + interval '1 second', received_at + interval '2 seconds',
                CASE WHEN s = 'succeeded' THEN received_at + interval '2 seconds' END
           FROM (SELECT *, CASE WHEN random() < 0.00001 THEN 'pending' ELSE 'succeeded' END AS s FROM e) x
         RETURNING id, created_at
       )
       INSERT INTO delivery_attempts (delivery_id, number, started_at, duration_ms, status_code, outcome, response_body)
       SELECT id, 1, created_at, 42, 200, 'delivered', 'ok' FROM d`,
      [projectId, lo, hi, TYPE, start, stepMs, webhookId],
    );
    process.stdout.write(`    built ${fmt(hi + 1)} of ${fmt(EVENTS)} events (${fmt((performance.now() - t0) / 1000)} s)\n`);
  }
  await sql(url, 'VACUUM ANALYZE');
}

async function project(url: string): Promise<{ projectId: number; webhookId: string }> {
  const [{ id: projectId }] = await sql<{ id: number }>(url, `INSERT INTO projects (key, name) VALUES ('bench', 'Bench') RETURNING id`);
  const [{ id: webhookId }] = await sql<{ id: string }>(
    url,
    `INSERT INTO webhooks (project_id, name, type, url_encrypted, url_masked, events) VALUES ($1, 'r', 'custom', 'x', 'x', $2) RETURNING id`,
    [projectId, [TYPE]],
  );
  return { projectId, webhookId };
}

async function migrated(pg: PrivatePostgres, name: string): Promise<string> {
  await sql(pg.url.replace(/\/herald$/, '/postgres'), `CREATE DATABASE ${name}`);
  const url = pg.url.replace(/\/herald$/, `/${name}`);
  const db = new DataSource(dataSourceOptions({ url, poolSize: 2, applicationName: 'bench-migrate' }));
  await db.initialize();
  await runMigrations(db);
  await db.destroy();
  await sql(url, 'CREATE EXTENSION IF NOT EXISTS pgstattuple');
  return url;
}

/** Seconds of hot path run and thrown away before measuring (connections, prepared statements, caches). */
const WARM_UP_SECONDS = 10;

interface Baseline {
  samples: HotPathSamples;
  /** WAL the hot path alone writes per second. */
  walPerSecond: number;
}

async function before(add: AddRow, label: string, url: string, hot: HotPath): Promise<Baseline> {
  hot.start();
  await sleep(WARM_UP_SECONDS * 1000);
  await hot.stop();
  const c0 = await counters(url);
  const t0 = performance.now();
  hot.start();
  await sleep(BEFORE_SECONDS * 1000);
  const s = await hot.stop();
  const walPerSecond = (await io(url, c0)).wal / ((performance.now() - t0) / 1000);
  add(
    'retention',
    `${label}: intake call, no removal running`,
    ms(s.intake),
    `${fmt(s.intake.length)} events at ${RATE}/s for ${BEFORE_SECONDS} s; the hot path writes ${mb(walPerSecond)} of WAL per second`,
  );
  add('retention', `${label}: delivery (claim + record), no removal running`, ms(s.delivery), `${fmt(s.delivery.length)} deliveries${errorsText(s)}`);
  return { samples: s, walPerSecond };
}

function during(add: AddRow, label: string, s: HotPathSamples, { samples: base }: Baseline): void {
  const ratio = (a: number[], b: number[]) => `${fmt(pct(a, 95) / pct(b, 95), 2)}× the p95 before`;
  add('retention', `${label}: intake call, while removing`, ms(s.intake), `${ratio(s.intake, base.intake)}; ${fmt(s.intake.length)} events`);
  add(
    'retention',
    `${label}: delivery (claim + record), while removing`,
    ms(s.delivery),
    `${ratio(s.delivery, base.delivery)}; ${fmt(s.delivery.length)} deliveries${errorsText(s)}`,
  );
}

/** Herald's way: RetentionPurge (bounded batches walking the events' UUIDv7 key) on the schema as it is. */
async function deletes(add: AddRow, pg: PrivatePostgres, start: number): Promise<void> {
  const url = await migrated(pg, 'retention_delete');
  const { projectId, webhookId } = await project(url);
  const built = performance.now();
  await build(url, projectId, webhookId, start);
  add('retention', `batched deletes: built ${fmt(EVENTS)} events, deliveries and attempts`, `${fmt((performance.now() - built) / 1000)} s`, await sizes(url));

  const hot = new HotPath(url, projectId);
  await hot.open();
  const db = new DataSource(dataSourceOptions({ url, poolSize: 2, applicationName: 'bench-purge' }));
  await db.initialize();
  try {
    const base = await before(add, 'batched deletes', url, hot);
    // Each setting removes its share of the 10 days past the window (the purge's clock is pinned).
    const removedDays = SPAN_DAYS - RETENTION_DAYS;
    for (const [i, setting] of SETTINGS.entries()) {
      const now = new Date(start + (RETENTION_DAYS + (removedDays * (i + 1)) / SETTINGS.length) * DAY_MS);
      const purge = new RetentionPurge(new RetentionRepository(db), {
        days: RETENTION_DAYS,
        devLakeDays: null,
        batch: setting.batch,
        pauseMs: setting.pauseMs,
      });
      const batches: number[] = [];
      const c0 = await counters(url);
      hot.start();
      const t0 = performance.now();
      const report = await purge.run({ now, onBatch: (phase, _removed, took) => phase === 'events' && batches.push(took) });
      const seconds = (performance.now() - t0) / 1000;
      const s = await hot.stop();
      const rows = report.removed.events + report.removed.deliveries + report.removed.delivery_attempts;
      const label = `batched deletes, batch ${setting.batch} events, pause ${setting.pauseMs} ms`;
      add(
        'retention',
        `${label}: rows removed per second`,
        fmt(rows / seconds),
        `${fmt(report.removed.events)} events, ${fmt(report.removed.deliveries)} deliveries, ${fmt(report.removed.delivery_attempts)} attempts in ${fmt(seconds, 1)} s; ` +
          `${fmt(batches.length)} batches, each ${ms(batches)}; ${report.retries} retried`,
      );
      add('retention', `${label}: I/O`, ioText(await io(url, c0), rows, base.walPerSecond * seconds));
      during(add, label, s, base);
    }
    const [dead] = await sql<{ n: string }>(
      url,
      `SELECT sum(n_dead_tup) AS n FROM pg_stat_user_tables WHERE relname IN ('events', 'deliveries', 'delivery_attempts')`,
    );
    const c1 = await counters(url);
    const v0 = performance.now();
    await sql(url, 'VACUUM events, deliveries, delivery_attempts');
    add(
      'retention',
      'batched deletes: VACUUM afterwards (autovacuum would do it)',
      `${fmt((performance.now() - v0) / 1000, 1)} s`,
      `${fmt(Number(dead.n))} dead rows; ${ioText(await io(url, c1), Number(dead.n))}`,
    );
    const bloat = await sql<{ t: string; free: number; len: string }>(
      url,
      `SELECT t, (pgstattuple_approx(t::regclass)).approx_free_percent AS free, (pgstattuple_approx(t::regclass)).table_len AS len
         FROM unnest(ARRAY['events', 'deliveries', 'delivery_attempts']) t`,
    );
    add(
      'retention',
      'batched deletes: table bloat afterwards (free space after VACUUM; reused by new rows, never returned to the OS)',
      bloat.map((b) => `${b.t} ${fmt(b.free, 1)} % of ${mb(Number(b.len))}`).join(', '),
      await sizes(url),
    );
  } finally {
    await db.destroy();
    await hot.close();
  }
  await sql(pg.url.replace(/\/herald$/, '/postgres'), 'DROP DATABASE retention_delete');
}

/**
 * The alternative: events, deliveries and attempts partitioned by day on their UUIDv7 keys, and the
 * days past the window dropped whole. Herald's statements run on it unchanged, but the schema has
 * to give up what a partitioned table cannot have (see docs/decisions.md "Retention"): deliveries
 * are partitioned by event_id (the fan-out's ON CONFLICT (event_id, webhook_id) needs a unique
 * index that contains the partition key), so a delivery id is no longer unique by constraint and a
 * claim by id looks in every partition; attempts lose their foreign key (it would need one).
 */
async function partitions(add: AddRow, pg: PrivatePostgres, start: number): Promise<void> {
  const url = await migrated(pg, 'retention_partitions');
  const days = SPAN_DAYS + 3;
  const bound = (day: number) => uuidV7Bound(start + day * DAY_MS);
  await sql(
    url,
    `DROP TABLE delivery_dm_recipients, delivery_attempts, deliveries, events;
     CREATE TABLE events (id uuid NOT NULL DEFAULT herald_uuid_v7(), project_id integer NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
       type text NOT NULL, level text NOT NULL, title text NOT NULL, source text NOT NULL, body jsonb NOT NULL,
       occurred_at timestamptz NOT NULL, received_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (id)) PARTITION BY RANGE (id);
     CREATE INDEX events_project ON events (project_id, id);
     CREATE INDEX events_project_type ON events (project_id, type, id);
     CREATE TABLE deliveries (id uuid NOT NULL DEFAULT herald_uuid_v7(), project_id integer NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
       event_id uuid NOT NULL REFERENCES events(id) ON DELETE CASCADE, webhook_id uuid NOT NULL REFERENCES webhooks(id) ON DELETE CASCADE,
       event_type text NOT NULL, status text NOT NULL DEFAULT 'pending', attempt_count integer NOT NULL DEFAULT 0, replay integer NOT NULL DEFAULT 0,
       next_attempt_at timestamptz, last_error text, created_at timestamptz NOT NULL DEFAULT now(), updated_at timestamptz NOT NULL DEFAULT now(),
       delivered_at timestamptz, attempt_started_at timestamptz, claim_token uuid, chain_attempts integer NOT NULL DEFAULT 0,
       rate_limited_streak integer NOT NULL DEFAULT 0, CONSTRAINT deliveries_event_webhook UNIQUE (event_id, webhook_id)) PARTITION BY RANGE (event_id);
     CREATE INDEX deliveries_id ON deliveries (id);
     CREATE INDEX deliveries_project ON deliveries (project_id, id);
     CREATE INDEX deliveries_webhook ON deliveries (webhook_id, id);
     CREATE INDEX deliveries_project_status ON deliveries (project_id, status, id);
     CREATE INDEX deliveries_unfinished ON deliveries (project_id, id) WHERE status = 'pending';
     CREATE TABLE delivery_attempts (delivery_id uuid NOT NULL, number integer NOT NULL, started_at timestamptz NOT NULL, duration_ms integer NOT NULL,
       status_code integer, outcome text NOT NULL, error text, response_body text, repeats integer NOT NULL DEFAULT 1, last_started_at timestamptz,
       PRIMARY KEY (delivery_id, number)) PARTITION BY RANGE (delivery_id);`,
  );
  for (let d = 0; d < days; d++) {
    await sql(
      url,
      `CREATE TABLE events_d${d} PARTITION OF events FOR VALUES FROM ('${bound(d)}') TO ('${bound(d + 1)}');
       CREATE TABLE deliveries_d${d} PARTITION OF deliveries FOR VALUES FROM ('${bound(d)}') TO ('${bound(d + 1)}') WITH (fillfactor = 85);
       CREATE TABLE delivery_attempts_d${d} PARTITION OF delivery_attempts FOR VALUES FROM ('${bound(d)}') TO ('${bound(d + 1)}');`,
    );
  }
  const { projectId, webhookId } = await project(url);
  const built = performance.now();
  await build(url, projectId, webhookId, start);
  add('retention', `daily partitions: built the same data (${days} partitions per table)`, `${fmt((performance.now() - built) / 1000)} s`, await sizes(url));

  const hot = new HotPath(url, projectId);
  await hot.open();
  try {
    const base = await before(add, 'daily partitions', url, hot);
    // A day can go only when nothing in it is unfinished or replayed inside the window.
    const cutoff = new Date(start + SPAN_DAYS * DAY_MS - RETENTION_DAYS * DAY_MS);
    let blocked = 0;
    let stragglers = 0;
    for (let d = 0; d < SPAN_DAYS - RETENTION_DAYS; d++) {
      const [{ n }] = await sql<{ n: number }>(
        url,
        `SELECT count(*)::int AS n FROM deliveries_d${d} WHERE status NOT IN ('succeeded', 'failed', 'dead') OR updated_at >= $1`,
        [cutoff],
      );
      if (n > 0) blocked++;
      stragglers += n;
    }
    // The bench lets them finish (as waiting for them would), to measure the drops themselves.
    await sql(url, `UPDATE deliveries SET status = 'succeeded', next_attempt_at = NULL WHERE status = 'pending' AND event_id < $1::uuid`, [
      uuidV7Bound(cutoff.getTime()),
    ]);
    add(
      'retention',
      'daily partitions: days past the window that could not be dropped',
      `${blocked} of ${SPAN_DAYS - RETENTION_DAYS}`,
      `${stragglers} unfinished deliveries among ${fmt((EVENTS * (SPAN_DAYS - RETENTION_DAYS)) / SPAN_DAYS)} (1 in 100 000) held them; they were finished for the drops below`,
    );

    const c0 = await counters(url);
    hot.start();
    const drops: number[] = [];
    let lockTimeouts = 0;
    let deadlocks = 0;
    const admin = new Client({ connectionString: url });
    await admin.connect();
    await admin.query('SET lock_timeout = 2000');
    const t0 = performance.now();
    for (let d = 0; d < SPAN_DAYS - RETENTION_DAYS; d++) {
      const d0 = performance.now();
      // The gentlest way there is: DETACH … CONCURRENTLY (SHARE UPDATE EXCLUSIVE on the parent,
      // not the ACCESS EXCLUSIVE of a plain DETACH or of a DROP of an attached partition), then
      // DROP of the detached table. Detaching a partition of events checks that no delivery
      // references it. A statement that times out on a lock or deadlocks with the hot path is
      // retried; a concurrent detach cut off half-way is finished with FINALIZE.
      for (const table of ['delivery_attempts', 'deliveries', 'events']) {
        let detach = `ALTER TABLE ${table} DETACH PARTITION ${table}_d${d} CONCURRENTLY`;
        for (const step of ['detach', 'drop'] as const) {
          for (let attempt = 0; ; attempt++) {
            try {
              await admin.query(step === 'detach' ? detach : `DROP TABLE ${table}_d${d}`);
              break;
            } catch (err) {
              const e = err as { code?: string; message: string };
              if (/pending detach|FINALIZE/i.test(e.message)) detach = `ALTER TABLE ${table} DETACH PARTITION ${table}_d${d} FINALIZE`;
              else if (!['55P03', '40P01'].includes(e.code ?? '') || attempt > 20) throw err;
              else if (e.code === '40P01') deadlocks++;
              else lockTimeouts++;
              await sleep(200);
            }
          }
        }
      }
      drops.push(performance.now() - d0);
    }
    await admin.end();
    const seconds = (performance.now() - t0) / 1000;
    const s = await hot.stop();
    const rows = (EVENTS * 3 * (SPAN_DAYS - RETENTION_DAYS)) / SPAN_DAYS;
    add(
      'retention',
      'daily partitions: rows removed per second (10 days dropped)',
      fmt(rows / seconds),
      `about ${fmt(rows)} rows in ${fmt(seconds, 1)} s; per day ${ms(drops)}; retried after ${lockTimeouts} lock timeouts and ${deadlocks} deadlocks with the hot path`,
    );
    add('retention', 'daily partitions: I/O', ioText(await io(url, c0), rows, base.walPerSecond * seconds));
    during(add, 'daily partitions', s, base);
    add('retention', 'daily partitions: sizes afterwards (nothing to vacuum)', await sizes(url));
  } finally {
    await hot.close();
  }
  await sql(pg.url.replace(/\/herald$/, '/postgres'), 'DROP DATABASE retention_partitions');
}

export async function retentionBench(add: AddRow): Promise<void> {
  const pg = await PrivatePostgres.create({ shared_buffers: '512MB', max_wal_size: '4GB' });
  try {
    // The data ends now, so the hot path's new rows land after it (in today's partition).
    const start = Math.floor((Date.now() - SPAN_DAYS * DAY_MS) / DAY_MS) * DAY_MS;
    await deletes(add, pg, start);
    await partitions(add, pg, start);
  } finally {
    await pg.destroy();
  }
}

if (require.main === module) {
  retentionBench((section, measure, value, note) => process.stdout.write(`  ${section} | ${measure}: ${value}${note ? ` (${note})` : ''}\n`)).then(
    () => process.exit(0),
    (err: unknown) => {
      process.stderr.write(`${(err as Error).stack ?? err}\n`);
      process.exit(1);
    },
  );
}
