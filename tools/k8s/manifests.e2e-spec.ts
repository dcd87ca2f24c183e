import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { loadConfig, type HeraldConfig } from '@herald/platform';
import {
  FakeReceiver,
  TestClient,
  TEST_PG_URL,
  TEST_REDIS_URL,
  databaseUrl,
  deleteQueueKeys,
  eventually,
  freePort,
  startApp,
  stopApp,
  uniqueQueuePrefix,
  withPg,
  type AppName,
  type RunningApp,
} from '@herald/testing';
import {
  K8S_DIR,
  ROOT,
  configVariables,
  dockerfileTargets,
  find,
  kubectlVersions,
  kustomizeTooOld,
  one,
  podTemplates,
  promqlUse,
  render,
  routeIngress,
  selects,
  validateObject,
  type K8sObject,
} from './manifests';

/**
 * Proof without a cluster (issue 12, item 7): both overlays rendered by kubectl's kustomize,
 * every object validated against its schema, the Deployment rules, the wiring between objects and
 * between the manifests and the apps (ports, probes, variables, Secret keys, Ingress routes), and
 * finally the dev overlay's configuration run as pods would run it, on this machine.
 */

const versions = kubectlVersions();
const APPS: Record<AppName, keyof Pick<HeraldConfig, 'gatewayPort' | 'ingestionPort' | 'workerPort'>> = {
  'api-gateway': 'gatewayPort',
  ingestion: 'ingestionPort',
  'delivery-worker': 'workerPort',
};
const APP_NAMES = Object.keys(APPS) as AppName[];
/** docs/contract.md §1.2: every app stops within 25 s of SIGTERM (libs/platform/src/http-app.ts). */
const SHUTDOWN_DEADLINE_S = 25;
const SECRET_NAME = 'herald';
const DOCS = readFileSync(join(ROOT, 'docs', 'kubernetes.md'), 'utf8');

/** The `kubectl create secret generic herald` command of a docs/kubernetes.md section, run with --dry-run: the Secret it creates. */
function documentedSecret(section: string): { command: string; data: Record<string, string> } {
  const start = DOCS.indexOf(`\n## ${section}\n`);
  if (start < 0) throw new Error(`docs/kubernetes.md has no "## ${section}" section`);
  const end = DOCS.indexOf('\n## ', start + 1);
  const lines = DOCS.slice(start, end < 0 ? undefined : end).split('\n');
  const first = lines.findIndex((l) => l.includes(`create secret generic ${SECRET_NAME}`));
  if (first < 0) throw new Error(`docs/kubernetes.md "${section}" shows no \`kubectl create secret generic ${SECRET_NAME}\``);
  const command: string[] = [];
  for (let i = first; i < lines.length; i++) {
    command.push(lines[i].trim().replace(/\\$/, ''));
    if (!lines[i].trimEnd().endsWith('\\')) break;
  }
  const text = command.join(' ');
  const out = spawnSync('bash', ['-c', `${text} --dry-run=client -o yaml`], { encoding: 'utf8' });
  if (out.status !== 0) throw new Error(`the documented command failed: ${text}\n${out.stderr}`);
  const secret = parseAllDocuments(out.stdout)[0].toJS() as K8sObject;
  expect(validateObject(secret)).toEqual([]);
  const data = Object.fromEntries(Object.entries(secret.data as Record<string, string>).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]));
  return { command: text, data };
}

function configMapData(objects: K8sObject[]): Record<string, string> {
  const maps = find(objects, 'ConfigMap').filter((c) => c.metadata.name.startsWith('herald-config'));
  expect(maps).toHaveLength(1);
  return maps[0].data;
}

const parseQuantity = (q: string | number): number => {
  const s = String(q);
  const units: Record<string, number> = { m: 1e-3, Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30 };
  const m = /^([\d.]+)(m|Ki|Mi|Gi)?$/.exec(s);
  if (!m) throw new Error(`unparsed quantity ${s}`);
  return Number(m[1]) * (m[2] ? units[m[2]] : 1);
};

/** The sizing table of docs/kubernetes.md: app → [cpu request, cpu limit, memory request, memory limit]. */
function documentedSizing(): Map<string, string[]> {
  const rows = new Map<string, string[]>();
  for (const line of DOCS.split('\n')) {
    const m = /^\| `([a-z-]+)` \| (\S+) \| (\S+) \| (\S+) \| (\S+) \|/.exec(line);
    if (m && APP_NAMES.includes(m[1] as AppName)) rows.set(m[1], m.slice(2, 6));
  }
  return rows;
}

