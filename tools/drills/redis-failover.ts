import { Client } from 'pg';
import { RedisSentinelServers, eventually, metricSum } from '@herald/testing';
import { PrivatePostgres } from '../support/services';
import type { DrillReport } from './drills';
import { DrillCluster, awaitDelivery, burst, duplicates, summarize } from './harness';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * The longest stretch without an arrival at the receiver from `from` on (arrivals before `from`
 * are the start of the first gap): how long deliveries paused around the failover.
 */
export function longestPause(arrivals: number[], from: number): { startMs: number; endMs: number } {
  const times = arrivals.filter((t) => t >= from).sort((a, b) => a - b);
  let best = { startMs: from, endMs: times[0] ?? from };
  let previous = from;
  for (const t of times) {
    if (t - previous > best.endMs - best.startMs) best = { startMs: previous, endMs: t };
    previous = t;
  }
  return best;
}

/**
 * Issue 13, item 2: Herald on a primary, a replica and three sentinels (with passwords on both),
 * two workers. In the middle of a burst of `events`, the replica falls `lagMs` behind (its
 * replication link stalls, so what the primary takes meanwhile is never replicated) and the
 * primary is killed with SIGKILL; the sentinels promote the replica and Herald follows without a
 * restart. Every accepted event must reach the receiver (jobs the new primary never got come back
 * through the reconciler, at once: the workers see another server), both workers must deliver
 * again afterwards (none wedged on a dead connection, Svix #1844), and every app must be ready
 * again. Reports how long deliveries paused.
 */
