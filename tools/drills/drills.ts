import { Client } from 'pg';
import { TEST_ADMIN_TOKEN, stopApp, freePort, eventually } from '@herald/testing';
import { DrillCluster, awaitDelivery, burst, duplicates, summarize } from './harness';
import { PrivatePostgres, PrivateRedis } from '../support/services';

/** What a drill found; `failures` empty means it passed. */
export interface DrillReport {
  name: string;
  facts: Array<[string, string | number]>;
  failures: string[];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function withServices<T>(persistentRedis: boolean, fn: (pg: PrivatePostgres, redis: PrivateRedis) => Promise<T>): Promise<T> {
  const pg = await PrivatePostgres.create();
  const redis = await PrivateRedis.create(persistentRedis);
  try {
    return await fn(pg, redis);
  } finally {
    await redis.destroy();
    await pg.destroy();
  }
}

/**
 * Drill 7: the worker is killed with SIGKILL `kills` times during a burst. Every accepted event
 * must reach the receiver at least once; duplicates may only come from what was in flight.
 */
export async function killWorkerDrill(options: { events: number; kills: number; concurrency?: number }): Promise<DrillReport> {
  return withServices(true, async (pg, redis) => {
    const cluster = await DrillCluster.start({ databaseUrl: pg.url, redisUrl: redis.url });
    try {
      const inFlightLimit = Number(cluster.env.HERALD_WORKER_CONCURRENCY);
      let killed = 0;
      const killer = (async () => {
        while (killed < options.kills) {
          const threshold = Math.floor((options.events * (killed + 1)) / (options.kills + 1));
          await eventually(() => cluster.receiver.requests.length >= threshold, 120_000, `receiver reached ${threshold}`);
          await stopApp(cluster.app('delivery-worker-0'), 'SIGKILL');
          killed++;
          await cluster.startApp('delivery-worker', await freePort(), 'delivery-worker-0');
        }
      })();
      const sent = await burst(cluster.admin, cluster.project, options.events, options.concurrency ?? 20);
      await killer;
      const { missing, waitedMs } = await awaitDelivery(cluster, sent.accepted, 120_000);
      const dupes = duplicates(cluster, sent.accepted);
      const failures: string[] = [];
      if (sent.accepted.length !== options.events)
        failures.push(`only ${sent.accepted.length} of ${options.events} events were accepted (${summarize(sent.statuses)})`);
      if (missing.length) failures.push(`${missing.length} accepted events never reached the receiver`);
      if (dupes > killed * inFlightLimit) failures.push(`${dupes} duplicates exceed what can be in flight (${killed} kills × ${inFlightLimit})`);
      return {
        name: 'worker killed with SIGKILL during a burst',
        facts: [
          ['events accepted', sent.accepted.length],
          ['worker kills', killed],
          ['delivered', sent.accepted.length - missing.length],
          ['duplicates', dupes],
          ['duplicate bound (kills × worker concurrency)', killed * inFlightLimit],
          ['time from end of burst to last delivery', `${(waitedMs / 1000).toFixed(1)} s`],
        ],
        failures,
      };
    } finally {
      await cluster.stop();
    }
  });
}

/**
 * Drill 8: Redis is killed and restarted during a burst. Intake keeps answering 2xx (the outbox
 * holds the work), every accepted event is delivered once Redis is back, and no process is wedged.
 */
export async function redisRestartDrill(options: { events: number; downMs: number; persistent: boolean; concurrency?: number }): Promise<DrillReport> {
  return withServices(options.persistent, async (pg, redis) => {
    const cluster = await DrillCluster.start({ databaseUrl: pg.url, redisUrl: redis.url });
    try {
      let outage: Promise<void> | undefined;
      const sent = await burst(cluster.admin, cluster.project, options.events, options.concurrency ?? 20, (n) => {
        if (n === Math.floor(options.events / 3) && !outage) {
          outage = (async () => {
            await redis.stop();
            await sleep(options.downMs);
            await redis.start();
          })();
        }
      });
      await outage;
      const { missing, waitedMs } = await awaitDelivery(cluster, sent.accepted, 120_000);
      // Each process reconnects on its own backoff (at most 2 s apart); ready within 15 s is the bar.
      let ready: number[] = [];
      await eventually(
        async () => {
          ready = await Promise.all([...cluster.apps.values()].map(async (app) => (await fetch(`${app.url}/readyz`)).status));
          return ready.every((s) => s === 200) || undefined;
        },
        15_000,
        'apps ready again',
      ).catch(() => undefined);
      const failures: string[] = [];
      const non2xx = [...sent.statuses.entries()].filter(([s]) => s !== 202);
      if (non2xx.length) failures.push(`intake answered other than 202 while Redis was down: ${summarize(new Map(non2xx))}`);
      if (missing.length) failures.push(`${missing.length} accepted events never reached the receiver`);
      if (ready.some((s) => s !== 200)) failures.push(`not every app was ready within 15 s of Redis returning: ${ready.join(', ')}`);
      return {
        name: `Redis killed for ${options.downMs / 1000} s during a burst (${options.persistent ? 'append-only file kept' : 'all Redis data lost'})`,
        facts: [
          ['events sent', options.events],
          ['answers', summarize(sent.statuses)],
          ['delivered', sent.accepted.length - missing.length],
          ['duplicates', duplicates(cluster, sent.accepted)],
          ['time from end of burst to last delivery', `${(waitedMs / 1000).toFixed(1)} s`],
          ['apps ready afterwards', ready.every((s) => s === 200) ? 'yes' : 'no'],
        ],
        failures,
      };
    } finally {
      await cluster.stop();
    }
  });
}

/**
 * Drill 9: Postgres crashes (immediate stop) during a burst. Intake answers 503 with Retry-After
 * and never 2xx-then-lost; after restart everything accepted is delivered and every app reports
 * ready again without being restarted.
 */
export async function postgresStopDrill(options: { events: number; downMs: number; concurrency?: number }): Promise<DrillReport> {
  return withServices(true, async (pg, redis) => {
    const cluster = await DrillCluster.start({ databaseUrl: pg.url, redisUrl: redis.url });
    try {
      let outage: Promise<void> | undefined;
      let readyDuringOutage: number[] = [];
      const sent = await burst(cluster.admin, cluster.project, options.events, options.concurrency ?? 20, (n) => {
        if (n === Math.floor(options.events / 3) && !outage) {
          outage = (async () => {
            await pg.stop('immediate');
            await sleep(Math.min(1000, options.downMs / 2));
            readyDuringOutage = await Promise.all([...cluster.apps.values()].map(async (app) => (await fetch(`${app.url}/readyz`)).status));
            await sleep(options.downMs - Math.min(1000, options.downMs / 2));
            await pg.start();
          })();
        }
      });
      await outage;
      const { missing, waitedMs } = await awaitDelivery(cluster, sent.accepted, 120_000);
      const ready = await eventually(
        async () => {
          const states = await Promise.all([...cluster.apps.values()].map(async (app) => (await fetch(`${app.url}/readyz`)).status));
          return states.every((s) => s === 200) ? states : undefined;
        },
        30_000,
        'apps ready again',
      ).catch(() => null);
      const failures: string[] = [];
      const unexpected = [...sent.statuses.keys()].filter((s) => s !== 202 && s !== 503);
      if (unexpected.length) failures.push(`unexpected answers: ${summarize(sent.statuses)}`);
      if ((sent.statuses.get(503) ?? 0) === 0) failures.push('no request met the outage (it was too short to observe)');
      if (sent.refusedWithoutRetryAfter) failures.push(`${sent.refusedWithoutRetryAfter} answers of 503 had no Retry-After`);
      if (missing.length) failures.push(`${missing.length} events answered 2xx never reached the receiver`);
      if (!ready) failures.push('apps did not report ready again without a restart');
      if (readyDuringOutage.some((s) => s === 200)) failures.push(`an app reported ready while Postgres was down: ${readyDuringOutage.join(', ')}`);
      return {
        name: `Postgres crashed for ${options.downMs / 1000} s during a burst`,
        facts: [
          ['events sent', options.events],
          ['answers', summarize(sent.statuses)],
          ['503 without Retry-After', sent.refusedWithoutRetryAfter],
          ['accepted and delivered', `${sent.accepted.length - missing.length} of ${sent.accepted.length}`],
          ['/readyz during the outage', readyDuringOutage.join(', ')],
          ['apps ready again without restart', ready ? 'yes' : 'no'],
          ['time from end of burst to last delivery', `${(waitedMs / 1000).toFixed(1)} s`],
        ],
        failures,
      };
    } finally {
      await cluster.stop();
    }
  });
}

/**
 * Drill 10: the receiver is down (connections refused) for `downMs`, then up. Every delivery
 * arrives, within the schedule's total time, and none is marked dead while the schedule runs.
 */
export async function receiverDownDrill(options: { events: number; downMs: number; schedule: string }): Promise<DrillReport> {
  return withServices(true, async (pg, redis) => {
    const cluster = await DrillCluster.start({ databaseUrl: pg.url, redisUrl: redis.url, env: { HERALD_RETRY_SCHEDULE: options.schedule } });
    try {
      const scheduleMs = options.schedule.split(',').map((d) => {
        const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(d.trim());
        if (!m) throw new Error(`cannot read ${d}`);
        return Number(m[1]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] as 'ms' | 's' | 'm' | 'h'];
      });
      const budgetMs = scheduleMs.reduce((a, b) => a + b, 0) * 1.2 + 5000;
      await cluster.receiver.goDown();
      const started = Date.now();
      const sent = await burst(cluster.admin, cluster.project, options.events, 10);
      let deadSeen = 0;
      const watch = setInterval(() => {
        void cluster.admin.get(`/v1/projects/${cluster.project}/deliveries?status=dead&limit=1`).then((r) => {
          if (r.body?.items?.length) deadSeen++;
        });
      }, 500);
      await sleep(Math.max(0, options.downMs - (Date.now() - started)));
      await cluster.receiver.comeBack();
      const { missing } = await awaitDelivery(cluster, sent.accepted, budgetMs);
      clearInterval(watch);
      const lastArrival = Math.max(...cluster.receiver.requests.map((r) => r.at));
      const failures: string[] = [];
      if (missing.length) failures.push(`${missing.length} deliveries never arrived within the schedule`);
      if (deadSeen) failures.push('a delivery was marked dead while its schedule was still running');
      if (lastArrival - started > budgetMs) failures.push(`last arrival after ${lastArrival - started} ms, beyond the schedule (${budgetMs} ms)`);
      return {
        name: `receiver down for ${options.downMs / 1000} s, then up`,
        facts: [
          ['events', sent.accepted.length],
          ['retry schedule', options.schedule],
          ['delivered', sent.accepted.length - missing.length],
          ['last delivery after the first event', `${((lastArrival - started) / 1000).toFixed(1)} s`],
          ['schedule budget (sum × 1.2)', `${(budgetMs / 1000).toFixed(1)} s`],
          ['deliveries seen dead while retrying', deadSeen],
        ],
        failures,
      };
    } finally {
      await cluster.stop();
    }
  });
}

