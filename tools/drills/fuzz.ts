import { maxLength } from 'class-validator';
import fc from 'fast-check';
import { Client } from 'pg';
import { templatesProblems } from '@herald/channels';
import { EVENT_LEVELS, EVENT_TYPES, filterProblems } from '@herald/domain';
import { TEST_ADMIN_TOKEN } from '@herald/testing';
import type { DrillReport } from './drills';
import { DrillCluster } from './harness';
import { PrivatePostgres, PrivateRedis } from '../support/services';

/** A route the fuzzer attacks, with a valid body it can mutate (GET routes get a query only). */
interface Target {
  method: 'POST' | 'PATCH' | 'GET';
  path: string;
  valid?: unknown;
}

const TARGETS: Target[] = [
  {
    method: 'POST',
    path: '/v1/projects/drill/events',
    valid: { type: 'incident.create', title: 'x', actor: { id: 1, name: 'a' }, issue: { id: 1, status: 'OPEN' }, mentions: [{ email: 'a@b.c' }] },
  },
  { method: 'POST', path: '/v1/projects/drill/events/batch', valid: [{ type: 'incident.create' }, { type: 'bb.issue.create', title: 't' }] },
  { method: 'POST', path: '/v1/projects', valid: { key: 'fuzzed', name: 'Fuzzed' } },
  { method: 'PATCH', path: '/v1/projects/drill', valid: { name: 'Drill' } },
  { method: 'POST', path: '/v1/projects/drill/api-keys', valid: { name: 'k' } },
  { method: 'POST', path: '/v1/projects/drill/webhooks', valid: { name: 'w', type: 'custom', url: 'https://example.com/h', events: ['incident.create'] } },
  // Issue 16: a filter and templates on a webhook, and the preview.
  {
    method: 'POST',
    path: '/v1/projects/drill/webhooks',
    valid: {
      name: 'f',
      type: 'slack',
      url: 'https://hooks.slack.com/services/T/B/x',
      events: ['incident.create'],
      filter: { 'issue.status': { $in: ['OPEN'] }, title: { $regex: '^a' } },
      templates: { 'incident.create': '{{ title }} {{ issue.key }}' },
    },
  },
  {
    method: 'POST',
    path: '/v1/projects/drill/webhooks/preview',
    valid: {
      type: 'dingtalk',
      templates: { 'incident.create': '{{ title | upcase }}' },
      locale: 'zh',
      event: { type: 'incident.create', title: 'x', issue: { id: 1, status: 'OPEN' }, mentions: [{ phone: '+8613800000000' }] },
    },
  },
  // DevLake intake: projects/drill/deployments creates the drill_deployments connection the issues go to.
  {
    method: 'POST',
    path: '/api/plugins/webhook/projects/drill/deployments',
    valid: { commit_sha: 'abc123', repo_url: 'https://git.example.com/app', environment: 'PRODUCTION' },
  },
  {
    method: 'POST',
    path: '/api/plugins/webhook/connections/by-name/drill_deployments/issues',
    valid: {
      issue_key: 'F-1',
      title: 't',
      type: 'INCIDENT',
      status: 'TODO',
      original_status: 'open',
      created_date: '2024-01-01T00:00:00Z',
      url: 'https://tracker.example.com/F-1',
    },
  },
  { method: 'GET', path: '/v1/projects' },
  { method: 'GET', path: '/v1/projects/drill/connections' },
  { method: 'GET', path: '/v1/projects/drill/events' },
];

/** Extra targets (e.g. DevLake routes) registered by other modules of the drill suite. */
export function addFuzzTargets(...targets: Target[]): void {
  TARGETS.push(...targets);
}

const hostileKey = fc.constantFrom(
  '__proto__',
  'constructor',
  'prototype',
  'type',
  'title',
  'issue',
  'id',
  'events',
  'url',
  'key',
  'name',
  '',
  ' ',
  'a'.repeat(300),
);
/** Any UTF-16 code unit, lone surrogates often (fast-check's own string units never make one). */
const codeUnit = fc.oneof(fc.integer({ min: 0, max: 0xffff }), fc.integer({ min: 0xd800, max: 0xdfff })).map((n) => String.fromCharCode(n));
const hostileString = fc.oneof(
  fc.string(),
  fc.string({ unit: 'grapheme', maxLength: 50 }),
  fc.string({ unit: codeUnit, maxLength: 20 }),
  fc.constantFrom(
    '',
    '\u0000',
    '\ud800',
    'a\udc00b',
    '💥'.repeat(1000),
    '<script>',
    "' OR 1=1 --",
    '../../etc/passwd',
    'x'.repeat(70_000),
    '2020-13-45T99:99:99Z',
  ),
);
/** Mostly no query; otherwise one that is malformed or out of range (a stray %, a cursor past int4). */
const hostileQuery = fc.oneof(
  { weight: 6, arbitrary: fc.constant('') },
  { weight: 1, arbitrary: fc.constantFrom('?a=%', '?a=%zz', '?x=%E0%A4%A', '?cursor=OTk5OTk5OTk5OTk5', '?cursor=%ED%A0%80', '?limit=-1', '?since=%00') },
  { weight: 1, arbitrary: fc.string({ unit: codeUnit, maxLength: 10 }).map((s) => `?cursor=${encodeURIComponent(s.replace(/[\ud800-\udfff]/g, '%'))}`) },
);
const hostileValue: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    hostileString,
    fc.integer(),
    fc.double(),
    fc.boolean(),
    fc.constant(null),
    fc.array(tie('value'), { maxLength: 5 }),
    fc.dictionary(hostileKey, tie('value'), { maxKeys: 5 }),
  ),
})).value;