describe(`Kubernetes manifests, rendered by kubectl ${versions.kubectl} with kustomize ${versions.kustomize}`, () => {
  const known = configVariables((env) => loadConfig(env));
  const secrets = { dev: documentedSecret('Try it on kind'), production: documentedSecret('Production') };

  it('renders with a kustomize that knows these kustomizations (v5)', () => {
    expect(kustomizeTooOld(versions)).toBeNull();
  });

  describe.each(['dev', 'production'] as const)('overlays/%s', (overlay) => {
    let objects: K8sObject[];
    let stderr: string;
    let env: Record<string, string>;
    let config: HeraldConfig;
    beforeAll(() => {
      ({ objects, stderr } = render(`overlays/${overlay}`));
      env = { ...configMapData(objects), ...secrets[overlay].data };
      config = loadConfig(env);
    });
    const deployment = (app: AppName) => one(objects, 'Deployment', app);

    it('renders without a warning', () => {
      expect(stderr).toBe('');
      expect(objects.length).toBeGreaterThan(5);
    });

    it('validates every object against the Kubernetes, KEDA and Prometheus Operator schemas, unknown fields included', () => {
      expect(objects.flatMap(validateObject)).toEqual([]);
      const namespaces = new Set(objects.filter((o) => o.kind !== 'Namespace').map((o) => o.metadata.namespace));
      expect([...namespaces]).toEqual(['herald']);
    });

    it('gives every Deployment its app image (a docker/Dockerfile target), envFrom one ConfigMap and the Secret, and no other variable', () => {
      const targets = dockerfileTargets();
      const configMaps = new Set(find(objects, 'ConfigMap').map((c) => c.metadata.name));
      for (const app of APP_NAMES) {
        const pod = deployment(app).spec.template.spec;
        expect(pod.containers).toHaveLength(1);
        const [container] = pod.containers;
        expect(container.image).toMatch(new RegExp(`(^|/)herald/${app}:[\\w.-]+$`));
        expect(targets.get(app)).toEqual(['node', `dist/apps/${app}/src/main.js`]);
        expect(existsSync(join(ROOT, `dist/apps/${app}/src/main.js`))).toBe(true);
        expect(container.command).toBeUndefined();
        expect(container.env).toBeUndefined();
        expect(container.envFrom).toHaveLength(2);
        expect(configMaps.has(container.envFrom[0].configMapRef.name)).toBe(true);
        expect(container.envFrom[0].configMapRef.name).toMatch(/^herald-config-/);
        expect(container.envFrom[1]).toEqual({ secretRef: { name: SECRET_NAME } });
        // Service links would add e.g. INGESTION_PORT=tcp://10.96.0.12:8081, which Herald reads as its port.
        expect(pod.enableServiceLinks).toBe(false);
        expect(pod.automountServiceAccountToken).toBe(false);
      }
    });

    it('probes /healthz (startup, liveness) and /readyz (readiness) on the port the app listens on', () => {
      for (const app of APP_NAMES) {
        const [container] = deployment(app).spec.template.spec.containers;
        const ports = container.ports as Array<{ name: string; containerPort: number }>;
        expect(ports).toEqual([{ name: 'http', containerPort: config[APPS[app]] }]);
        expect(container.startupProbe.httpGet).toEqual({ path: '/healthz', port: 'http' });
        expect(container.livenessProbe.httpGet).toEqual({ path: '/healthz', port: 'http' });
        expect(container.readinessProbe.httpGet).toEqual({ path: '/readyz', port: 'http' });
        // Readiness answers within the apps' 2 s per-dependency timeout; the probe waits longer.
        expect(container.readinessProbe.timeoutSeconds).toBeGreaterThan(2);
      }
    });

    it('sets requests and limits as docs/kubernetes.md "Sizing" says, requests within limits', () => {
      const sizing = documentedSizing();
      for (const app of APP_NAMES) {
        const { requests, limits } = deployment(app).spec.template.spec.containers[0].resources;
        expect([requests.cpu, limits.cpu, requests.memory, limits.memory].map(String)).toEqual(sizing.get(app));
        expect(parseQuantity(requests.cpu)).toBeLessThanOrEqual(parseQuantity(limits.cpu));
        expect(parseQuantity(requests.memory)).toBeLessThanOrEqual(parseQuantity(limits.memory));
      }
    });

    it('runs every Herald container non-root, read-only, without privilege escalation or capabilities, with the RuntimeDefault seccomp profile', () => {
      const herald = podTemplates(objects).filter((p) => p.labels['app.kubernetes.io/part-of'] === 'herald');
      expect(herald.map((p) => p.owner.metadata.name).sort()).toEqual(['api-gateway', 'delivery-worker', 'herald-migrate', 'ingestion']);
      for (const { spec } of herald) {
        expect(spec.securityContext).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
        // The image's user is `node` (uid 1000); runAsNonRoot cannot verify a user given by name.
        expect(spec.securityContext.runAsUser).toBe(1000);
        for (const c of spec.containers) {
          expect(c.securityContext).toEqual({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } });
        }
      }
    });

    it('gives each app a grace period its shutdown fits in (the worker: in-flight deliveries within HERALD_DELIVERY_TIMEOUT_MS)', () => {
      for (const app of APP_NAMES) {
        const pod = deployment(app).spec.template.spec;
        const preStop = pod.containers[0].lifecycle?.preStop?.exec?.command as string[] | undefined;
        const preStopSeconds = preStop ? Number(preStop[1]) : 0;
        expect(pod.terminationGracePeriodSeconds).toBeGreaterThan(preStopSeconds + SHUTDOWN_DEADLINE_S);
        expect(pod.terminationGracePeriodSeconds).toBeLessThanOrEqual(preStopSeconds + SHUTDOWN_DEADLINE_S + 10);
        // Apps behind a Service leave the endpoints before they stop listening.
        if (app !== 'delivery-worker') expect(preStop).toEqual(['sleep', '5']);
      }
      // An attempt may run up to a second past its timeout (docs/decisions.md), then it is recorded.
      expect(config.deliveryTimeoutMs / 1000 + 2).toBeLessThan(SHUTDOWN_DEADLINE_S);
    });

    it('spreads each app across nodes', () => {
      for (const app of APP_NAMES) {
        const { spec, metadata } = deployment(app).spec.template;
        const byHost = (spec.topologySpreadConstraints as K8sObject[]).find((c) => c.topologyKey === 'kubernetes.io/hostname');
        expect(byHost).toMatchObject({ maxSkew: 1, whenUnsatisfiable: 'DoNotSchedule' });
        expect(selects(byHost?.labelSelector, metadata.labels)).toBe(true);
      }
    });

    it('selects pods by labels that exist: Services, and every port they target is a container port', () => {
      const pods = podTemplates(objects);
      for (const service of find(objects, 'Service')) {
        const targets = pods.filter((p) => p.owner.kind !== 'Job' && selects(service.spec.selector, p.labels));
        expect(targets.map((t) => t.owner.metadata.name)).toEqual([service.metadata.name]);
        for (const port of service.spec.ports) {
          const containerPorts = targets[0].spec.containers.flatMap((c: K8sObject) => c.ports ?? []);
          const target = containerPorts.find((p: { name: string }) => p.name === port.targetPort);
          expect(target).toBeDefined();
          // Same number on both sides: HERALD_INGESTION_URL and the docs use the app's own port.
          expect(port.port).toBe(target.containerPort);
        }
      }
    });

    it('points the apps at Services that exist (ingestion, and in dev Postgres and Redis)', () => {
      const service = (url: string) => {
        const { hostname, port } = new URL(url);
        const found = find(objects, 'Service', hostname);
        return found.length === 1 && found[0].spec.ports.some((p: { port: number }) => String(p.port) === port);
      };
      expect(service(config.ingestionUrl)).toBe(true);
      if (overlay === 'dev') {
        expect(service(config.databaseUrl)).toBe(true);
        expect(service(config.redisUrl)).toBe(true);
      }
    });

    it('sets only variables the config schema knows, every required one, valid, and HERALD_MIGRATE_ON_START=false', () => {
      const names = Object.keys(env);
      expect(names.filter((n) => !known.has(n))).toEqual([]);
      expect(() => loadConfig(env)).not.toThrow();
      expect(configMapData(objects).HERALD_MIGRATE_ON_START).toBe('false');
      // Credentials are in the Secret, never in the ConfigMap.
      expect(Object.keys(configMapData(objects)).filter((n) => /TOKEN|KEY|AUTH|PASSWORD/.test(n))).toEqual([]);
      if (overlay === 'production') {
        expect(Object.keys(configMapData(objects))).not.toEqual(expect.arrayContaining(['DATABASE_URL']));
        expect(config.allowPrivateTargets).toBe(false);
      }
    });

    it('references only the documented Secret and its keys', () => {
      const documented = new Set(Object.keys(secrets[overlay].data));
      const refs: Array<{ name: string; key?: string }> = [];
      for (const { spec } of podTemplates(objects)) {
        for (const c of spec.containers) {
          for (const from of c.envFrom ?? []) if (from.secretRef) refs.push({ name: from.secretRef.name });
          for (const e of c.env ?? []) if (e.valueFrom?.secretKeyRef) refs.push(e.valueFrom.secretKeyRef);
        }
        for (const v of spec.volumes ?? []) if (v.secret) refs.push({ name: v.secret.secretName });
      }
      expect(refs.length).toBeGreaterThan(0);
      for (const ref of refs) {
        expect(ref.name).toBe(SECRET_NAME);
        if (ref.key) expect(documented.has(ref.key)).toBe(true);
      }
      expect(secrets[overlay].command).toContain('-n herald create secret generic herald');
    });

    it("runs the migrations Job from an app image, with the apps' configuration", () => {
      const job = one(objects, 'Job', 'herald-migrate');
      const [container] = job.spec.template.spec.containers;
      expect(container.image).toBe(deployment('api-gateway').spec.template.spec.containers[0].image);
      expect(container.command).toEqual(['node', 'dist/tools/migrate.js']);
      expect(existsSync(join(ROOT, 'dist/tools/migrate.js'))).toBe(true);
      expect(container.envFrom).toEqual(deployment('api-gateway').spec.template.spec.containers[0].envFrom);
      expect(job.spec.template.spec.restartPolicy).toBe('Never');
      expect(job.spec.backoffLimit).toBeGreaterThan(0);
    });

    if (overlay === 'dev') {
      it('runs one replica of each app, and Postgres and Redis as StatefulSets', () => {
        for (const app of APP_NAMES) expect(deployment(app).spec.replicas).toBe(1);
        expect(
          find(objects, 'StatefulSet')
            .map((s) => s.metadata.name)
            .sort(),
        ).toEqual(['postgres', 'redis']);
        expect(find(objects, 'Ingress')).toEqual([]);
      });
    }

    if (overlay === 'production') {
      it('leaves replicas to the autoscalers: HPA on CPU for gateway and ingestion, KEDA on the backlog for the worker, at least one worker always', () => {
        for (const app of APP_NAMES) expect(deployment(app).spec.replicas).toBeUndefined();
        expect(find(objects, 'StatefulSet')).toEqual([]);
        for (const app of ['api-gateway', 'ingestion']) {
          const hpa = one(objects, 'HorizontalPodAutoscaler', app);
          expect(hpa.spec.scaleTargetRef).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', name: app });
          expect(hpa.spec.metrics).toEqual([{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 70 } } }]);
          expect(hpa.spec.minReplicas).toBeGreaterThanOrEqual(2);
        }
        const scaled = one(objects, 'ScaledObject', 'delivery-worker');
        expect(scaled.spec.scaleTargetRef.name).toBe('delivery-worker');
        // The relay runs in the worker: zero workers would leave the outbox unread.
        expect(scaled.spec.minReplicaCount).toBeGreaterThanOrEqual(1);
        expect(scaled.spec.triggers).toHaveLength(1);
        const [trigger] = scaled.spec.triggers;
        expect(trigger.type).toBe('prometheus');
        const use = promqlUse(trigger.metadata.query);
        expect(use.error).toBeNull();
        expect([...use.metrics]).toEqual(['herald_queue_backlog']);
        expect(trigger.metadata.query).toContain(`namespace="${one(objects, 'Namespace', 'herald').metadata.name}"`);
        expect(trigger.metadata.query).toMatch(/^max\(/);
        // The alert "backlog rising at max workers" names the same maximum.
        const rule = one(objects, 'PrometheusRule', 'herald');
        const atMax = rule.spec.groups[0].rules.find((r: { alert: string }) => r.alert === 'HeraldQueueBacklogAtMaxWorkers');
        expect(atMax.expr).toContain(`count by (namespace) (herald_queue_backlog) >= ${scaled.spec.maxReplicaCount}`);
      });

      it('limits disruptions to one pod of each app at a time', () => {
        for (const app of APP_NAMES) {
          const pdb = one(objects, 'PodDisruptionBudget', app);
          expect(pdb.spec.maxUnavailable).toBe(1);
          expect(selects(pdb.spec.selector, deployment(app).spec.template.metadata.labels)).toBe(true);
        }
      });

      it('denies by default, admits ingestion and worker traffic only from the gateway, the Ingress controller and Prometheus, lets the worker reach DNS, Postgres, Redis and public addresses, and ingestion DNS and Postgres only', () => {
        const policies = find(objects, 'NetworkPolicy');
        for (const { labels, owner } of podTemplates(objects)) {
          const deny = policies.find((p) => selects(p.spec.podSelector, labels) && !p.spec.ingress && !p.spec.egress);
          expect([owner.metadata.name, deny?.spec.policyTypes]).toEqual([owner.metadata.name, ['Ingress', 'Egress']]);
        }
        const allowedPeer = (peer: K8sObject) =>
          (peer.podSelector?.matchLabels?.['app.kubernetes.io/name'] === 'api-gateway' && !peer.namespaceSelector) ||
          (peer.namespaceSelector?.matchLabels?.['kubernetes.io/metadata.name'] === 'ingress-nginx' && !peer.podSelector) ||
          (peer.namespaceSelector?.matchLabels?.['kubernetes.io/metadata.name'] === 'monitoring' &&
            peer.podSelector?.matchLabels?.['app.kubernetes.io/name'] === 'prometheus');
        for (const app of ['ingestion', 'delivery-worker'] as const) {
          const labels = deployment(app).spec.template.metadata.labels;
          const peers = policies
            .filter((p) => selects(p.spec.podSelector, labels))
            .flatMap((p) => (p.spec.ingress ?? []).flatMap((r: K8sObject) => r.from ?? [{ any: true }]));
          expect(peers.length).toBeGreaterThan(0);
          expect(peers.filter((peer) => !allowedPeer(peer))).toEqual([]);
        }
        const workerEgress = policies
          .filter((p) => selects(p.spec.podSelector, deployment('delivery-worker').spec.template.metadata.labels))
          .flatMap((p) => p.spec.egress ?? []);
        const ports = new Set(workerEgress.flatMap((r: K8sObject) => (r.ports ?? []).map((p: { port: number }) => p.port)));
        for (const port of [53, 5432, 6379]) expect(ports.has(port)).toBe(true);
        for (const url of [config.databaseUrl, config.redisUrl]) expect(ports.has(Number(new URL(url).port))).toBe(true);
        // Ingestion reaches Postgres but not Redis (it never needs it).
        const ingestionPorts = new Set(
          policies
            .filter((p) => selects(p.spec.podSelector, deployment('ingestion').spec.template.metadata.labels))
            .flatMap((p) => p.spec.egress ?? [])
            .flatMap((r: K8sObject) => (r.ports ?? [{ port: 'any' }]).map((p: { port: number | string }) => p.port)),
        );
        expect([...ingestionPorts].sort()).toEqual([53, 5432]);
        const internet = workerEgress.find((r: K8sObject) => !r.ports && r.to?.some((t: K8sObject) => t.ipBlock?.cidr === '0.0.0.0/0'));
        const except = internet?.to.find((t: K8sObject) => t.ipBlock?.cidr === '0.0.0.0/0').ipBlock.except;
        expect(except).toEqual(expect.arrayContaining(['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '169.254.0.0/16', '127.0.0.0/8', '100.64.0.0/10']));
      });

      it('scrapes each app with a ServiceMonitor, and ships the alerts and the dashboard', () => {
        for (const app of APP_NAMES) {
          const monitor = one(objects, 'ServiceMonitor', app);
          const service = one(objects, 'Service', app);
          expect(selects(monitor.spec.selector, service.metadata.labels)).toBe(true);
          expect(monitor.spec.endpoints).toEqual([expect.objectContaining({ port: 'http', path: '/metrics' })]);
          expect(service.spec.ports.map((p: { name: string }) => p.name)).toContain('http');
        }
        expect(one(objects, 'PrometheusRule', 'herald').spec.groups[0].rules.length).toBeGreaterThanOrEqual(6);
        const dashboard = one(objects, 'ConfigMap', 'herald-grafana-dashboard');
        expect(dashboard.metadata.labels).toMatchObject({ grafana_dashboard: '1' });
        expect(JSON.parse(dashboard.data['herald.json'])).toEqual(
          JSON.parse(readFileSync(join(K8S_DIR, 'components/monitoring/grafana-dashboard.json'), 'utf8')),
        );
      });

      it('routes the Ingress to Services and ports that exist', () => {
        const ingress = one(objects, 'Ingress', 'herald');
        for (const rule of ingress.spec.rules) {
          for (const p of rule.http.paths) {
            const service = one(objects, 'Service', p.backend.service.name);
            expect(service.spec.ports.map((x: { name: string }) => x.name)).toContain(p.backend.service.port.name);
          }
        }
        expect(ingress.spec.tls[0].hosts.sort()).toEqual(ingress.spec.rules.map((r: { host: string }) => r.host).sort());
      });
    }
  });

  it('validates the example receiver the walk-through applies', () => {
    const objects = parseAllDocuments(readFileSync(join(K8S_DIR, 'examples/receiver.yaml'), 'utf8')).map((d) => d.toJS() as K8sObject);
    expect(objects.flatMap(validateObject)).toEqual([]);
  });

  /**
   * The dev overlay's configuration as the pods get it, on this machine: the rendered ConfigMap and
   * the Secret the docs' command makes, with the in-cluster host names swapped for 127.0.0.1 (and
   * this test's own database, queue prefix and ports: one network namespace for three "pods").
   */
  describe('the dev overlay run like pods, without a cluster', () => {
    const { objects } = render('overlays/dev');
    const production = render('overlays/production').objects;
    const prefix = uniqueQueuePrefix();
    const dbName = `herald_test_${process.env.HERALD_TEST_RUN ?? 'adhoc'}_pods_${randomBytes(4).toString('hex')}`;
    const apps = new Map<AppName, RunningApp>();
    let env: Record<string, string>;
    let receiver: FakeReceiver;

    beforeAll(async () => {
      receiver = await FakeReceiver.start();
      const ports = { 'api-gateway': await freePort(), ingestion: await freePort(), 'delivery-worker': await freePort() };
      const local = (url: string, replacement: string) => {
        const u = new URL(url);
        expect(find(objects, 'Service', u.hostname)).toHaveLength(1);
        return replacement;
      };
      const pod = { ...configMapData(objects), ...secrets.dev.data };
      const postgres = new URL(TEST_PG_URL);
      env = {
        ...pod,
        DATABASE_URL: local(pod.DATABASE_URL, databaseUrl(dbName).replace(postgres.host, `127.0.0.1:${postgres.port || 5432}`)),
        REDIS_URL: local(pod.REDIS_URL, TEST_REDIS_URL),
        HERALD_INGESTION_URL: local(pod.HERALD_INGESTION_URL, `http://127.0.0.1:${ports.ingestion}`),
        HERALD_QUEUE_PREFIX: prefix,
        // The image's environment (docker/Dockerfile).
        NODE_ENV: 'production',
      };

      const [migrate] = one(objects, 'Job', 'herald-migrate').spec.template.spec.containers;
      const [command, ...args] = migrate.command as string[];
      expect(command).toBe('node');
      const run = spawnSync(process.execPath, args, { cwd: ROOT, env: { PATH: process.env.PATH, ...env }, encoding: 'utf8' });
      expect([run.status, run.stderr]).toEqual([0, '']);
      expect(run.stdout).toMatch(/^applied: /);

      for (const app of APP_NAMES) {
        const [container] = one(objects, 'Deployment', app).spec.template.spec.containers;
        expect(container.image).toMatch(new RegExp(`herald/${app}:`));
        apps.set(app, await startApp(app, env, ports[app]));
      }
    }, 120_000);

    afterAll(async () => {
      await Promise.all([...apps.values()].map((app) => stopApp(app)));
      await receiver?.stop();
      await deleteQueueKeys(prefix);
      await withPg((c) => c.query(`DROP DATABASE IF EXISTS "${dbName}" WITH (FORCE)`));
    });

    it("boots the three apps with HERALD_MIGRATE_ON_START=false after the Job's command, answering every probe path", async () => {
      expect(env.HERALD_MIGRATE_ON_START).toBe('false');
      for (const app of APP_NAMES) {
        const [container] = one(objects, 'Deployment', app).spec.template.spec.containers;
        for (const probe of [container.startupProbe, container.livenessProbe, container.readinessProbe]) {
          const res = await fetch(`${apps.get(app)?.url}${probe.httpGet.path}`);
          expect([app, probe.httpGet.path, res.status]).toEqual([app, probe.httpGet.path, 200]);
        }
      }
    });

    it('delivers one event', async () => {
      const admin = new TestClient(apps.get('api-gateway')?.url ?? '', env.HERALD_ADMIN_TOKEN);
      expect((await admin.post('/v1/projects', { key: 'pods', name: 'Pods' })).status).toBe(201);
      const hook = await admin.post('/v1/projects/pods/webhooks', {
        name: 'receiver',
        type: 'custom',
        url: `${receiver.url}/hook`,
        events: ['bb.issue.create'],
      });
      expect(hook.status).toBe(201);
      const posted = await admin.post('/v1/projects/pods/events', { type: 'bb.issue.create', issue: { id: 1, name: 'From the dev overlay' } });
      expect(posted.status).toBe(202);
      const [hit] = await receiver.waitFor(1, 15_000);
      expect(JSON.parse(hit.body)).toMatchObject({ event_id: posted.body.id, activity_type: 'bb.issue.create' });
      await eventually(async () => (await admin.get('/v1/projects/pods/deliveries')).body.items[0]?.status === 'succeeded');
    });

    it('routes every intake route of the OpenAPI document to ingestion through the production Ingress, and everything else to the gateway; the gateway alone also serves every intake route', async () => {
      const ingress = one(production, 'Ingress', 'herald');
      const hosts = ingress.spec.rules.map((r: { host: string }) => r.host) as string[];
      const intakeHost = hosts.find((h) => routeIngress(ingress, h, '/v1/projects/x/things')?.service === 'ingestion');
      const mainHost = hosts.find((h) => h !== intakeHost);
      expect([intakeHost, mainHost].every(Boolean)).toBe(true);

      const intake = (await (await fetch(`${apps.get('ingestion')?.url}/docs-json`)).json()) as { paths: Record<string, Record<string, unknown>> };
      const all = (await (await fetch(`${apps.get('api-gateway')?.url}/docs-json`)).json()) as { paths: Record<string, Record<string, unknown>> };
      const sample = (path: string) => path.replace(/\{[^}]+\}/g, '1');
      const intakeRoutes = Object.entries(intake.paths).flatMap(([path, methods]) => Object.keys(methods).map((method) => ({ path, method })));
      expect(intakeRoutes.length).toBeGreaterThan(10);

      for (const { path, method } of intakeRoutes) {
        const concrete = sample(path);
        expect([method, path, routeIngress(ingress, intakeHost as string, concrete)?.service]).toEqual([method, path, 'ingestion']);
        const devlake = /^\/(api\/)?(rest\/)?plugins\/webhook\//.test(path);
        expect([method, path, routeIngress(ingress, mainHost as string, concrete)?.service]).toEqual([method, path, devlake ? 'ingestion' : 'api-gateway']);
        // Through the gateway alone the same request gets ingestion's own answer (it is forwarded).
        const direct = await fetch(`${apps.get('ingestion')?.url}${concrete}`, {
          method: method.toUpperCase(),
          body: '{}',
          headers: { 'content-type': 'application/json' },
        });
        const viaGateway = await fetch(`${apps.get('api-gateway')?.url}${concrete}`, {
          method: method.toUpperCase(),
          body: '{}',
          headers: { 'content-type': 'application/json' },
        });
        expect([path, viaGateway.status, await viaGateway.text()]).toEqual([path, direct.status, await direct.text()]);
      }
      for (const path of Object.keys(all.paths).filter((p) => !(p in intake.paths))) {
        expect([path, routeIngress(ingress, mainHost as string, sample(path))?.service]).toEqual([path, 'api-gateway']);
      }
    });
  });
});
