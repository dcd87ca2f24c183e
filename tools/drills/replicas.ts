import { spawn, type ChildProcess } from 'node:child_process';
import { Client } from 'pg';
import { Pool } from 'undici';
import {
  FakeReceiver,
  TestClient,
  TEST_ADMIN_TOKEN,
  eventually,
  freePort,
  metricSum,
  startApp,
  stopApp,
  testEnv,
  uniqueQueuePrefix,
  type AppName,
  type ReceivedRequest,
  type RunningApp,
} from '@herald/testing';
import { PrivatePostgres, PrivateRedis } from '../support/services';
import type { DrillReport } from './drills';

/**
 * Issue 13, item 4: Herald as many replicas, each a process on its own port of this machine — two
 * gateways, two ingestion processes (each gateway forwards to both: HERALD_INGESTION_URL lists
 * them) and up to four workers (each with its outbox relay) — on one private Postgres and Redis,
 * under load from a client that spreads its requests over both gateways.
 */

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

export interface ReplicaSetOptions {
  databaseUrl: string;
  redisUrl: string;
  workers?: number;
  /** Jobs each worker runs at once. */
  concurrency?: number;
  /** How long the receiver takes to answer (so deliveries are in flight when something happens). */
  receiverDelayMs?: number;
  env?: Record<string, string>;
}

/** The main webhook's path at the receiver; every drill's steady load goes there. */
export const MAIN_PATH = '/hook';

export class ReplicaSet {
  readonly apps = new Map<string, RunningApp>();
  /** Each app's fixed port: a replacement takes its predecessor's (clients and gateways list them). */
  readonly ports = new Map<string, number>();
  receiver!: FakeReceiver;
  admin!: TestClient;
  env!: Record<string, string>;
  project = 'drill';
  concurrency = 10;
  private delayMs = 20;
  private ids = new Map<string, string>();

  static async start(options: ReplicaSetOptions): Promise<ReplicaSet> {
    const set = new ReplicaSet();
    set.concurrency = options.concurrency ?? 10;
    set.receiver = await FakeReceiver.start();
    set.setReceiverDelay(options.receiverDelayMs ?? 20);
    for (const label of ['ingestion-0', 'ingestion-1', 'gateway-0', 'gateway-1']) set.ports.set(label, await freePort());
    set.env = testEnv(options.databaseUrl, uniqueQueuePrefix(), {
      REDIS_URL: options.redisUrl,
      HERALD_INGESTION_URL: ['ingestion-0', 'ingestion-1'].map((l) => `http://127.0.0.1:${set.ports.get(l)}`).join(','),
      HERALD_WORKER_CONCURRENCY: String(set.concurrency),
      // Eight processes on one Postgres: small pools.
      HERALD_DB_POOL_SIZE: '5',
      // A killed worker's jobs are taken over 3 s after its last lock renewal.
      HERALD_JOB_LOCK_MS: '3000',
      HERALD_STALLED_INTERVAL_MS: '1000',
      HERALD_RETRY_SCHEDULE: '0s,1s,2s,5s,10s',
      ...options.env,
    });
    try {
      // The first one migrates the empty database; the others start together.
      await set.startApp('ingestion-0');
      await Promise.all([set.startApp('ingestion-1'), set.startApp('gateway-0'), set.startApp('gateway-1')]);
      await Promise.all(Array.from({ length: options.workers ?? 4 }, (_, i) => set.startApp(`worker-${i}`)));
      set.admin = new TestClient(set.url('gateway-0'), TEST_ADMIN_TOKEN);
      const project = await set.admin.post('/v1/projects', { key: set.project, name: 'Replicas drill' });
      if (project.status !== 201) throw new Error(`cannot create the drill project: ${project.status} ${project.text}`);
      await set.webhook('main', MAIN_PATH, ['incident.create']);
    } catch (err) {
      await set.stop();
      throw err;
    }
    return set;
  }

  /** How long the receiver takes to answer each request from now on. */
  setReceiverDelay(ms: number): void {
    this.delayMs = ms;
    this.receiver.setDefault({ status: 200, body: 'ok', delayMs: ms });
  }

  receiverDelay(): number {
    return this.delayMs;
  }

  /** A custom webhook to the receiver at `path`; returns its id. */
  async webhook(name: string, path: string, events: string[], rateLimit?: { count: number; perSeconds: number }): Promise<string> {
    const res = await this.admin.post(`/v1/projects/${this.project}/webhooks`, {
      name,
      type: 'custom',
      url: `${this.receiver.url}${path}`,
      events,
      ...(rateLimit ? { rateLimit } : {}),
    });
    if (res.status !== 201) throw new Error(`cannot create webhook ${name}: ${res.status} ${res.text}`);
    this.ids.set(name, res.body.id);
    return res.body.id;
  }

  static kind(label: string): AppName {
    if (label.startsWith('gateway')) return 'api-gateway';
    if (label.startsWith('ingestion')) return 'ingestion';
    return 'delivery-worker';
  }