/** A body: the valid one with a field replaced, random JSON, deep nesting, or raw bytes; none for GET. */
function bodyFor(target: Target): fc.Arbitrary<Buffer | undefined> {
  if (target.method === 'GET') return fc.constant(undefined);
  const json = (v: unknown) => Buffer.from(JSON.stringify(v) ?? 'null');
  const mutated =
    target.valid && typeof target.valid === 'object' && !Array.isArray(target.valid)
      ? fc.tuple(fc.constantFrom(...Object.keys(target.valid as object)), hostileValue).map(([k, v]) => json({ ...(target.valid as object), [k]: v }))
      : fc.tuple(fc.nat({ max: 1 }), hostileValue).map(([i, v]) => {
          const copy = [...(target.valid as unknown[])];
          copy[i] = v;
          return json(copy);
        });
  const deep = fc.integer({ min: 100, max: 5000 }).map((depth) => Buffer.from('{"a":'.repeat(depth) + '1' + '}'.repeat(depth)));
  const rawBytes = fc
    .uint8Array({ maxLength: 300 })
    .map((bytes) => Buffer.concat([Buffer.from('{"type":"incident.create","title":"'), Buffer.from(bytes), Buffer.from('"}')]));
  const protoPollution = fc
    .constantFrom(
      '{"__proto__":{"isAdmin":true},"type":"incident.create"}',
      '{"constructor":{"prototype":{"isAdmin":true}},"type":"incident.create"}',
      '{"type":"incident.create","issue":{"__proto__":{"status":"DONE"}}}',
    )
    .map((s) => Buffer.from(s));
  const huge = fc.constant(Buffer.from(JSON.stringify({ type: 'incident.create', description: 'x'.repeat(2 * 1024 * 1024) })));
  return fc.oneof(
    { weight: 5, arbitrary: mutated },
    { weight: 3, arbitrary: hostileValue.map(json) },
    { weight: 1, arbitrary: deep },
    { weight: 1, arbitrary: rawBytes },
    { weight: 1, arbitrary: protoPollution },
    {
      weight: 1,
      arbitrary: fc.oneof(
        fc.constant(Buffer.from('')),
        fc.string().map((s) => Buffer.from(s)),
      ),
    },
    { weight: 1, arbitrary: huge },
  );
}

/**
 * Drill 11: property-based fuzzing of every intake route and the management API. Every answer
 * must be below 500, the apps must stay ready, and nothing malformed may be stored.
 */