export async function sentinelFailoverDrill(options: {
  events: number;
  lagMs: number;
  concurrency?: number;
  receiverDelayMs?: number;
  /** How long the burst may take to arrive after the failover before the drill reports what is missing. */
  deliveryWaitMs?: number;
}): Promise<DrillReport> {
  const pg = await PrivatePostgres.create();
  let servers: RedisSentinelServers | undefined;
  let cluster: DrillCluster | undefined;
  try {
    servers = await RedisSentinelServers.start({ password: 'data-secret-0123', sentinelPassword: 'sentinel-secret-0123' });
    const set = servers;
    cluster = await DrillCluster.start({
      databaseUrl: pg.url,
      redisUrl: '',
      workers: 2,
      env: {
        ...set.env(),
        // The production defaults (the harness shortens them for its data-loss drill): the jobs the
        // new primary lacks must come back because the workers see another server, at once, not
        // through the regular passes 5 minutes later.
        HERALD_RECONCILE_EVERY_MS: '60000',
        HERALD_RECONCILE_AFTER_MS: '300000',
        // With a receiver answering in 50 ms, 2 × 10 slots deliver about 400 a second: slower than
        // intake, so jobs wait in Redis when the primary dies.
        HERALD_WORKER_CONCURRENCY: '10',
      },
    });
    const drill = cluster;
    drill.receiver.setDefault({ status: 200, body: 'ok', delayMs: options.receiverDelayMs ?? 50 });
    // A limit never reached (10 000 a second), so every send asks the shared limiter in Redis, as
    // every chat webhook's does (their platforms' limits).
    const hooks = await drill.admin.get(`/v1/projects/${drill.project}/webhooks`);
    for (const hook of hooks.body.items as Array<{ id: string }>) {
      const patched = await drill.admin.patch(`/v1/projects/${drill.project}/webhooks/${hook.id}`, { rateLimit: { count: 10_000, perSeconds: 1 } });
      if (patched.status !== 200) throw new Error(`cannot set the webhook's limit: ${patched.status} ${patched.text}`);
    }
    const workers = [drill.app('delivery-worker-0'), drill.app('delivery-worker-1')];
    const delivered = () => Promise.all(workers.map((w) => metricSum(w.url, 'herald_deliveries_total', 'outcome="delivered"')));

    let failover: Promise<{ killedAt: number; promotedAt: number }> | undefined;
    const sent = await burst(drill.admin, drill.project, options.events, options.concurrency ?? 20, (n) => {
      if (n === Math.floor(options.events / 2) && !failover) {
        failover = (async () => {
          await set.stallReplication();
          await sleep(options.lagMs);
          const killed = await set.killPrimary();
          const promotedAt = await set.waitForPromotion(killed.port, 60_000);
          return { killedAt: killed.at, promotedAt };
        })();
      }
    });
    if (!failover) throw new Error('the burst ended before the failover started');
    const { killedAt, promotedAt } = await failover;
    const afterFailover = await delivered();
    const { missing, waitedMs } = await awaitDelivery(drill, sent.accepted, options.deliveryWaitMs ?? 180_000);
    const lastArrival = Math.max(...drill.receiver.requests.map((r) => r.at));
    const pause = longestPause(
      drill.receiver.requests.map((r) => r.at),
      killedAt,
    );

    // After the failover: a second, small burst must be shared by both workers (neither is wedged).
    const before = await delivered();
    const more = await burst(drill.admin, drill.project, 200, 10);
    const moreMissing = (await awaitDelivery(drill, more.accepted, 60_000)).missing;
    const perWorker = await eventually(
      async () => {
        const now = await delivered();
        const each = now.map((n, i) => n - before[i]);
        return each[0] + each[1] >= more.accepted.length ? each : undefined;
      },
      10_000,
      'the second burst counted',
    ).catch(async () => (await delivered()).map((n, i) => n - before[i]));

    const [ready, health] = await Promise.all([
      eventually(
        async () => {
          const states = await Promise.all([...drill.apps.values()].map(async (app) => (await fetch(`${app.url}/readyz`)).status));
          return states.every((s) => s === 200) ? states : undefined;
        },
        15_000,
        'apps ready',
      ).catch(() => null),
      Promise.all(workers.map(async (w) => (await fetch(`${w.url}/healthz`)).status)),
    ]);
    const reconciled = (await Promise.all(workers.map((w) => metricSum(w.url, 'herald_reconciled_total', 'kind="delivery"')))).reduce((a, b) => a + b, 0);
    const relayFailures = (await Promise.all(workers.map((w) => metricSum(w.url, 'herald_outbox_relay_pass_seconds_count', 'outcome="failed"')))).reduce(
      (a, b) => a + b,
      0,
    );
    const outbox = await outboxRows(pg.url);
    // The worker that walked after seeing the new server logs when it finished and what it re-queued.
    const logged = (text: string) =>
      workers.flatMap((w) =>
        w.output
          .join('')
          .split('\n')
          .filter((line) => line.includes(text))
          .map((line) => JSON.parse(line) as { time: number; deliveries: number }),
      );
    const walks = logged('Redis was replaced');
    // The second look, once the attempts in flight at the change have ended (given back or recorded).
    const secondWalks = logged('attempts in flight at the Redis server change have ended');

    const failures: string[] = [];
    if (sent.accepted.length !== options.events)
      failures.push(`only ${sent.accepted.length} of ${options.events} events were accepted (${summarize(sent.statuses)}): intake does not need Redis`);
    if (missing.length) failures.push(`${missing.length} accepted events never reached the receiver: ${await deliveryStates(pg.url, missing)}`);
    if (moreMissing.length) failures.push(`${moreMissing.length} events sent after the failover never reached the receiver`);
    if (perWorker.some((n) => n <= 0)) failures.push(`a worker delivered nothing after the failover (deliveries per worker: ${perWorker.join(', ')}): wedged`);
    if (!ready) failures.push('not every app was ready again within 15 s');
    if (health.some((s) => s !== 200)) failures.push(`a worker's /healthz answered ${health.join(', ')}`);
    if (outbox) failures.push(`${outbox} outbox rows left`);
    if (walks.length !== 1) failures.push(`${walks.length} workers walked the unfinished deliveries after the failover (one expected)`);

    const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
    return {
      name: `Sentinel failover: the primary killed with SIGKILL mid-burst, its replica ${options.lagMs} ms behind`,
      facts: [
        ['events accepted', `${sent.accepted.length} of ${options.events} (${summarize(sent.statuses)})`],
        ['servers', 'primary + replica + 3 sentinels (quorum 2, down-after 1 s), passwords on data nodes and sentinels'],
        ['replica behind the primary at the kill', `${options.lagMs} ms (its replication link stalled, then dropped with the primary)`],
        [
          'workers',
          `2 × 10 jobs at a time; receiver answering in ${options.receiverDelayMs ?? 50} ms; webhook limited to 10 000/s (every send asks the limiter in Redis)`,
        ],
        ['kill → sentinel promoted the replica', s(promotedAt - killedAt)],
        [
          'longest pause in deliveries after the kill',
          `${s(pause.endMs - pause.startMs)} (from ${s(pause.startMs - killedAt)} to ${s(pause.endMs - killedAt)} after the kill)`,
        ],
        ['delivered', `${sent.accepted.length - missing.length} of ${sent.accepted.length}`],
        ['reconciler settings', 'production defaults: a pass every 60 s, deliveries unchanged for 5 min'],
        ['deliveries re-queued by the reconciler (jobs the new primary never got)', reconciled],
        ['walk after the new server was seen', walks.map((w) => `${w.deliveries} re-queued, done ${s(w.time - killedAt)} after the kill`).join('; ') || 'none'],
        [
          'second walk, once the attempts in flight at the change had ended',
          secondWalks.map((w) => `${w.deliveries} re-queued, done ${s(w.time - killedAt)} after the kill`).join('; ') || 'none',
        ],
        ['relay passes that failed (given back, retried)', relayFailures],
        ['duplicates (same webhook-id, at least once)', duplicates(drill, sent.accepted)],
        ['kill → last delivery', s(lastArrival - killedAt)],
        ['time from end of burst to last delivery', s(waitedMs)],
        ['delivered per worker at the promotion', afterFailover.join(', ')],
        ['second burst after the failover, per worker', `${perWorker.join(', ')} (of ${more.accepted.length})`],
        ['apps ready afterwards without restart', ready ? 'yes' : 'no'],
      ],
      failures,
    };
  } finally {
    await cluster?.stop();
    await servers?.stop();
    await pg.destroy();
  }
}

/** Where the deliveries of events that never arrived stand in Postgres, grouped (for a failed drill's report). */
async function deliveryStates(url: string, eventIds: string[]): Promise<string> {
  const c = new Client({ connectionString: url });
  await c.connect();
  try {
    const rows = await c.query<{ state: string; n: number }>(
      `SELECT coalesce(d.status, 'no delivery') || ', attempts ' || coalesce(d.attempt_count, 0)
              || CASE WHEN d.attempt_started_at IS NULL THEN '' ELSE ', attempt in progress' END
              || CASE WHEN o.id IS NULL THEN '' ELSE ', still in the outbox' END AS state,
              count(*)::int AS n
         FROM unnest($1::uuid[]) AS e(id)
         LEFT JOIN deliveries d ON d.event_id = e.id
         LEFT JOIN outbox o ON o.kind = 'event' AND o.ref = e.id
        GROUP BY 1 ORDER BY 2 DESC`,
      [eventIds],
    );
    return rows.rows.map((r) => `${r.n} × ${r.state}`).join('; ');
  } finally {
    await c.end();
  }
}

async function outboxRows(url: string): Promise<number> {
  const c = new Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query<{ n: number }>('SELECT count(*)::int AS n FROM outbox')).rows[0].n;
  } finally {
    await c.end();
  }
}
