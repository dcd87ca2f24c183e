import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parser as promql } from '@prometheus-io/lezer-promql';
import { ScaledObject } from '@kubernetes-models/keda/keda.sh/v1alpha1';
import { PrometheusRule, ServiceMonitor } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1';
import { Deployment, StatefulSet } from 'kubernetes-models/apps/v1';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2';
import { Job } from 'kubernetes-models/batch/v1';
import { Ingress, NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { ConfigMap, Namespace, Pod, Secret, Service, ServiceAccount } from 'kubernetes-models/v1';
import { parseAllDocuments } from 'yaml';

/**
 * Helpers for the Kubernetes specs (tools/k8s/*.e2e-spec.ts): render the overlays with kubectl's
 * built-in kustomize, validate every object against the Kubernetes, KEDA and Prometheus Operator
 * schemas (unknown fields included), resolve Ingress routes, and read the PromQL of the dashboard
 * and the alerts. No cluster is needed for any of it.
 */

export const ROOT = (() => {
  let dir = __dirname;
  while (!existsSync(join(dir, 'package.json')) && dirname(dir) !== dir) dir = dirname(dir);
  return dir;
})();
export const K8S_DIR = join(ROOT, 'docker', 'k8s');

/** A rendered object, loosely typed: the specs read any field of any kind. */
export type K8sObject = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  [field: string]: any;
};

export interface KubectlVersions {
  kubectl: string;
  kustomize: string;
}

/** Which kubectl and built-in kustomize render the manifests (the specs print it). */
export function kubectlVersions(): KubectlVersions {
  const out = spawnSync('kubectl', ['version', '--client', '-o', 'json'], { encoding: 'utf8' });
  if (out.error || out.status !== 0) {
    throw new Error(
      `kubectl is not installed (${out.error?.message ?? out.stderr}): apt-get install kubernetes-client, or any kubectl ≥ 1.27 (.ci/run installs it)`,
    );
  }
  const parsed = JSON.parse(out.stdout) as { clientVersion?: { gitVersion?: string }; kustomizeVersion?: string };
  return { kubectl: parsed.clientVersion?.gitVersion ?? 'unknown', kustomize: parsed.kustomizeVersion ?? 'unknown' };
}

/** kustomize v5 is kubectl 1.27's and later: `labels`, components and the patches used here need it. */
export function kustomizeTooOld(versions: KubectlVersions): string | null {
  const major = Number(/^v?(\d+)\./.exec(versions.kustomize)?.[1] ?? 0);
  return major >= 5 ? null : `kubectl ${versions.kubectl} carries kustomize ${versions.kustomize}; these manifests need kustomize v5 (kubectl ≥ 1.27)`;
}

export interface Rendered {
  objects: K8sObject[];
  stderr: string;
}