export async function fuzzDrill(options: { runs: number; concurrency?: number; seed?: number }): Promise<DrillReport> {
  const pg = await PrivatePostgres.create();
  const redis = await PrivateRedis.create(false);
  const cluster = await DrillCluster.start({ databaseUrl: pg.url, redisUrl: redis.url });
  try {
    const gateway = cluster.app('api-gateway').url;
    const statuses = new Map<number, number>();
    const serverErrors: string[] = [];
    const resets: string[] = [];
    const target = fc
      .nat({ max: TARGETS.length - 1 })
      .chain((i) =>
        fc.tuple(
          fc.constant(TARGETS[i]),
          bodyFor(TARGETS[i]),
          fc.oneof(
            { weight: 6, arbitrary: fc.constant('application/json') },
            { weight: 1, arbitrary: fc.constantFrom('application/x-www-form-urlencoded', 'text/plain', '', 'application/json; charset=latin1') },
          ),
          hostileQuery,
        ),
      );
    const samples = fc.sample(target, { numRuns: options.runs, seed: options.seed ?? 42 });
    let next = 0;
    const client = async () => {
      while (next < samples.length) {
        const [t, body, contentType, query] = samples[next++];
        const headers: Record<string, string> = { authorization: `Bearer ${TEST_ADMIN_TOKEN}` };
        if (contentType && body) headers['content-type'] = contentType;
        let status = 0;
        // A socket reset under load is retried once (and counted); a second failure counts as no answer.
        for (let attempt = 0; attempt < 2 && status === 0; attempt++) {
          try {
            const res = await fetch(`${gateway}${t.path}${query}`, { method: t.method, headers, body });
            status = res.status;
            const text = await res.text();
            if (status >= 500 && serverErrors.length < 10)
              serverErrors.push(`${t.method} ${t.path}${query} ${status}: ${text.slice(0, 200)} ← ${body?.subarray(0, 200).toString('utf8') ?? ''}`);
          } catch (err) {
            const cause = (err as { cause?: { code?: string; message?: string } }).cause;
            const reason = `${t.method} ${t.path}${query} (${body?.length ?? 0} bytes): connection failed (${(err as Error).message}: ${cause?.code ?? cause?.message ?? ''})`;
            if (attempt === 0) resets.push(reason);
            else if (serverErrors.length < 10) serverErrors.push(reason);
          }
        }
        statuses.set(status, (statuses.get(status) ?? 0) + 1);
      }
    };
    const started = Date.now();
    await Promise.all(Array.from({ length: options.concurrency ?? 8 }, client));
    const durationMs = Date.now() - started;

    const ready = await Promise.all([...cluster.apps.values()].map(async (app) => (await fetch(`${app.url}/readyz`)).status));
    const malformed = await storedProblems(pg.url);
    const failures: string[] = [];
    const fiveXX = [...statuses.entries()].filter(([s]) => s >= 500 || s === 0).reduce((n, [, c]) => n + c, 0);
    if (fiveXX) failures.push(`${fiveXX} answers were 5xx or no answer, e.g. ${serverErrors.join(' | ')}`);
    if (ready.some((s) => s !== 200)) failures.push(`apps not ready after fuzzing: ${ready.join(', ')}`);
    if (malformed.length) failures.push(`malformed rows stored: ${malformed.join('; ')}`);
    return {
      name: `fuzzing ${TARGETS.length} routes with ${options.runs} generated bodies`,
      facts: [
        ['requests', samples.length],
        [
          'answers',
          [...statuses.entries()]
            .sort(([a], [b]) => a - b)
            .map(([s, n]) => `${s}×${n}`)
            .join(', '),
        ],
        ['5xx', fiveXX],
        ['sockets reset and retried once', resets.length ? `${resets.length} (e.g. ${resets[0]})` : 0],
        ['duration', `${(durationMs / 1000).toFixed(1)} s`],
        ['apps ready afterwards', ready.every((s) => s === 200) ? 'yes' : 'no'],
        ['malformed rows stored', malformed.length],
      ],
      failures,
    };
  } finally {
    await cluster.stop();
    await redis.destroy();
    await pg.destroy();
  }
}

/** Checks every stored row against the rules the API enforces. */
async function storedProblems(url: string): Promise<string[]> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    const problems: string[] = [];
    const events = await client.query(`SELECT id, type, level, title, body FROM events`);
    for (const e of events.rows) {
      if (!(EVENT_TYPES as readonly string[]).includes(e.type)) problems.push(`event ${e.id} has type ${JSON.stringify(e.type)}`);
      if (!(EVENT_LEVELS as readonly string[]).includes(e.level)) problems.push(`event ${e.id} has level ${JSON.stringify(e.level)}`);
      // Characters as intake's validation counts them (class-validator's maxLength: an emoji is one).
      if (typeof e.title !== 'string' || !maxLength(e.title, 1000))
        problems.push(`event ${e.id} has a bad title (${typeof e.title === 'string' ? `${e.title.length} UTF-16 units` : typeof e.title})`);
      if (e.body && Object.prototype.hasOwnProperty.call(e.body, '__proto__')) problems.push(`event ${e.id} stored a __proto__ key`);
    }
    const projects = await client.query(`SELECT key, name FROM projects`);
    for (const p of projects.rows)
      if (!/^[a-z0-9][a-z0-9-]{1,62}$/.test(p.key) || !p.name || p.name.length > 200) problems.push(`project ${JSON.stringify(p.key)} is malformed`);
    const hooks = await client.query(`SELECT id, type, events, name, filter, templates FROM webhooks`);
    for (const h of hooks.rows) {
      if (filterProblems(h.filter).length) problems.push(`webhook ${h.id} stored an invalid filter ${JSON.stringify(h.filter).slice(0, 200)}`);
      if (templatesProblems(h.templates).length || (h.type === 'custom' && h.templates))
        problems.push(`webhook ${h.id} stored invalid templates ${JSON.stringify(h.templates).slice(0, 200)}`);
      if (!h.events.length || h.events.some((t: string) => !(EVENT_TYPES as readonly string[]).includes(t)))
        problems.push(`webhook ${h.id} has events ${JSON.stringify(h.events)}`);
      if (!h.name || h.name.length > 200) problems.push(`webhook ${h.id} has a bad name`);
    }
    return problems.slice(0, 20);
  } finally {
    await client.end();
  }
}