/**
 * Drill 11 (issue 10, 5b): the chain of faults after which a worker's relay once stalled for
 * minutes — malformed bodies, a Redis outage, a Postgres outage, `kill -9` of the worker mid-burst
 * and a new worker started by its own command, then single-event intake at full speed followed by
 * batches through the batch API. Every accepted event must be delivered within two minutes of the
 * last batch, the outbox must drain, and the new worker's /healthz must stay 200 throughout (its
 * watchdog would turn it 503 if the relay or a job stopped moving).
 */
export async function chainDrill(options: {
  malformed: number;
  outageMs: number;
  burst: number;
  single: number;
  batches: number;
  concurrency?: number;
}): Promise<DrillReport> {
  return withServices(true, async (pg, redis) => {
    const cluster = await DrillCluster.start({ databaseUrl: pg.url, redisUrl: redis.url });
    try {
      const gateway = cluster.app('api-gateway').url;
      const eventsUrl = `${gateway}/v1/projects/${cluster.project}/events`;
      const post = (url: string, body: string) =>
        fetch(url, { method: 'POST', headers: { authorization: `Bearer ${TEST_ADMIN_TOKEN}`, 'content-type': 'application/json' }, body }).then(
          async (res) => ({ status: res.status, body: res.status === 202 ? await res.json() : await res.text() }),
          () => ({ status: 0, body: null }),
        );

      const malformedAnswers = new Map<number, number>();
      for (let i = 0; i < options.malformed; i++) {
        const { status } = await post(eventsUrl, `{"type": "incident.create", "title": ${i % 2 ? '"unterminated' : '[1,'}`);
        malformedAnswers.set(status, (malformedAnswers.get(status) ?? 0) + 1);
      }
      await redis.stop();
      await sleep(options.outageMs);
      await redis.start();
      await pg.stop('immediate');
      await sleep(options.outageMs);
      await pg.start();
      await eventually(async () => (await fetch(`${cluster.app('ingestion').url}/readyz`)).status === 200, 30_000, 'ingestion ready after the outages');

      let killed = false;
      const first = await burst(cluster.admin, cluster.project, options.burst, options.concurrency ?? 20, (n) => {
        if (!killed && n >= options.burst / 2) {
          killed = true;
          void stopApp(cluster.app('delivery-worker-0'), 'SIGKILL');
        }
      });
      const worker = await cluster.startApp('delivery-worker', await freePort(), 'delivery-worker-1');
      const health = new Map<number, number>();
      const watch = setInterval(() => {
        void fetch(`${worker.url}/healthz`).then(
          (res) => health.set(res.status, (health.get(res.status) ?? 0) + 1),
          () => health.set(0, (health.get(0) ?? 0) + 1),
        );
      }, 1000);
      let maxBacklog = 0;
      const backlogWatch = setInterval(() => {
        void fetch(`${worker.url}/metrics`).then(
          async (res) => {
            const n = Number(/^herald_outbox_backlog ([\d.e+]+)/m.exec(await res.text())?.[1] ?? 0);
            maxBacklog = Math.max(maxBacklog, n);
          },
          () => undefined,
        );
      }, 2000);
      try {
        const single = await burst(cluster.admin, cluster.project, options.single, 50);
        const batched: string[] = [];
        for (let b = 0; b < options.batches; b++) {
          const items = Array.from({ length: 1000 }, (_, i) => ({ type: 'incident.create', title: `batch ${b}.${i}` }));
          const res = await post(`${eventsUrl}/batch`, JSON.stringify(items));
          if (res.status === 202) batched.push(...(res.body as { items: Array<{ id: string }> }).items.map((item) => item.id));
        }
        const accepted = [...first.accepted, ...single.accepted, ...batched];
        const { missing, waitedMs } = await awaitDelivery(cluster, accepted, 120_000);
        // Rows the killed worker had leased come back when their lease (30 s) ends.
        let backlog = -1;
        await eventually(
          async () => {
            [{ n: backlog }] = await withPgClient<{ n: number }>(pg.url, 'SELECT count(*)::int AS n FROM outbox');
            return backlog === 0 || undefined;
          },
          45_000,
          'outbox drained',
        ).catch(() => undefined);
        const failures: string[] = [];
        const malformedOk = [...malformedAnswers.keys()].every((s) => s === 400);
        if (!malformedOk) failures.push(`malformed bodies answered ${summarize(malformedAnswers)} (400 expected)`);
        if (batched.length !== options.batches * 1000) failures.push(`only ${batched.length} of ${options.batches * 1000} batched events were accepted`);
        if (missing.length) failures.push(`${missing.length} of ${accepted.length} accepted events were not delivered within 2 minutes of the last batch`);
        if (backlog) failures.push(`${backlog} outbox rows left`);
        if ([...health.keys()].some((s) => s !== 200)) failures.push(`the new worker's /healthz answered ${summarize(health)}`);
        return {
          name: 'malformed bodies, Redis and Postgres outages, kill -9 mid-burst, then intake at full speed and batches',
          facts: [
            ['malformed bodies', `${options.malformed}: ${summarize(malformedAnswers)}`],
            ['outages', `Redis ${options.outageMs / 1000} s, then Postgres ${options.outageMs / 1000} s`],
            ['burst with kill -9', `${first.accepted.length} of ${options.burst} accepted (${summarize(first.statuses)})`],
            ['single events at 50 connections', `${single.accepted.length} of ${options.single} accepted in ${(single.durationMs / 1000).toFixed(1)} s`],
            ['batched events', batched.length],
            ['largest outbox backlog seen by the new worker', maxBacklog],
            ['delivered', `${accepted.length - missing.length} of ${accepted.length}`],
            ['time from the last batch to the last delivery', `${(waitedMs / 1000).toFixed(1)} s`],
            ["new worker's /healthz", summarize(health)],
          ],
          failures,
        };
      } finally {
        clearInterval(watch);
        clearInterval(backlogWatch);
      }
    } finally {
      await cluster.stop();
    }
  });
}

async function withPgClient<T = Record<string, unknown>>(url: string, text: string): Promise<T[]> {
  const c = new Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query(text)).rows as T[];
  } finally {
    await c.end();
  }
}