  /** Starts `label` on its port (a new one for a new worker) and waits until it is ready. */
  async startApp(label: string): Promise<RunningApp> {
    let port = this.ports.get(label);
    if (port === undefined) {
      port = await freePort();
      this.ports.set(label, port);
    }
    const app = await startApp(ReplicaSet.kind(label), this.env, port, 90_000);
    this.apps.set(label, app);
    return app;
  }

  app(label: string): RunningApp {
    const app = this.apps.get(label);
    if (!app) throw new Error(`no app ${label}`);
    return app;
  }

  url(label: string): string {
    return `http://127.0.0.1:${this.ports.get(label)}`;
  }

  gatewayUrls(): string[] {
    return ['gateway-0', 'gateway-1'].map((l) => this.url(l));
  }

  workers(): string[] {
    return [...this.apps.keys()].filter((l) => l.startsWith('worker-')).sort();
  }

  /** SIGTERM (or SIGKILL), and forgets the app; resolves with its exit code (null when killed). */
  async stopApp(label: string, signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
    const app = this.app(label);
    this.apps.delete(label);
    return stopApp(app, signal);
  }

  /** Each request's event id and webhook-id, read once (the drills poll the list; parsing it each time would stall this process, which is also the receiver whose clock they read). */
  private readonly parsed = new WeakMap<ReceivedRequest, { eventId: string; webhookId: string } | null>();

  /** The receiver's requests at `path` (all when omitted) whose event is among `ids`, when given. */
  arrivals(path?: string, ids?: Set<string>): Array<ReceivedRequest & { eventId: string; webhookId: string }> {
    const out: Array<ReceivedRequest & { eventId: string; webhookId: string }> = [];
    for (const r of this.receiver.requests) {
      if (path !== undefined && r.path !== path) continue;
      let meta = this.parsed.get(r);
      if (meta === undefined) {
        let eventId: string | undefined;
        try {
          eventId = (JSON.parse(r.body) as { event_id?: string }).event_id;
        } catch {
          // not one of Herald's deliveries
        }
        meta = eventId ? { eventId, webhookId: String(r.headers['webhook-id'] ?? '') } : null;
        this.parsed.set(r, meta);
      }
      if (!meta || (ids && !ids.has(meta.eventId))) continue;
      out.push({ ...r, ...meta });
    }
    return out;
  }

  /** Waits until every id arrived at `path`; returns those still missing at the deadline. */
  async awaitDelivery(ids: Iterable<string>, timeoutMs: number, path = MAIN_PATH): Promise<{ missing: string[]; waitedMs: number }> {
    const wanted = new Set(ids);
    const started = Date.now();
    let missing = [...wanted];
    while (Date.now() - started < timeoutMs) {
      const seen = new Set(this.arrivals(path, wanted).map((a) => a.eventId));
      missing = [...wanted].filter((id) => !seen.has(id));
      if (missing.length === 0) break;
      await sleep(200);
    }
    return { missing, waitedMs: Date.now() - started };
  }

  /** Deliveries sent by each running worker (its herald_deliveries_total, delivered). */
  async deliveredBy(labels = this.workers()): Promise<number[]> {
    return Promise.all(labels.map((l) => metricSum(this.app(l).url, 'herald_deliveries_total', 'outcome="delivered"').catch(() => NaN)));
  }

  async query<T>(text: string, values: unknown[] = []): Promise<T[]> {
    const c = new Client({ connectionString: this.env.DATABASE_URL });
    await c.connect();
    try {
      return (await c.query(text, values)).rows as T[];
    } finally {
      await c.end();
    }
  }

  async stop(): Promise<void> {
    await Promise.all([...this.apps.values()].map((app) => stopApp(app, 'SIGKILL')));
    this.apps.clear();
    await this.receiver?.stop();
  }
}

/**
 * A producer that spreads its requests over both gateways (in turn) with a keep-alive pool to
 * each, and sends a request whose connection is refused to the other gateway. Anything else that
 * is not a 202 — a reset, a 5xx, a 503 — is an error it did not retry, recorded as such (retrying
 * those safely would need an Idempotency-Key; a refused connection never carried the request).
 */
export class IntakeClient {
  private readonly pools: Pool[];
  private turn = 0;
  /** Event id → when it was accepted. */
  readonly accepted = new Map<string, number>();
  /** What the client saw and did not retry. */
  readonly errors: string[] = [];
  refusedRetried = 0;
  readonly latencies: number[] = [];
  private inFlight = new Set<Promise<unknown>>();

  constructor(
    readonly gateways: string[],
    private readonly project: string,
    connections = 8,
  ) {
    this.pools = gateways.map((url) => new Pool(url, { connections }));
  }

  /** Sends one event; its id when accepted, else null (the error is recorded). */
  send(type: string, title: string): Promise<string | null> {
    const p = this.sendOnce(type, title);
    this.inFlight.add(p);
    void p.finally(() => this.inFlight.delete(p));
    return p;
  }