/** `kubectl kustomize docker/k8s/<dir>`: fails on a non-zero exit, returns stderr (warnings) for the spec to judge. */
export function render(dir: string): Rendered {
  const out = spawnSync('kubectl', ['kustomize', join(K8S_DIR, dir)], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (out.status !== 0) throw new Error(`kubectl kustomize ${dir} failed (${out.status}): ${out.stderr}`);
  const objects: K8sObject[] = [];
  for (const doc of parseAllDocuments(out.stdout)) {
    if (doc.errors.length) throw new Error(`kubectl kustomize ${dir} printed invalid YAML: ${doc.errors[0].message}`);
    const value = doc.toJS() as K8sObject | null;
    if (value) objects.push(value);
  }
  return { objects, stderr: out.stderr };
}

type ModelClass = { prototype: { validate(): void } };

/** Every kind the overlays may contain, with its schema. A kind missing here fails validation. */
const MODELS: Record<string, ModelClass> = {
  'v1/Namespace': Namespace,
  'v1/ServiceAccount': ServiceAccount,
  'v1/ConfigMap': ConfigMap,
  'v1/Secret': Secret,
  'v1/Service': Service,
  'v1/Pod': Pod,
  'apps/v1/Deployment': Deployment,
  'apps/v1/StatefulSet': StatefulSet,
  'batch/v1/Job': Job,
  'autoscaling/v2/HorizontalPodAutoscaler': HorizontalPodAutoscaler,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
  'networking.k8s.io/v1/NetworkPolicy': NetworkPolicy,
  'networking.k8s.io/v1/Ingress': Ingress,
  'keda.sh/v1alpha1/ScaledObject': ScaledObject,
  'monitoring.coreos.com/v1/ServiceMonitor': ServiceMonitor,
  'monitoring.coreos.com/v1/PrometheusRule': PrometheusRule,
};

/**
 * Problems with one object: schema errors (types, required fields, formats) and fields the schema
 * does not know. The models' validators (compiled JSON Schema) let unknown fields through, as
 * Kubernetes' OpenAPI schemas do not forbid them, while the API server drops or refuses them, so a
 * typo such as `readinesProbe` would pass unnoticed. The validator is therefore run on a proxy that
 * records which fields it reads: an object it did not enumerate as a map (labels, limits, a
 * trigger's metadata) and whose field it never looked at has a field the schema does not define.
 */
export function validateObject(obj: K8sObject): string[] {
  const where = `${obj.kind} ${obj.metadata?.name}`;
  const model = MODELS[`${obj.apiVersion}/${obj.kind}`];
  if (!model) return [`${where}: no schema for ${obj.apiVersion} ${obj.kind} (add its model to tools/k8s/manifests.ts)`];
  const records = new Map<object, { path: string; read: Set<string>; enumerated: boolean }>();
  const wrap = (value: unknown, path: string): unknown => {
    if (value === null || typeof value !== 'object') return value;
    let record = records.get(value);
    if (!record) {
      record = { path, read: new Set(), enumerated: false };
      records.set(value, record);
    }
    const rec = record;
    return new Proxy(value, {
      get(target, key, receiver) {
        const child = Reflect.get(target, key, receiver);
        if (typeof key !== 'string') return child;
        rec.read.add(key);
        return wrap(child, `${path}.${key}`);
      },
      has(target, key) {
        if (typeof key === 'string') rec.read.add(key);
        return Reflect.has(target, key);
      },
      ownKeys(target) {
        rec.enumerated = true;
        return Reflect.ownKeys(target);
      },
    });
  };
  const problems: string[] = [];
  try {
    model.prototype.validate.call(wrap(obj, ''));
  } catch (err) {
    problems.push(`${where}: ${(err as Error).message}`);
  }
  for (const [target, record] of records) {
    if (Array.isArray(target) || record.enumerated) continue;
    for (const key of Object.keys(target))
      if (!record.read.has(key)) problems.push(`${where}: unknown field ${record.path.slice(1)}.${key}`.replace(': unknown field .', ': unknown field '));
  }
  return problems;
}

export function find(objects: K8sObject[], kind: string, name?: string): K8sObject[] {
  return objects.filter((o) => o.kind === kind && (name === undefined || o.metadata.name === name));
}

export function one(objects: K8sObject[], kind: string, name: string): K8sObject {
  const found = find(objects, kind, name);
  if (found.length !== 1) throw new Error(`expected one ${kind} ${name}, found ${found.length}`);
  return found[0];
}

/** True when every `matchLabels` pair (and `matchExpressions` In/NotIn/Exists) holds for `labels`. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function selects(selector: any, labels: Record<string, string> = {}): boolean {
  const matchLabels: Record<string, string> = selector?.matchLabels ?? (selector?.matchExpressions ? {} : (selector ?? {}));
  if (!Object.entries(matchLabels).every(([k, v]) => labels[k] === v)) return false;
  return (selector?.matchExpressions ?? []).every((e: { key: string; operator: string; values?: string[] }) => {
    const has = e.key in labels;
    if (e.operator === 'In') return has && (e.values ?? []).includes(labels[e.key]);
    if (e.operator === 'NotIn') return !has || !(e.values ?? []).includes(labels[e.key]);
    if (e.operator === 'Exists') return has;
    if (e.operator === 'DoesNotExist') return !has;
    return false;
  });
}

/** The workloads' pod templates, with the owning object. */
export function podTemplates(objects: K8sObject[]): Array<{ owner: K8sObject; labels: Record<string, string>; spec: K8sObject['spec'] }> {
  return objects
    .filter((o) => ['Deployment', 'StatefulSet', 'Job'].includes(o.kind))
    .map((owner) => ({ owner, labels: owner.spec.template.metadata?.labels ?? {}, spec: owner.spec.template.spec }));
}

/**
 * Which Service an Ingress sends `host` + `path` to, by the Ingress rules of Kubernetes: Exact
 * beats Prefix, the longest Prefix wins, and a Prefix matches whole path elements.
 */
export function routeIngress(ingress: K8sObject, host: string, path: string): { service: string; port: string | number } | null {
  const rule = (ingress.spec.rules ?? []).find((r: { host?: string }) => r.host === host) ?? (ingress.spec.rules ?? []).find((r: { host?: string }) => !r.host);
  if (!rule) return null;
  let best: { length: number; exact: boolean; backend: { service: { name: string; port: { name?: string; number?: number } } } } | null = null;
  for (const p of rule.http?.paths ?? []) {
    const candidate: string = p.path ?? '/';
    const exact = p.pathType === 'Exact';
    let matches: boolean;
    if (exact) matches = path === candidate;
    else if (p.pathType === 'Prefix') {
      const base = candidate.replace(/\/+$/, '');
      matches = base === '' || path === base || path.startsWith(`${base}/`);
    } else throw new Error(`Ingress path ${candidate}: pathType ${p.pathType} is implementation-specific; use Exact or Prefix`);
    if (!matches) continue;
    if (!best || (exact && !best.exact) || (exact === best.exact && candidate.length > best.length))
      best = { length: candidate.length, exact, backend: p.backend };
  }
  if (!best) return null;
  return { service: best.backend.service.name, port: best.backend.service.port.name ?? best.backend.service.port.number ?? '' };
}

/** The Dockerfile's targets and the command each runs. */
export function dockerfileTargets(): Map<string, string[]> {
  const text = readFileSync(join(ROOT, 'docker', 'Dockerfile'), 'utf8');
  const targets = new Map<string, string[]>();
  let current: string | null = null;
  for (const line of text.split('\n')) {
    const from = /^FROM\s+\S+\s+AS\s+(\S+)/i.exec(line);
    if (from) current = from[1];
    const cmd = /^CMD\s+(\[.*\])\s*$/.exec(line);
    if (cmd && current) targets.set(current, JSON.parse(cmd[1]) as string[]);
  }
  return targets;
}

/** The variables `loadConfig` reads: it is run on a proxy that records each name it looks up. */
export function configVariables(load: (env: Record<string, string | undefined>) => unknown): Set<string> {
  const read = new Set<string>();
  const env = new Proxy({} as Record<string, string | undefined>, {
    get(_target, key) {
      if (typeof key === 'string') read.add(key);
      return undefined;
    },
  });
  try {
    load(env);
  } catch {
    // required variables are missing here: only the names matter
  }
  return read;
}

export interface PromQlUse {
  metrics: Set<string>;
  /** Label names an expression matches or groups on, per metric it selects (grouping labels count for every metric under the aggregation). */
  labels: Map<string, Set<string>>;
  error: string | null;
}

/** Grafana's variables, with values that keep the expression valid PromQL. */
function withoutGrafanaVariables(expr: string): string {
  return expr.replace(/\$__rate_interval|\$__interval|\$__range/g, '5m').replace(/\$\{(\w+)(:\w+)?\}|\$(\w+)/g, 'x');
}

/** Metric names (and the labels used with them) in one PromQL expression; `error` when it does not parse. */
export function promqlUse(expression: string): PromQlUse {
  const expr = withoutGrafanaVariables(expression);
  const use: PromQlUse = { metrics: new Set(), labels: new Map(), error: null };
  const tree = promql.parse(expr);
  const text = (from: number, to: number) => expr.slice(from, to);
  const groupings: string[][] = [];
  const cursor = tree.cursor();
  const selectors: Array<{ metric: string; labels: string[] }> = [];
  do {
    if (cursor.type.isError) use.error ??= `syntax error at ${cursor.from}: …${expr.slice(Math.max(0, cursor.from - 20), cursor.from + 20)}…`;
    if (cursor.name === 'GroupingLabels') {
      const names: string[] = [];
      const inner = cursor.node.cursor();
      if (inner.firstChild()) {
        do if (inner.name === 'LabelName') names.push(text(inner.from, inner.to));
        while (inner.nextSibling());
      }
      groupings.push(names);
    }
    if (cursor.name === 'VectorSelector') {
      const node = cursor.node;
      let metric = '';
      const labels: string[] = [];
      const identifier = node.getChild('Identifier');
      if (identifier) metric = text(identifier.from, identifier.to);
      const matchers = node.getChild('LabelMatchers');
      if (matchers) {
        const inner = matchers.cursor();
        inner.firstChild();
        do {
          if (inner.name === 'UnquotedLabelMatcher' || inner.name === 'QuotedLabelMatcher') {
            const name = inner.node.getChild('LabelName') ?? inner.node.getChild('QuotedLabelName');
            const value = inner.node.getChild('StringLiteral');
            const label = name ? text(name.from, name.to).replace(/^"|"$/g, '') : '';
            if (label === '__name__' && value) metric = text(value.from, value.to).slice(1, -1);
            else if (label) labels.push(label);
          } else if (inner.name === 'QuotedLabelName') {
            metric = text(inner.from, inner.to).slice(1, -1);
          }
        } while (inner.nextSibling());
      }
      selectors.push({ metric, labels });
    }
  } while (cursor.next());
  if (tree.length !== expr.length) use.error ??= 'the parser did not consume the whole expression';
  for (const s of selectors) {
    if (!s.metric) {
      use.error ??= 'a selector without a metric name';
      continue;
    }
    use.metrics.add(s.metric);
    const set = use.labels.get(s.metric) ?? new Set<string>();
    s.labels.forEach((l) => set.add(l));
    use.labels.set(s.metric, set);
  }
  // A grouping label must exist on what is grouped; attribute it to every selector (the strictest reading).
  for (const names of groupings) for (const set of use.labels.values()) names.forEach((n) => set.add(n));
  return use;
}

export interface DashboardQuery {
  where: string;
  expr: string;
}

/** Every PromQL expression of a Grafana dashboard: panel targets and `label_values(metric, label)` variables. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function dashboardQueries(dashboard: any): DashboardQuery[] {
  const queries: DashboardQuery[] = [];
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const visit = (panels: any[]) => {
    for (const panel of panels ?? []) {
      for (const t of panel.targets ?? []) if (t.expr) queries.push({ where: `panel "${panel.title}" ${t.refId}`, expr: t.expr });
      visit(panel.panels);
    }
  };
  visit(dashboard.panels);
  for (const v of dashboard.templating?.list ?? []) {
    if (v.type !== 'query') continue;
    const q: string = typeof v.query === 'string' ? v.query : v.query?.query;
    const labelValues = /^label_values\((.+),\s*(\w+)\)$/.exec(q ?? '');
    queries.push({ where: `variable ${v.name}`, expr: labelValues ? labelValues[1] : q });
  }
  return queries;
}

/** Metric families a Prometheus text exposition declares (`# TYPE`), with the sample names each yields, and the label names seen per sample name. */
export function exposition(text: string): { samples: Set<string>; labels: Map<string, Set<string>> } {
  const samples = new Set<string>();
  const labels = new Map<string, Set<string>>();
  for (const line of text.split('\n')) {
    const type = /^# TYPE (\S+) (\S+)/.exec(line);
    if (type) {
      const [, name, kind] = type;
      const names =
        kind === 'histogram' ? [`${name}_bucket`, `${name}_sum`, `${name}_count`] : kind === 'summary' ? [name, `${name}_sum`, `${name}_count`] : [name];
      names.forEach((n) => samples.add(n));
      continue;
    }
    const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([^}]*)\})?\s/.exec(line);
    if (sample) {
      const set = labels.get(sample[1]) ?? new Set<string>();
      for (const m of (sample[3] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="/g)) set.add(m[1]);
      labels.set(sample[1], set);
    }
  }
  return { samples, labels };
}
