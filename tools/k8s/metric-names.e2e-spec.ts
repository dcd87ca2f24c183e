import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import IORedis from 'ioredis';
import { parseAllDocuments } from 'yaml';
import { QUEUES } from '@herald/contracts';
import {
  FakeReceiver,
  TestClient,
  TEST_ADMIN_TOKEN,
  TEST_REDIS_URL,
  createTestDatabase,
  deleteQueueKeys,
  eventually,
  freePort,
  startApp,
  stopApp,
  testEnv,
  uniqueQueuePrefix,
  type AppName,
  type RunningApp,
} from '@herald/testing';
import { K8S_DIR, dashboardQueries, exposition, promqlUse, type K8sObject } from './manifests';

/**
 * Every metric a dashboard panel, an alert or the worker autoscaler uses must exist (issue 12,
 * item 6): the three apps get real traffic that makes each kind of sample appear (deliveries that
 * succeed, die, hit a 410, wait for a rate limit, a job Redis lost and the reconciler re-queued),
 * their /metrics are scraped, and every PromQL expression is parsed with Prometheus' own grammar.
 */
describe('metric names of the dashboard, the alerts and the autoscaler', () => {
  const monitoring = join(K8S_DIR, 'components', 'monitoring');
  const dashboard = JSON.parse(readFileSync(join(monitoring, 'grafana-dashboard.json'), 'utf8'));
  const documents = (file: string) => parseAllDocuments(readFileSync(file, 'utf8')).map((d) => d.toJS() as K8sObject);
  const [rule] = documents(join(monitoring, 'prometheus-rule.yaml'));
  const scaledObject = documents(join(K8S_DIR, 'overlays', 'production', 'autoscaling.yaml')).find((o) => o.kind === 'ScaledObject') as K8sObject;
  const monitors = documents(join(monitoring, 'service-monitors.yaml'));

  const expressions = [
    ...dashboardQueries(dashboard),
    ...rule.spec.groups.flatMap((g: K8sObject) => g.rules.map((r: K8sObject) => ({ where: `alert ${r.alert}`, expr: r.expr as string }))),
    ...scaledObject.spec.triggers.map((t: { metadata: { query: string } }) => ({ where: 'ScaledObject delivery-worker', expr: t.metadata.query })),
  ];
  /** Labels Prometheus adds to every series of a ServiceMonitor target, not the apps. */
  const targetLabels = new Set([
    'namespace',
    'service',
    'pod',
    'container',
    'endpoint',
    'job',
    'instance',
    ...monitors.flatMap((m) => (m.spec.targetLabels ?? []).map((l: string) => l.replace(/[^a-zA-Z0-9_]/g, '_'))),
  ]);
  /** Series Prometheus itself makes for every target. */
  const synthetic = new Set(['up']);

  const receivers: Record<'ok' | 'gone' | 'failing' | 'limited', FakeReceiver> = {} as never;
  const apps: RunningApp[] = [];
  const scraped = new Map<AppName, string>();
  let prefix: string;

  beforeAll(async () => {
    for (const name of ['ok', 'gone', 'failing', 'limited'] as const) receivers[name] = await FakeReceiver.start();
    receivers.gone.setDefault({ status: 410 });
    receivers.failing.setDefault({ status: 500 });
    prefix = uniqueQueuePrefix();
    const ingestionPort = await freePort();
    const env = testEnv(await createTestDatabase(), prefix, {
      HERALD_INGESTION_URL: `http://127.0.0.1:${ingestionPort}`,
      HERALD_RETRY_SCHEDULE: '0s,100ms,100ms',
      HERALD_RECONCILE_EVERY_MS: '300',
      HERALD_RECONCILE_AFTER_MS: '500',
    });
    apps.push(
      ...(await Promise.all([
        startApp('api-gateway', env, await freePort()),
        startApp('ingestion', env, ingestionPort),
        startApp('delivery-worker', env, await freePort()),
      ])),
    );
    const [gateway, ingestion, worker] = apps;
    const admin = new TestClient(gateway.url, TEST_ADMIN_TOKEN);
    expect((await admin.post('/v1/projects', { key: 'metrics', name: 'Metrics' })).status).toBe(201);
    const hook = async (receiver: FakeReceiver, event: string, extra: Record<string, unknown> = {}) => {
      const res = await admin.post('/v1/projects/metrics/webhooks', { name: event, type: 'custom', url: `${receiver.url}/hook`, events: [event], ...extra });
      expect(res.status).toBe(201);
    };
    await hook(receivers.ok, 'bb.issue.create');
    await hook(receivers.gone, 'bb.issue.comment.create');
    await hook(receivers.failing, 'incident.create');
    await hook(receivers.limited, 'bb.pipeline.failed', { rateLimit: { count: 1, perSeconds: 3600 } });

    const post = (type: string) => admin.post('/v1/projects/metrics/events', { type });
    for (const type of ['bb.issue.create', 'bb.issue.create', 'bb.issue.comment.create', 'incident.create', 'bb.pipeline.failed', 'bb.pipeline.failed']) {
      expect((await post(type)).status).toBe(202);
    }
    expect((await admin.post('/v1/projects/metrics/events', { type: 'no.such.type' })).status).toBe(400);
    const connection = await admin.post('/v1/projects/metrics/connections', { name: 'ci' });
    const devlake = await fetch(`${ingestion.url}/api/rest/plugins/webhook/connections/${connection.body.id}/deployments`, {
      method: 'POST',
      headers: { authorization: `Bearer ${connection.body.apiKey}` },
      body: JSON.stringify({ commit_sha: '015e3d3b', repo_url: 'https://github.com/acme/app' }),
    });
    expect(devlake.status).toBe(200);

    // The second rate-limited delivery waits an hour in Redis; lose its job, and the reconciler re-queues it.
    const waiting = await eventually(
      async () => {
        const list = await admin.get('/v1/projects/metrics/deliveries?eventType=bb.pipeline.failed');
        return list.body.items.find((d: { status: string; nextAttemptAt: string | null }) => d.status === 'pending' && d.nextAttemptAt);
      },
      15_000,
      'a delivery held by its rate limit',
    );
    const connectionRedis = new IORedis(TEST_REDIS_URL, { maxRetriesPerRequest: 3 });
    const queue = new Queue(QUEUES.deliver, { connection: connectionRedis, prefix });
    try {
      await queue.remove(waiting.id);
    } finally {
      await queue.close();
      connectionRedis.disconnect();
    }

    const sample = (text: string, pattern: RegExp) => pattern.test(text);
    await eventually(
      async () => {
        const text = await (await fetch(`${worker.url}/metrics`)).text();
        return (
          sample(text, /^herald_reconciled_total\{kind="delivery"\} [1-9]/m) &&
          sample(text, /^herald_deliveries_finished_total\{channel="custom",status="dead"\} [1-9]/m) &&
          sample(text, /^herald_webhooks_disabled_total\{reason="gone"\} [1-9]/m) &&
          sample(text, /^herald_rate_limit_deferrals_total\{[^}]*reason="limit"[^}]*\} [1-9]/m) &&
          sample(text, /^herald_queue_backlog\{queue="herald.deliver"\} \d/m) &&
          sample(text, /^herald_queue_jobs\{/m)
        );
      },
      30_000,
      'every kind of worker sample',
    );
    for (const app of apps) {
      await fetch(`${app.url}/readyz`);
      scraped.set(app.name, await (await fetch(`${app.url}/metrics`)).text());
    }
  }, 120_000);

  afterAll(async () => {
    await Promise.all(apps.map((app) => stopApp(app)));
    await Promise.all(Object.values(receivers).map((r) => r?.stop()));
    await deleteQueueKeys(prefix);
  });

  it('parses every expression with the PromQL grammar', () => {
    expect(expressions.length).toBeGreaterThan(25);
    expect(expressions.map(({ where, expr }) => ({ where, error: promqlUse(expr).error })).filter((e) => e.error)).toEqual([]);
  });

  it('uses only metrics the three apps export, each with samples after real traffic, and labels those samples carry', () => {
    const exported = new Set<string>();
    const labels = new Map<string, Set<string>>();
    for (const text of scraped.values()) {
      const found = exposition(text);
      found.samples.forEach((n) => exported.add(n));
      for (const [name, set] of found.labels) labels.set(name, new Set([...(labels.get(name) ?? []), ...set]));
    }
    const problems: string[] = [];
    for (const { where, expr } of expressions) {
      const use = promqlUse(expr);
      for (const metric of use.metrics) {
        if (synthetic.has(metric)) continue;
        if (!exported.has(metric)) {
          problems.push(`${where}: ${metric} is not exported by api-gateway, ingestion or delivery-worker`);
          continue;
        }
        const seen = labels.get(metric);
        if (!seen) {
          problems.push(`${where}: ${metric} had no sample after the traffic`);
          continue;
        }
        for (const label of use.labels.get(metric) ?? []) {
          if (!targetLabels.has(label) && !seen.has(label))
            problems.push(`${where}: ${metric} has no label ${label} (it has ${[...seen].join(', ') || 'none'})`);
        }
      }
    }
    expect(problems).toEqual([]);
  });

  it('would notice a metric the apps do not export', () => {
    const use = promqlUse('sum by (channel) (rate(herald_deliveries_sent_total{namespace="$namespace"}[$__rate_interval]))');
    expect(use.error).toBeNull();
    const exported = new Set([...scraped.values()].flatMap((text) => [...exposition(text).samples]));
    expect([...use.metrics].filter((m) => !exported.has(m))).toEqual(['herald_deliveries_sent_total']);
  });
});