  private async sendOnce(type: string, title: string): Promise<string | null> {
    const first = this.turn++ % this.pools.length;
    const started = Date.now();
    // A refused connection carried nothing, so the request goes to the other gateway, and on
    // round the gateways (a pause after each round in which all refused) for up to 10 s.
    let refusedSince: number | undefined;
    for (let k = 0; ; k++) {
      const g = (first + k) % this.pools.length;
      try {
        const res = await this.pools[g].request({
          path: `/v1/projects/${this.project}/events`,
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${TEST_ADMIN_TOKEN}` },
          body: JSON.stringify({ type, title }),
        });
        const text = await res.body.text();
        if (res.statusCode === 202) {
          const id = (JSON.parse(text) as { id: string }).id;
          this.accepted.set(id, Date.now());
          this.latencies.push(Date.now() - started);
          return id;
        }
        this.errors.push(`gateway ${g} answered ${res.statusCode}: ${text.slice(0, 200)}`);
        return null;
      } catch (err) {
        const code = (err as { code?: string }).code;
        refusedSince ??= Date.now();
        if (code === 'ECONNREFUSED' && Date.now() - refusedSince < 10_000) {
          this.refusedRetried++;
          if ((k + 1) % this.pools.length === 0) await sleep(50);
          continue;
        }
        this.errors.push(`gateway ${g}: ${code ?? ''} ${(err as Error).message}`);
        return null;
      }
    }
  }

  /** Requests a steady load left unsent because `maxInFlight` were still waiting for their answers. */
  skipped = 0;

  /**
   * `rate` events a second (a tick every 50 ms) until the returned stop() is called. A tick that
   * finds `maxInFlight` requests still unanswered sends nothing (counted in `skipped`): on a
   * machine that cannot keep up, an open-ended queue in the client would only measure the queue.
   */
  steady(rate: number, type = 'incident.create', title = 'steady', maxInFlight = 64): { stop: () => Promise<number> } {
    let running = true;
    let sent = 0;
    const perTick = Math.max(1, Math.round(rate / 20));
    const loop = (async () => {
      const start = Date.now();
      for (let i = 0; running; i++) {
        for (let j = 0; j < perTick; j++) {
          if (this.inFlight.size >= maxInFlight) this.skipped++;
          else void this.send(type, `${title} ${sent++}`);
        }
        await sleep(Math.max(0, start + (i + 1) * 50 - Date.now()));
      }
    })();
    return {
      stop: async () => {
        running = false;
        await loop;
        await this.settle();
        return sent;
      },
    };
  }

  /** `count` events by `concurrency` loops as fast as they are answered; resolves with the accepted ids. */
  async burst(count: number, concurrency: number, type = 'incident.create', title = 'burst', onProgress?: (sent: number) => void): Promise<string[]> {
    const ids: string[] = [];
    let next = 0;
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next < count) {
          const n = ++next;
          const id = await this.send(type, `${title} ${n}`);
          if (id) ids.push(id);
          onProgress?.(n);
        }
      }),
    );
    return ids;
  }

  async settle(): Promise<void> {
    while (this.inFlight.size) await Promise.all([...this.inFlight]);
  }

  async close(): Promise<void> {
    await this.settle();
    await Promise.all(this.pools.map((p) => p.close()));
  }
}

async function withServices<T>(fn: (pg: PrivatePostgres, redis: PrivateRedis) => Promise<T>): Promise<T> {
  const pg = await PrivatePostgres.create();
  const redis = await PrivateRedis.create(true);
  try {
    return await fn(pg, redis);
  } finally {
    await redis.destroy();
    await pg.destroy();
  }
}

/** Runs `drill` on a fresh replica set on its own Postgres and Redis (what `npm run drills` does). */
export function onFreshReplicaSet<O>(
  drill: (set: ReplicaSet, options: O) => Promise<DrillReport>,
  setOptions: Omit<ReplicaSetOptions, 'databaseUrl' | 'redisUrl'> = {},
) {
  return (options: O): Promise<DrillReport> =>
    withServices(async (pg, redis) => {
      const set = await ReplicaSet.start({ databaseUrl: pg.url, redisUrl: redis.url, ...setOptions });
      try {
        return await drill(set, options);
      } finally {
        await set.stop();
      }
    });
}

/** Events that reached `path` more than once, with the webhook-ids they carried and their arrival times. */
function repeats(set: ReplicaSet, ids: Set<string>, path = MAIN_PATH): Array<{ eventId: string; webhookIds: Set<string>; times: number[] }> {
  const byEvent = new Map<string, { webhookIds: Set<string>; times: number[] }>();
  for (const a of set.arrivals(path, ids)) {
    const entry = byEvent.get(a.eventId) ?? { webhookIds: new Set<string>(), times: [] };
    entry.webhookIds.add(a.webhookId);
    entry.times.push(a.at);
    byEvent.set(a.eventId, entry);
  }
  return [...byEvent].filter(([, e]) => e.times.length > 1).map(([eventId, e]) => ({ eventId, ...e, times: e.times.sort((x, y) => x - y) }));
}

const pct = (values: number[], p: number) => {
  if (!values.length) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
};

/**
 * Rolling restart: under a steady load through both gateways, every app in turn — both ingestion
 * processes, both gateways, every worker — gets SIGTERM, and once it exited its replacement starts
 * on the same port. No accepted event may be lost, every app must exit 0, the client must see no
 * error beyond the refused connections it sent to the other gateway, and nothing may arrive twice.
 */
export async function rollingRestartDrill(
  set: ReplicaSet,
  options: { rate: number; pauseMs?: number; /** Only these apps (the short form); every app by default. */ apps?: string[] },
): Promise<DrillReport> {
  const client = new IntakeClient(set.gatewayUrls(), set.project);
  const restarts: Array<{ label: string; exit: number | null; stopMs: number; startMs: number }> = [];
  try {
    const load = client.steady(options.rate, 'incident.create', 'rolling');
    await sleep(options.pauseMs ?? 1500);
    const order = options.apps ?? ['ingestion-0', 'ingestion-1', 'gateway-0', 'gateway-1', ...set.workers()];
    const started = Date.now();
    for (const label of order) {
      const t0 = Date.now();
      const exit = await set.stopApp(label, 'SIGTERM');
      const t1 = Date.now();
      await set.startApp(label);
      restarts.push({ label, exit, stopMs: t1 - t0, startMs: Date.now() - t1 });
      await sleep(options.pauseMs ?? 1500);
    }
    const restartMs = Date.now() - started;
    const sent = await load.stop();
    const ids = new Set(client.accepted.keys());
    const { missing, waitedMs } = await set.awaitDelivery(ids, 120_000);
    const dupes = repeats(set, ids);

    const failures: string[] = [];
    if (client.errors.length) failures.push(`the client saw ${client.errors.length} errors it did not retry, e.g. ${client.errors.slice(0, 3).join(' | ')}`);
    if (missing.length) failures.push(`${missing.length} accepted events never reached the receiver`);
    const unclean = restarts.filter((r) => r.exit !== 0);
    if (unclean.length) failures.push(`apps that did not exit 0 on SIGTERM: ${unclean.map((r) => `${r.label} (${r.exit})`).join(', ')}`);
    if (dupes.length) failures.push(`${dupes.length} events arrived more than once under a graceful restart`);
    if (ids.size + client.errors.length !== sent) failures.push(`${sent} sent but ${ids.size} accepted and ${client.errors.length} errors`);
    const byKind = (prefix: string) => restarts.filter((r) => r.label.startsWith(prefix));
    const range = (xs: number[]) => (xs.length ? `${seconds(Math.min(...xs))}–${seconds(Math.max(...xs))}` : '—');
    return {
      name: `rolling restart of ${order.length} apps (of 2 gateways, 2 ingestion processes and ${set.workers().length} workers) under a steady ${options.rate} events/s`,
      facts: [
        ['apps restarted, one at a time (SIGTERM, exit, replacement on the same port)', order.join(', ')],
        ['exit codes', restarts.map((r) => r.exit).join(', ')],
        ['SIGTERM → exit: ingestion / gateway / worker', ['ingestion', 'gateway', 'worker'].map((k) => range(byKind(k).map((r) => r.stopMs))).join(' / ')],
        [
          'replacement start → ready: ingestion / gateway / worker',
          ['ingestion', 'gateway', 'worker'].map((k) => range(byKind(k).map((r) => r.startMs))).join(' / '),
        ],
        ['whole rolling restart', seconds(restartMs)],
        ['events sent / accepted', `${sent} / ${ids.size}`],
        ['requests left unsent (64 still unanswered: the machine did not keep up)', client.skipped],
        ['refused connections the client sent to the other gateway', client.refusedRetried],
        ['errors the client saw and did not retry', client.errors.length],
        ['client latency p50 / p99 / max', `${pct(client.latencies, 50)} / ${pct(client.latencies, 99)} / ${Math.max(...client.latencies)} ms`],
        ['delivered', `${ids.size - missing.length} of ${ids.size}`],
        ['events that arrived twice', dupes.length],
        ['time from the end of the load to the last delivery', seconds(waitedMs)],
      ],
      failures,
    };
  } finally {
    await client.close();
  }
}

/**
 * Two workers killed with SIGKILL at the same moment during a burst. Every accepted event must
 * arrive; an event may arrive twice only if a killed worker had sent it before dying (its first
 * arrival precedes the kill) and both copies carry the same webhook-id, and there can be no more
 * such events than the killed workers had jobs in flight.
 */
export async function killTwoWorkersDrill(set: ReplicaSet, options: { events: number; concurrency?: number; restart?: boolean }): Promise<DrillReport> {
  const client = new IntakeClient(set.gatewayUrls(), set.project);
  try {
    const [victimA, victimB] = set.workers();
    const before = set.receiver.requests.length;
    let kill: Promise<number> | undefined;
    const watch = setInterval(() => {
      if (!kill && set.receiver.requests.length - before >= options.events / 3) {
        kill = (async () => {
          const at = Date.now();
          await Promise.all([set.stopApp(victimA, 'SIGKILL'), set.stopApp(victimB, 'SIGKILL')]);
          return at;
        })();
      }
    }, 5);
    const ids = new Set(await client.burst(options.events, options.concurrency ?? 20, 'incident.create', 'kill'));
    // Resolves with the moment of the kill (polled: the burst may be accepted before a third of it arrived).
    const killAt = await eventually(() => kill, 120_000, 'a third of the burst delivered').finally(() => clearInterval(watch));
    // The receiver's timestamp of a request the dead worker wrote may trail the kill by the time the receiver took to read it.
    const SLACK_MS = 250;
    const { missing, waitedMs } = await set.awaitDelivery(ids, 120_000);
    if (options.restart !== false) await Promise.all([set.startApp(victimA), set.startApp(victimB)]);
    const dupes = repeats(set, ids);
    const mixedIds = dupes.filter((d) => d.webhookIds.size !== 1);
    const lateFirst = dupes.filter((d) => d.times[0] > killAt + SLACK_MS);
    const bound = 2 * set.concurrency;
    const failures: string[] = [];
    if (client.errors.length) failures.push(`the client saw ${client.errors.length} errors, e.g. ${client.errors.slice(0, 3).join(' | ')}`);
    if (ids.size !== options.events) failures.push(`only ${ids.size} of ${options.events} events were accepted`);
    if (missing.length) failures.push(`${missing.length} accepted events never reached the receiver`);
    if (mixedIds.length) failures.push(`${mixedIds.length} events arrived twice with different webhook-ids (a second delivery, not a repeated one)`);
    if (lateFirst.length)
      failures.push(
        `${lateFirst.length} events arrived twice although their first copy came ${SLACK_MS} ms or more after the kill (not in flight at the kill)`,
      );
    if (dupes.length > bound) failures.push(`${dupes.length} events arrived twice, more than the killed workers had in flight (2 × ${set.concurrency})`);
    const lag = dupes.length ? Math.max(...dupes.map((d) => d.times[0] - killAt)) : null;
    return {
      name: 'two workers killed with SIGKILL at once during a burst',
      facts: [
        ['workers', `${set.workers().length} × ${set.concurrency} jobs at a time; receiver answering in ${set.receiverDelay()} ms`],
        ['events accepted', `${ids.size} of ${options.events}`],
        ['killed at once', `${victimA}, ${victimB}, after a third of the burst had arrived`],
        ['delivered', `${ids.size - missing.length} of ${ids.size}`],
        ['events that arrived twice', dupes.length],
        ['bound: jobs the killed workers had in flight', bound],
        ['of those, with one webhook-id for both copies', dupes.length - mixedIds.length],
        ['latest first copy of a repeated event, after the kill', lag === null ? '—' : `${lag} ms`],
        ['time from the end of the burst to the last delivery', seconds(waitedMs)],
      ],
      failures,
    };
  } finally {
    await client.close();
  }
}

/**
 * Scale-out: a burst starts with one worker; once a quarter of it arrived, three more start. Every
 * event must arrive once, every new worker must take part, and the delivery rate must rise.
 */
export async function scaleOutDrill(set: ReplicaSet, options: { events: number; concurrency?: number; to?: number }): Promise<DrillReport> {
  const to = options.to ?? 4;
  // Start from one worker.
  for (const label of set.workers().slice(1)) await set.stopApp(label, 'SIGTERM');
  const client = new IntakeClient(set.gatewayUrls(), set.project);
  try {
    const base = set.receiver.requests.length;
    const arrivedAt = () => set.receiver.requests.slice(base).map((r) => r.at);
    let scaling: Promise<{ startedAt: number; readyAt: number }> | undefined;
    const added = Array.from({ length: to - 1 }, (_, i) => `worker-${i + 1}`);
    const watch = setInterval(() => {
      if (!scaling && set.receiver.requests.length - base >= options.events / 4) {
        scaling = (async () => {
          const startedAt = Date.now();
          await Promise.all(added.map((l) => set.startApp(l)));
          return { startedAt, readyAt: Date.now() };
        })();
      }
    }, 20);
    const started = Date.now();
    const ids = new Set(await client.burst(options.events, options.concurrency ?? 20, 'incident.create', 'scale'));
    const acceptedMs = Date.now() - started;
    const { missing, waitedMs } = await set.awaitDelivery(ids, 180_000);
    clearInterval(watch);
    if (!scaling) throw new Error('the burst was delivered before a quarter of it arrived?');
    const { startedAt, readyAt } = await scaling;
    const perWorker = await set.deliveredBy(['worker-0', ...added]);
    const times = arrivedAt().sort((a, b) => a - b);
    const rate = (from: number, to2: number) => times.filter((t) => t >= from && t < to2).length / ((to2 - from) / 1000);
    const first = times[0];
    const last = times[times.length - 1];
    const before = rate(first, startedAt);
    const after = readyAt < last ? rate(readyAt, last) : NaN;
    const dupes = repeats(set, ids);
    const failures: string[] = [];
    if (client.errors.length) failures.push(`the client saw ${client.errors.length} errors, e.g. ${client.errors.slice(0, 3).join(' | ')}`);
    if (ids.size !== options.events) failures.push(`only ${ids.size} of ${options.events} events were accepted`);
    if (missing.length) failures.push(`${missing.length} accepted events never reached the receiver`);
    if (dupes.length) failures.push(`${dupes.length} events arrived more than once`);
    if (readyAt >= last) failures.push('the burst was delivered before the new workers were ready: raise the events');
    else if (perWorker.slice(1).some((n) => !(n > 0))) failures.push(`a new worker delivered nothing (deliveries per worker: ${perWorker.join(', ')})`);
    if (!(after > before)) failures.push(`the delivery rate did not rise: ${before.toFixed(0)}/s with one worker, ${after.toFixed(0)}/s with ${to}`);
    return {
      name: `scale-out from 1 to ${to} workers in the middle of a burst`,
      facts: [
        ['events accepted', `${ids.size} of ${options.events} in ${seconds(acceptedMs)}`],
        ['workers', `1, then ${to} (each ${set.concurrency} jobs at a time; receiver answering in ${set.receiverDelay()} ms)`],
        ['new workers started after', `${seconds(startedAt - first)} of deliveries; ready ${seconds(readyAt - startedAt)} later`],
        ['deliveries/s with 1 worker', before.toFixed(0)],
        [`deliveries/s once ${to} were ready`, Number.isNaN(after) ? '—' : after.toFixed(0)],
        ['deliveries per worker', perWorker.join(', ')],
        ['delivered', `${ids.size - missing.length} of ${ids.size}`],
        ['events that arrived twice', dupes.length],
        ['time from the end of the burst to the last delivery', seconds(waitedMs)],
      ],
      failures,
    };
  } finally {
    await client.close();
  }
}

/**
 * A receiver in a process of its own that only notes when each request arrived (at its headers,
 * by the machine's clock) with its event id and webhook-id, and answers 200 after `delayMs`. The
 * drill's own process also runs the producer and polls, and a receiver there would note a request
 * only when that process gets to it: arrivals that waited together would look bunched.
 */
export class ArrivalRecorder {
  private constructor(
    private readonly child: ChildProcess,
    readonly url: string,
  ) {}

  static async start(delayMs: number): Promise<ArrivalRecorder> {
    const script = `
      const http = require('node:http');
      const seen = [];
      const server = http.createServer((req, res) => {
        const at = Date.now();
        if (req.method === 'GET') return res.end(JSON.stringify(seen));
        const chunks = [];
        req.on('data', (c) => chunks.push(c));
        req.on('end', () => {
          let eventId = null;
          try { eventId = JSON.parse(Buffer.concat(chunks).toString('utf8')).event_id ?? null; } catch {}
          seen.push({ at, path: req.url, eventId, webhookId: String(req.headers['webhook-id'] ?? '') });
          setTimeout(() => res.end('ok'), ${Math.max(0, Math.round(delayMs))});
        });
      });
      server.keepAliveTimeout = 60000;
      server.listen(0, '127.0.0.1', () => process.stdout.write(server.address().port + '\\n'));`;
    const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    const port = await new Promise<number>((resolve, reject) => {
      child.stdout?.once('data', (d: Buffer) => resolve(Number(d.toString().trim())));
      child.once('exit', (code) => reject(new Error(`the arrival recorder exited with ${code}`)));
    });
    return new ArrivalRecorder(child, `http://127.0.0.1:${port}`);
  }

  async arrivals(): Promise<Array<{ at: number; path: string; eventId: string | null; webhookId: string }>> {
    return (await (await fetch(`${this.url}/`)).json()) as Array<{ at: number; path: string; eventId: string | null; webhookId: string }>;
  }

  stop(): void {
    this.child.kill('SIGKILL');
  }
}

/** The largest number of `times` (sorted) within any window of `windowMs` (start included, end excluded). */
export function busiestWindow(times: number[], windowMs: number): { count: number; at: number } {
  let best = { count: 0, at: NaN };
  for (let i = 0, j = 0; j < times.length; j++) {
    while (times[j] - times[i] >= windowMs) i++;
    if (j - i + 1 > best.count) best = { count: j - i + 1, at: times[i] };
  }
  return best;
}

/**
 * A webhook limited to `limit` a second, sent `events` events at once while every worker also
 * delivers the steady load: at the receiver, no sliding second holds more than `limit` of them, the
 * limit is used (the whole takes about events / limit seconds), and more than one worker sent them.
 */
export async function rateLimitDrill(
  set: ReplicaSet,
  options: {
    events: number;
    limit?: number;
    steadyRate?: number;
    /**
     * How much shorter than a second the tightest `limit + 1` consecutive arrivals may be before
     * the drill fails (default 0: the bound exactly). The limiter keeps its log on Redis' clock;
     * what arrives is later by each send's own delay after its yes (a first send opens its
     * connection), which a machine shared with other work stretches (the facts show both clocks).
     */
    toleranceMs?: number;
  },
): Promise<DrillReport> {
  const limit = options.limit ?? 10;
  const path = '/limited';
  const recorder = await ArrivalRecorder.start(set.receiverDelay());
  const client = new IntakeClient(set.gatewayUrls(), set.project);
  try {
    const res = await set.admin.post(`/v1/projects/${set.project}/webhooks`, {
      name: `limited-${Date.now()}`,
      type: 'custom',
      url: `${recorder.url}${path}`,
      events: ['deployment.create'],
      rateLimit: { count: limit, perSeconds: 1 },
    });
    if (res.status !== 201) throw new Error(`cannot create the limited webhook: ${res.status} ${res.text}`);
    const hook = res.body.id as string;
    const workers = set.workers();
    const before = await set.deliveredBy(workers);
    const load = client.steady(options.steadyRate ?? 50, 'incident.create', 'beside the limit');
    const ids = new Set(await client.burst(options.events, 20, 'deployment.create', 'limited'));
    const deadline = Date.now() + Math.max(60_000, (options.events / limit) * 3000);
    let arrivals = await recorder.arrivals();
    while (Date.now() < deadline && new Set(arrivals.map((a) => a.eventId)).size < ids.size) {
      await sleep(500);
      arrivals = await recorder.arrivals();
    }
    await load.stop();
    const missing = [...ids].filter((id) => !arrivals.some((a) => a.eventId === id));
    const times = arrivals.map((a) => a.at).sort((a, b) => a - b);
    const busiest = busiestWindow(times, 1000);
    // The tightest span of limit + 1 consecutive arrivals: under 1 000 ms would be a sliding second over the limit.
    let tightest = Infinity;
    let tightestAt = 0;
    for (let i = limit; i < times.length; i++) {
      if (times[i] - times[i - limit] < tightest) [tightest, tightestAt] = [times[i] - times[i - limit], times[i - limit] - times[0]];
    }
    const spanMs = times[times.length - 1] - times[0];
    // The same measure on the attempts' start times (each worker's clock, taken after the limiter allowed the send and before it went out).
    const starts = (
      await set.query<{ t: number }>(
        `SELECT extract(epoch FROM a.started_at) * 1000 AS t FROM delivery_attempts a JOIN deliveries d ON d.id = a.delivery_id WHERE d.webhook_id = $1 AND a.outcome = 'delivered' ORDER BY 1`,
        [hook],
      )
    ).map((r) => Number(r.t));
    let tightestStart = Infinity;
    for (let i = limit; i < starts.length; i++) tightestStart = Math.min(tightestStart, starts[i] - starts[i - limit]);
    const ideal = ((options.events - limit) / limit) * 1000;
    const after = await set.deliveredBy(workers);
    const sending = after.map((n, i) => n - before[i]).filter((n) => n > 0).length;
    const deferrals = (await Promise.all(workers.map((w) => metricSum(set.app(w).url, 'herald_rate_limit_deferrals_total').catch(() => 0)))).reduce(
      (a, b) => a + b,
      0,
    );
    const failures: string[] = [];
    if (client.errors.length) failures.push(`the client saw ${client.errors.length} errors, e.g. ${client.errors.slice(0, 3).join(' | ')}`);
    if (ids.size !== options.events) failures.push(`only ${ids.size} of ${options.events} limited events were accepted`);
    if (missing.length) failures.push(`${missing.length} limited events never reached the receiver`);
    if (tightest < 1000 - (options.toleranceMs ?? 0)) {
      failures.push(
        `${busiest.count} arrivals within one sliding second (limit ${limit}); the tightest ${limit + 1} consecutive arrivals spanned ${tightest} ms${options.toleranceMs ? ` (tolerance ${options.toleranceMs} ms)` : ''}`,
      );
    }
    if (arrivals.some((a) => !a.eventId || !ids.has(a.eventId))) failures.push('the limited webhook got requests for other events');
    if (sending < 2) failures.push(`only ${sending} worker(s) delivered during the drill: the limit was not shared`);
    return {
      name: `a webhook limited to ${limit}/s across ${workers.length} workers, beside a steady load`,
      facts: [
        ['limited events', `${ids.size} accepted at once; ${arrivals.length} arrived`],
        ['most arrivals in any sliding second (at a receiver in its own process)', `${busiest.count} (limit ${limit})`],
        [`tightest ${limit + 1} consecutive arrivals`, `${tightest} ms (from ${seconds(tightestAt)} after the first arrival)`],
        [`tightest ${limit + 1} consecutive attempt starts (workers' clocks, after the limiter's yes)`, `${Math.round(tightestStart)} ms`],
        ['first to last arrival', `${seconds(spanMs)} (the limit allows ${seconds(ideal)} at best)`],
        ['workers that delivered during the drill', `${sending} of ${workers.length}`],
        ['deferrals by the limiter (all workers)', deferrals],
        ['steady load beside it', `${options.steadyRate ?? 50} events/s to another webhook`],
      ],
      failures,
    };
  } finally {
    await client.close();
    recorder.stop();
  }
}

/**
 * Four relays racing: events for three webhooks, singles through both gateways and batches, while
 * every worker's relay is woken by each commit. Every (event, webhook) pair must have exactly one
 * delivery row, every event all three, and at the receiver each pair one webhook-id, once.
 */
export async function fanOutDrill(set: ReplicaSet, options: { singles: number; batches: number; batchSize?: number }): Promise<DrillReport> {
  const type = 'bb.pipeline.failed';
  const paths = ['/fan/a', '/fan/b', '/fan/c'];
  const hooks = await Promise.all(paths.map((p, i) => set.webhook(`fan-${i}-${Date.now()}`, p, [type])));
  const client = new IntakeClient(set.gatewayUrls(), set.project);
  try {
    const workers = set.workers();
    const relayedBefore = await Promise.all(workers.map((w) => metricSum(set.app(w).url, 'herald_outbox_relayed_total', 'kind="event"').catch(() => 0)));
    const size = options.batchSize ?? 100;
    const batchIds: string[] = [];
    const batches = Promise.all(
      Array.from({ length: options.batches }, async (_, b) => {
        const res = await new TestClient(set.gatewayUrls()[b % 2], TEST_ADMIN_TOKEN).post(
          `/v1/projects/${set.project}/events/batch`,
          Array.from({ length: size }, (_, i) => ({ type, title: `fan batch ${b}.${i}` })),
        );
        if (res.status !== 202) throw new Error(`batch ${b}: ${res.status} ${res.text}`);
        batchIds.push(...(res.body.items as Array<{ id: string }>).map((i) => i.id));
      }),
    );
    const singles = await client.burst(options.singles, 40, type, 'fan');
    await batches;
    const ids = new Set([...singles, ...batchIds]);
    const waits = await Promise.all(paths.map((p) => set.awaitDelivery(ids, 120_000, p)));
    const missing = waits.reduce((n, w) => n + w.missing.length, 0);
    const [pairs] = await set.query<{ doubled: number; events: number; short: number }>(
      `SELECT count(*) FILTER (WHERE n > 1)::int AS doubled,
              count(DISTINCT event_id)::int AS events,
              (SELECT count(*)::int FROM (SELECT event_id FROM deliveries WHERE event_id = ANY($1::uuid[]) GROUP BY event_id HAVING count(*) <> $3) s) AS short
         FROM (SELECT event_id, webhook_id, count(*) AS n FROM deliveries
                WHERE event_id = ANY($1::uuid[]) AND webhook_id = ANY($2::uuid[]) GROUP BY event_id, webhook_id) p`,
      [[...ids], hooks, hooks.length],
    );
    let twice = 0;
    let mixed = 0;
    for (const p of paths) {
      for (const d of repeats(set, ids, p)) {
        twice++;
        if (d.webhookIds.size > 1) mixed++;
      }
    }
    const relayedAfter = await Promise.all(workers.map((w) => metricSum(set.app(w).url, 'herald_outbox_relayed_total', 'kind="event"').catch(() => 0)));
    const relayed = relayedAfter.map((n, i) => n - relayedBefore[i]);
    const failures: string[] = [];
    if (client.errors.length) failures.push(`the client saw ${client.errors.length} errors, e.g. ${client.errors.slice(0, 3).join(' | ')}`);
    if (ids.size !== options.singles + options.batches * size)
      failures.push(`only ${ids.size} of ${options.singles + options.batches * size} events were accepted`);
    if (pairs.doubled) failures.push(`${pairs.doubled} (event, webhook) pairs have more than one delivery`);
    if (pairs.short) failures.push(`${pairs.short} events do not have exactly ${hooks.length} deliveries`);
    if (missing) failures.push(`${missing} deliveries never reached the receiver`);
    if (twice) failures.push(`${twice} (event, webhook) pairs arrived more than once (${mixed} with different webhook-ids)`);
    if (relayed.filter((n) => n > 0).length < 2)
      failures.push(`only ${relayed.filter((n) => n > 0).length} relay(s) fanned events out: the relays did not race`);
    return {
      name: `${workers.length} relays fanning out the same outbox`,
      facts: [
        [
          'events',
          `${ids.size} (${singles.length} singles through both gateways at 40 at a time, ${options.batches} batches of ${size}), each for ${hooks.length} webhooks`,
        ],
        ['events fanned out by each relay', relayed.join(', ')],
        ['deliveries per (event, webhook) above one', pairs.doubled],
        [`events without exactly ${hooks.length} deliveries`, pairs.short],
        ['deliveries that never arrived', missing],
        ['(event, webhook) pairs that arrived twice', twice],
      ],
      failures,
    };
  } finally {
    await client.close();
  }
}
