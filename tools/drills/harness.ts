import {
  FakeReceiver,
  TestClient,
  TEST_ADMIN_TOKEN,
  freePort,
  startApp,
  stopApp,
  testEnv,
  uniqueQueuePrefix,
  type AppName,
  type RunningApp,
} from '@herald/testing';

/** The three apps against the given Postgres and Redis, plus a receiver and a custom webhook. */
export class DrillCluster {
  readonly apps = new Map<string, RunningApp>();
  receiver!: FakeReceiver;
  admin!: TestClient;
  env!: Record<string, string>;
  project = 'drill';

  static async start(options: { databaseUrl: string; redisUrl: string; env?: Record<string, string>; workers?: number }): Promise<DrillCluster> {
    const cluster = new DrillCluster();
    cluster.receiver = await FakeReceiver.start();
    const ingestionPort = await freePort();
    cluster.env = testEnv(options.databaseUrl, uniqueQueuePrefix(), {
      REDIS_URL: options.redisUrl,
      HERALD_INGESTION_URL: `http://127.0.0.1:${ingestionPort}`,
      HERALD_JOB_LOCK_MS: '3000',
      HERALD_STALLED_INTERVAL_MS: '1000',
      HERALD_DB_POOL_SIZE: '10',
      HERALD_WORKER_CONCURRENCY: '50',
      // The reconciler re-queues work Redis lost after 10 s here (5 min by default), so a drill
      // that wipes Redis sees it recovered within the drill.
      HERALD_RECONCILE_EVERY_MS: '2000',
      HERALD_RECONCILE_AFTER_MS: '10000',
      ...options.env,
    });
    await cluster.startApp('ingestion', ingestionPort);
    await cluster.startApp('api-gateway', await freePort());
    for (let i = 0; i < (options.workers ?? 1); i++) await cluster.startApp('delivery-worker', await freePort(), `delivery-worker-${i}`);
    cluster.admin = new TestClient(cluster.app('api-gateway').url, TEST_ADMIN_TOKEN);
    const project = await cluster.admin.post('/v1/projects', { key: cluster.project, name: 'Drill' });
    if (project.status !== 201) throw new Error(`cannot create the drill project: ${project.status} ${project.text}`);
    const hook = await cluster.admin.post(`/v1/projects/${cluster.project}/webhooks`, {
      name: 'receiver',
      type: 'custom',
      url: `${cluster.receiver.url}/hook`,
      events: ['incident.create'],
    });
    if (hook.status !== 201) throw new Error(`cannot create the drill webhook: ${hook.status} ${hook.text}`);
    return cluster;
  }

  async startApp(name: AppName, port: number, label: string = name): Promise<RunningApp> {
    const app = await startApp(name, this.env, port, 60_000);
    this.apps.set(label, app);
    return app;
  }

  app(label: string): RunningApp {
    const app = this.apps.get(label);
    if (!app) throw new Error(`no app ${label}`);
    return app;
  }

  /** Event ids the receiver has seen, with how many times each. */
  received(): Map<string, number> {
    const counts = new Map<string, number>();
    for (const r of this.receiver.requests) {
      try {
        const id = (JSON.parse(r.body) as { event_id?: string }).event_id;
        if (id) counts.set(id, (counts.get(id) ?? 0) + 1);
      } catch {
        // not one of ours
      }
    }
    return counts;
  }

  async stop(): Promise<void> {
    await Promise.all([...this.apps.values()].map((app) => stopApp(app, 'SIGKILL')));
    await this.receiver.stop();
  }
}

export interface BurstResult {
  accepted: string[];
  statuses: Map<number, number>;
  refusedWithoutRetryAfter: number;
  durationMs: number;
}

/**
 * Posts `count` single events with `concurrency` clients through the gateway. Every answer is
 * counted; a 2xx id is recorded as accepted (it must then be delivered), a 503 must carry
 * Retry-After, and nothing else is expected.
 */
export async function burst(admin: TestClient, project: string, count: number, concurrency: number, onProgress?: (sent: number) => void): Promise<BurstResult> {
  const accepted: string[] = [];
  const statuses = new Map<number, number>();
  let refusedWithoutRetryAfter = 0;
  let next = 0;
  const started = Date.now();
  const client = async () => {
    while (next < count) {
      const n = ++next;
      let status: number;
      try {
        const res = await admin.post(`/v1/projects/${project}/events`, { type: 'incident.create', title: `drill ${n}` });
        status = res.status;
        if (status === 202) accepted.push(res.body.id);
        if (status === 503 && !res.headers.get('retry-after')) refusedWithoutRetryAfter++;
      } catch {
        status = 0; // connection refused or reset: nothing was acknowledged
      }
      statuses.set(status, (statuses.get(status) ?? 0) + 1);
      onProgress?.(n);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, client));
  return { accepted, statuses, refusedWithoutRetryAfter, durationMs: Date.now() - started };
}

/** Waits until every accepted id reached the receiver; returns the ones still missing at the deadline. */
export async function awaitDelivery(cluster: DrillCluster, accepted: string[], timeoutMs: number): Promise<{ missing: string[]; waitedMs: number }> {
  const started = Date.now();
  let missing = accepted;
  while (Date.now() - started < timeoutMs) {
    const seen = cluster.received();
    missing = accepted.filter((id) => !seen.has(id));
    if (missing.length === 0) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  return { missing, waitedMs: Date.now() - started };
}

export function duplicates(cluster: DrillCluster, accepted: string[]): number {
  const seen = cluster.received();
  return accepted.reduce((n, id) => n + Math.max(0, (seen.get(id) ?? 0) - 1), 0);
}

export function summarize(statuses: Map<number, number>): string {
  return [...statuses.entries()]
    .sort(([a], [b]) => a - b)
    .map(([s, n]) => `${s === 0 ? 'no answer' : s}×${n}`)
    .join(', ');
}
