import fc from 'fast-check';
import { ValidationFailed } from './errors';
import { EVENT_TYPES } from './event-catalogue';
import { FILTER_LIMITS, checkFilter, type CompiledFilter, compileFilter, filterPaths, filterProblems, matchesFilter, type FilterCost } from './event-filter';

/** Events as the events API returns them (docs/contract.md §4): one from the API, one DevLake deployment. */
const issueEvent = {
  id: '0190c7a8-0000-7000-8000-000000000001',
  type: 'bb.issue.status.update',
  level: 'SUCCESS',
  title: 'Issue resolved',
  description: 'PROJ-7 closed',
  link: 'https://example.com/issues/7',
  source: 'api',
  occurredAt: '2024-05-01T10:00:00.000Z',
  receivedAt: '2024-05-01T10:00:01.000Z',
  projectKey: 'shop',
  actor: { id: 7, name: 'deploy-bot', email: 'bot@example.com' },
  issue: { id: 7, key: 'PROJ-7', name: 'Checkout fails', status: 'DONE', type: 'BUG', creator: { name: 'Ann', email: 'ann@example.com' } },
  mentions: [
    { name: 'Ann', email: 'ann@example.com' },
    { name: 'Bo', email: 'bo@example.com', phone: '+8613800000000' },
  ],
};
const deploymentEvent = {
  id: '0190c7a8-0000-7000-8000-000000000002',
  type: 'deployment.create',
  level: 'SUCCESS',
  title: 'Deployment to PRODUCTION',
  source: 'devlake',
  occurredAt: '2024-05-01T10:00:00.000Z',
  receivedAt: '2024-05-01T10:00:01.000Z',
  projectKey: 'shop',
  rollout: { id: 'd1', title: 'deploy abc to PRODUCTION', environment: 'PRODUCTION' },
  deployment: {
    id: 'd1',
    connectionId: 3,
    result: 'SUCCESS',
    environment: 'PRODUCTION',
    commits: [
      { repoUrl: 'https://github.com/acme/shop', commitSha: 'abc', refName: 'release/1.2' },
      { repoUrl: 'https://github.com/acme/lib', commitSha: 'def', refName: 'main' },
    ],
  },
};

const matches = (filter: unknown, event: unknown = issueEvent) => matchesFilter(compileFilter(filter), event);

describe('webhook filters: semantics', () => {
  it('null is no filter, {} matches everything', () => {
    expect(compileFilter(null)).toBeNull();
    expect(matchesFilter(null, issueEvent)).toBe(true);
    expect(matches({})).toBe(true);
  });

  it('a plain value is equality on a dotted path; several keys must all hold', () => {
    expect(matches({ level: 'SUCCESS' })).toBe(true);
    expect(matches({ 'issue.status': 'DONE' })).toBe(true);
    expect(matches({ 'issue.status': 'OPEN' })).toBe(false);
    expect(matches({ 'issue.status': 'DONE', level: 'ERROR' })).toBe(false);
    expect(matches({ 'issue.id': 7 })).toBe(true);
    expect(matches({ 'issue.id': '7' })).toBe(false);
    expect(matches({ 'issue.creator': { name: 'Ann', email: 'ann@example.com' } })).toBe(true);
    expect(matches({ 'issue.creator': { name: 'Ann' } })).toBe(false);
  });

  it('only deployments to production', () => {
    const filter = { 'deployment.environment': 'PRODUCTION' };
    expect(matches(filter, deploymentEvent)).toBe(true);
    expect(matches(filter, { ...deploymentEvent, deployment: { ...deploymentEvent.deployment, environment: 'STAGING' } })).toBe(false);
    expect(matches(filter, issueEvent)).toBe(false);
  });

  it('$eq $ne $in $nin, and null for a missing field', () => {
    expect(matches({ level: { $eq: 'SUCCESS' } })).toBe(true);
    expect(matches({ level: { $ne: 'SUCCESS' } })).toBe(false);
    expect(matches({ level: { $in: ['WARN', 'SUCCESS'] } })).toBe(true);
    expect(matches({ level: { $nin: ['WARN', 'SUCCESS'] } })).toBe(false);
    expect(matches({ 'rollout.environment': null })).toBe(true);
    expect(matches({ 'rollout.environment': { $ne: null } })).toBe(false);
    expect(matches({ 'rollout.environment': { $in: [null, 'PRODUCTION'] } })).toBe(true);
    expect(matches({ 'rollout.environment': { $in: ['PRODUCTION'] } })).toBe(false);
    expect(matches({ 'rollout.environment': { $nin: ['PRODUCTION'] } })).toBe(true);
    expect(matches({ 'issue.creator': { $in: [{ name: 'Ann', email: 'ann@example.com' }] } })).toBe(true);
  });

  it('$exists', () => {
    expect(matches({ 'actor.email': { $exists: true } })).toBe(true);
    expect(matches({ 'actor.phone': { $exists: true } })).toBe(false);
    expect(matches({ 'actor.phone': { $exists: false } })).toBe(true);
    expect(matches({ deployment: { $exists: true } }, deploymentEvent)).toBe(true);
  });

  it('$gt $gte $lt $lte compare numbers with numbers and strings with strings', () => {
    expect(matches({ 'actor.id': { $gt: 6, $lte: 7 } })).toBe(true);
    expect(matches({ 'actor.id': { $gt: 7 } })).toBe(false);
    expect(matches({ 'actor.id': { $gt: '6' } })).toBe(false);
    expect(matches({ occurredAt: { $gte: '2024-05-01T00:00:00Z', $lt: '2024-05-02T00:00:00Z' } })).toBe(true);
    expect(matches({ 'deployment.connectionId': { $lt: 5 } }, deploymentEvent)).toBe(true);
  });

  it('$regex searches with RE2; (?i) ignores case', () => {
    expect(matches({ 'deployment.commits.refName': { $regex: '^release/' } }, deploymentEvent)).toBe(true);
    expect(matches({ 'deployment.commits.refName': { $regex: '^hotfix/' } }, deploymentEvent)).toBe(false);
    expect(matches({ title: { $regex: 'production' } }, deploymentEvent)).toBe(false);
    expect(matches({ title: { $regex: '(?i)production' } }, deploymentEvent)).toBe(true);
    expect(matches({ 'actor.id': { $regex: '7' } })).toBe(false); // not a string
  });

  it('a path through an array reaches every element; an index names one', () => {
    expect(matches({ 'mentions.email': 'bo@example.com' })).toBe(true);
    expect(matches({ 'mentions.email': 'cy@example.com' })).toBe(false);
    expect(matches({ 'mentions.1.email': 'bo@example.com' })).toBe(true);
    expect(matches({ 'mentions.0.email': 'bo@example.com' })).toBe(false);
    expect(matches({ 'mentions.email': { $ne: 'bo@example.com' } })).toBe(false);
    expect(matches({ 'mentions.phone': { $exists: true } })).toBe(true);
    expect(matches({ 'deployment.commits.repoUrl': { $in: ['https://github.com/acme/lib'] } }, deploymentEvent)).toBe(true);
  });

  it('a condition on an array holds for the array or one of its elements', () => {
    const event = { ...deploymentEvent, deployment: { tags: ['blue', 'canary'], sizes: [1, 5] } };
    expect(matches({ 'deployment.tags': 'canary' }, event)).toBe(true);
    expect(matches({ 'deployment.tags': ['blue', 'canary'] }, event)).toBe(true);
    expect(matches({ 'deployment.tags': { $nin: ['canary'] } }, event)).toBe(false);
    expect(matches({ 'deployment.sizes': { $gt: 4 } }, event)).toBe(true);
    expect(matches({ 'deployment.sizes': { $gt: 5 } }, event)).toBe(false);
  });

  it('$and and $or combine filters: only incidents, or errors not caused by a bot', () => {
    const humans = { $or: [{ type: 'incident.create' }, { level: 'ERROR', 'actor.name': { $nin: ['deploy-bot', 'renovate[bot]'] } }] };
    expect(matches(humans, { ...issueEvent, type: 'incident.create' })).toBe(true);
    expect(matches(humans, { ...issueEvent, level: 'ERROR' })).toBe(false);
    expect(matches(humans, { ...issueEvent, level: 'ERROR', actor: { name: 'Ann' } })).toBe(true);
  });

  it('never reads inherited properties', () => {
    expect(matches({ 'deployment.constructor': { $exists: true } }, deploymentEvent)).toBe(false);
    expect(matches({ 'deployment.__proto__': { $exists: true } }, deploymentEvent)).toBe(false);
    expect(matches({ 'deployment.toString': null }, deploymentEvent)).toBe(true);
  });
});

describe('webhook filters: validation names the bad part', () => {
  const problems = (filter: unknown) => filterProblems(filter).map((p) => `${p.field}: ${p.message}`);

  it.each([
    [[], 'filter: a filter is a JSON object'],
    ['level', 'filter: a filter is a JSON object'],
    [{ levl: 'ERROR' }, 'filter["levl"]: the event has no field "levl"; its fields are id, type, level'],
    [{ 'issue.stauts': 'DONE' }, 'filter["issue.stauts"]: "issue" has no field "stauts"; its fields are id, key, name, status'],
    [{ 'level.name': 'x' }, 'filter["level.name"]: "level" is a single value'],
    [{ 'mentions.mail': 'x' }, 'filter["mentions.mail"]: "mentions" has no field "mail"'],
    [{ 'issue..status': 'x' }, 'filter["issue..status"]: a path is event fields separated by dots'],
    [{ level: 'error' }, 'filter["level"]: "error" is never the event\'s level; it is one of INFO, SUCCESS, WARN, ERROR'],
    [{ type: { $in: ['deployment.create', 'deploy'] } }, 'filter["type"].$in[1]: "deploy" is never the event\'s type'],
    [{ level: { $in: 'ERROR' } }, 'filter["level"].$in: $in takes an array of values'],
    [{ level: { $exists: 1 } }, 'filter["level"].$exists: $exists takes true or false'],
    [{ 'actor.id': { $gt: true } }, 'filter["actor.id"].$gt: $gt takes a number or a string'],
    [
      { title: { $regex: '(a)\\1' } },
      'filter["title"].$regex: not a pattern RE2 accepts (error parsing regexp: invalid escape sequence: `\\1`); filters match in linear time, so backreferences and lookaround are not supported',
    ],
    [{ title: { $regex: '(?=x)' } }, 'filter["title"].$regex: not a pattern RE2 accepts'],
    [{ title: { $regex: 7 } }, 'filter["title"].$regex: $regex takes a pattern as a string'],
    [{ title: { $regx: 'a' } }, 'filter["title"].$regx: unknown operator $regx'],
    [{ title: { $eq: 'a', name: 'b' } }, 'filter["title"]: mixes operators ($eq) with fields (name)'],
    [
      { deployment: { environment: { $eq: 'PRODUCTION' } } },
      'filter["deployment"]: an operator ($eq) inside a value: conditions on nested fields are written with dotted paths',
    ],
    [{ $eq: 'x' }, 'filter.$eq: $eq applies to a field'],
    [{ $nor: [] }, 'filter.$nor: unknown operator $nor'],
    [{ $or: [] }, 'filter.$or: $or takes a non-empty array of filters'],
    [{ $and: [{ level: 'ERROR' }, 'x'] }, 'filter.$and[1]: must be an object of conditions'],
  ])('%j → %s', (filter, expected) => {
    const found = problems(filter);
    expect(found.length).toBeGreaterThan(0);
    expect(found.some((p) => p.startsWith(expected))).toBe(true);
  });

  it('limits: size, depth, conditions, $in values, regexes, pattern length', () => {
    expect(problems({ title: 'x'.repeat(FILTER_LIMITS.bytes) })[0]).toMatch(/^filter: a filter holds at most 8192 bytes of JSON/);
    let deep: Record<string, unknown> = { level: 'ERROR' };
    for (let i = 0; i < FILTER_LIMITS.depth + 1; i++) deep = { $and: [deep] };
    expect(problems(deep)[0]).toMatch(/^filter(\.\$and\[0\])+\.\$and: \$and and \$or nest at most 8 levels deep/);
    const many = { $and: Array.from({ length: 30 }, () => ({ level: 'ERROR', title: 'a', description: 'b' })) };
    expect(problems(many)).toContain('filter: a filter holds at most 64 conditions; this one has 90');
    expect(problems({ title: { $in: Array.from({ length: 101 }, (_, i) => String(i)) } })[0]).toMatch(
      /^filter\["title"\]\.\$in: \$in takes at most 100 values/,
    );
    const regexes = { $or: Array.from({ length: 17 }, () => ({ title: { $regex: 'a' } })) };
    expect(problems(regexes)).toContain('filter: a filter holds at most 16 $regex conditions; this one has 17');
    expect(problems({ title: { $regex: 'a'.repeat(257) } })[0]).toMatch(/at most 256 characters/);
    expect(() => compileFilter({ levl: 1 })).toThrow(ValidationFailed);
  });

  it('documents every path it accepts', () => {
    expect(filterPaths()).toEqual(
      expect.arrayContaining(['level', 'issue.status', 'issue.creator.email', 'mentions[].email', 'deployment.*', 'rollout.environment']),
    );
    for (const path of filterPaths()) {
      const key = path.replace('[]', '').replace('.*', '.environment');
      expect(filterProblems({ [key]: { $exists: true } })).toEqual([]);
    }
  });

  it('accepts every catalogue type and level in closed-value positions', () => {
    expect(filterProblems({ type: { $in: [...EVENT_TYPES] }, level: { $nin: ['INFO', 'SUCCESS', 'WARN', 'ERROR'] } })).toEqual([]);
  });
});

// ---- Property tests: the evaluator never throws, and its cost is bounded by the input's size. ----

/** The size of a JSON value: one per node, plus the characters of its strings. */
function size(v: unknown): number {
  if (typeof v === 'string') return 1 + v.length;
  if (Array.isArray(v)) return 1 + v.reduce((n: number, x) => n + size(x), 0);
  if (v && typeof v === 'object') return 1 + Object.entries(v).reduce((n, [k, x]) => n + k.length + size(x), 0);
  return 1;
}

const PATHS = [
  'type',
  'level',
  'title',
  'description',
  'link',
  'source',
  'occurredAt',
  'projectKey',
  'actor.name',
  'actor.id',
  'issue.status',
  'issue.key',
  'issue.creator',
  'issue.creator.email',
  'rollout.environment',
  'stage.status',
  'comment.text',
  'mentions',
  'mentions.email',
  'mentions.0.name',
  'mentions.name',
  'deployment',
  'deployment.environment',
  'deployment.commits.refName',
  'deployment.commits.0.commitSha',
  'deployment.a.b.c',
  'deployment.tags',
];
const text = fc.oneof(
  fc.string({ maxLength: 12 }),
  fc.constantFrom('PRODUCTION', 'STAGING', 'ERROR', 'SUCCESS', 'DONE', 'release/1.2', 'bb.issue.create', 'deployment.create', ''),
  fc.nat({ max: 3000 }).map((n) => 'a'.repeat(n) + '!'),
);
const scalar = fc.oneof(text, fc.integer({ min: -5, max: 5 }), fc.boolean(), fc.constant(null));
const { value: jsonValue } = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    scalar,
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(fc.constantFrom('a', 'b', 'c', 'environment', 'refName'), tie('value'), { maxKeys: 3 }),
  ),
}));
/** Patterns from benign to the classic catastrophic-backtracking ones (linear under RE2). */
const pattern = fc.constantFrom('^release/', '(?i)prod', '(a+)+$', '(a|aa)+b', '(x+x+)+y', '^(a?){30}a{30}$', '[0-9]+', 'a.*b.*c.*d', '.*.*.*=.*', '(?s).+');
const operator: fc.Arbitrary<unknown> = fc.oneof(
  scalar,
  fc.record({ $eq: jsonValue }),
  fc.record({ $ne: jsonValue }),
  fc.record({ $in: fc.array(jsonValue, { maxLength: 6 }) }),
  fc.record({ $nin: fc.array(scalar, { maxLength: 6 }) }),
  fc.record({ $exists: fc.boolean() }),
  fc.record({ $gt: fc.oneof(fc.integer(), text) }, { requiredKeys: [] }).map((r) => ({ $gt: 0, ...r })),
  fc.record({ $lte: fc.oneof(fc.integer(), text) }),
  fc.record({ $regex: pattern }),
);
/** Filters that validate (closed-value paths get values from their sets). */
const { filter: validFilter } = fc.letrec((tie) => ({
  filter: fc.oneof(
    { depthSize: 'small', maxDepth: 4 },
    fc.dictionary(fc.constantFrom(...PATHS), operator, { minKeys: 1, maxKeys: 4 }),
    fc.record({ $and: fc.array(tie('filter'), { minLength: 1, maxLength: 3 }) }),
    fc.record({ $or: fc.array(tie('filter'), { minLength: 1, maxLength: 3 }) }),
  ),
}));
const compilable = validFilter
  .map((f) => checkFilter(f))
  .filter((c) => c.compiled !== null)
  .map((c) => c.compiled as CompiledFilter);

const person = fc.record({ id: fc.oneof(fc.integer(), text), name: text, email: text, phone: text }, { requiredKeys: [] });
const eventLike = fc.record(
  {
    type: fc.constantFrom(...EVENT_TYPES),
    level: fc.constantFrom('INFO', 'SUCCESS', 'WARN', 'ERROR'),
    title: text,
    description: text,
    source: fc.constantFrom('api', 'devlake'),
    occurredAt: fc.constantFrom('2024-05-01T10:00:00.000Z', '2023-01-01T00:00:00.000Z'),
    actor: person,
    issue: fc.record({ status: text, key: text, creator: person }, { requiredKeys: [] }),
    rollout: fc.record({ environment: text }, { requiredKeys: [] }),
    mentions: fc.array(person, { maxLength: 30 }),
    deployment: fc.oneof(
      jsonValue,
      fc.record(
        {
          environment: text,
          commits: fc.array(fc.record({ refName: text, commitSha: text }, { requiredKeys: [] }), { maxLength: 20 }),
          tags: fc.array(text, { maxLength: 5 }),
        },
        { requiredKeys: [] },
      ),
    ),
  },
  { requiredKeys: ['type', 'level'] },
);
/** Any event the relay could read, and values no event is (a filter must not care). */
const anyEvent = fc.oneof(eventLike, eventLike, jsonValue);

const unbounded = (): FilterCost => ({ steps: 0, limit: Infinity });

describe('webhook filters: properties', () => {
  it('checking any JSON never throws: a compiled filter, or problems that each name a part of it', () => {
    fc.assert(
      fc.property(fc.oneof(validFilter, jsonValue, fc.dictionary(fc.string(), jsonValue)), (input) => {
        const { compiled, problems } = checkFilter(input);
        if (problems.length) return compiled === null && problems.every((p) => p.field.startsWith('filter') && p.message.length > 0);
        return input === null || compiled !== null;
      }),
      { numRuns: 2000 },
    );
  });

  it('evaluation never throws, on any event', () => {
    fc.assert(
      fc.property(compilable, anyEvent, (filter, event) => {
        matchesFilter(filter, event);
        return true;
      }),
      { numRuns: 2000 },
    );
  });

  it('steps ≤ 8 · size(filter) · (1 + size(event)): no condition, combination or regex costs more than a pass over the event', () => {
    fc.assert(
      fc.property(validFilter, anyEvent, (input, event) => {
        const { compiled: filter } = checkFilter(input);
        fc.pre(filter !== null);
        const cost = unbounded();
        matchesFilter(filter, event, cost);
        return cost.steps <= 8 * size(input) * (1 + size(event));
      }),
      { numRuns: 1000 },
    );
  });

  it('linear in the filter: $and of two filters costs at most the two plus a step', () => {
    fc.assert(
      fc.property(compilable, compilable, anyEvent, (a, b, event) => {
        const [ca, cb, cab] = [unbounded(), unbounded(), unbounded()];
        matchesFilter(a, event, ca);
        matchesFilter(b, event, cb);
        matchesFilter({ root: { kind: 'and', nodes: [a.root, b.root] }, conditions: 0 } as never, event, cab);
        return cab.steps <= ca.steps + cb.steps + 1;
      }),
      { numRuns: 500 },
    );
  });

  it('linear in the event: doubling arrays and texts at most doubles the steps', () => {
    const filter = compileFilter({
      'mentions.email': { $regex: '(a+)+$', $nin: ['x', { a: 1 }] },
      'mentions.name': { $in: ['nobody', { a: [1, 2] }] },
      'deployment.commits.refName': { $regex: '(x+x+)+y' },
      'deployment.commits': { $eq: [{ refName: 'a' }] },
      $or: [{ 'deployment.commits.commitSha': { $gt: 'zzz' } }, { 'mentions.phone': { $exists: false } }],
    });
    const event = (n: number) => ({
      type: 'deployment.create',
      level: 'SUCCESS',
      mentions: Array.from({ length: n }, (_, i) => ({ name: `n${i}`, email: 'a'.repeat(n) + '!' })),
      deployment: { commits: Array.from({ length: n }, () => ({ refName: 'x'.repeat(n), commitSha: 'abc' })) },
    });
    const steps = [25, 50, 100, 200, 400, 800].map((n) => {
      const cost = unbounded();
      matchesFilter(filter, event(n), cost);
      return { n, steps: cost.steps, size: size(event(n)) };
    });
    // The event grows about fourfold per doubling of n (n elements of n characters); steps per unit
    // of size stay below a constant instead of growing with n (a quadratic cost would double it each time).
    // (Measured: 0.32, 0.39, 0.44, 0.46, 0.48, 0.49 steps per unit of size for n = 25 … 800.)
    const perSize = steps.map((s) => s.steps / s.size);
    for (const ratio of perSize) expect(ratio).toBeLessThanOrEqual(1);
    for (let i = 1; i < perSize.length; i++) expect(perSize[i] / perSize[i - 1]).toBeLessThanOrEqual(1.25);
    expect(perSize[perSize.length - 1] / perSize[perSize.length - 2]).toBeLessThanOrEqual(1.05);
  });

  it('an event that would need more than FILTER_LIMITS.steps passes unfiltered, and says so', () => {
    const filter = compileFilter({ 'mentions.email': { $regex: 'needle' } });
    const huge = { type: 'bb.issue.create', mentions: Array.from({ length: 100 }, () => ({ email: 'hay'.repeat(2000) })) };
    const cost: FilterCost = { steps: 0 };
    expect(matchesFilter(filter, huge, cost)).toBe(true);
    expect(cost.exhausted).toBe(true);
    expect(cost.steps).toBeLessThanOrEqual(FILTER_LIMITS.steps + FILTER_LIMITS.regexInputChars + 1);
    // Within the limit the verdict stands.
    const small = { type: 'bb.issue.create', mentions: [{ email: 'hay' }] };
    const c2: FilterCost = { steps: 0 };
    expect(matchesFilter(filter, small, c2)).toBe(false);
    expect(c2.exhausted).toBeUndefined();
  });

  it('$regex reads the first FILTER_LIMITS.regexInputChars characters of a value', () => {
    const filter = compileFilter({ description: { $regex: 'needle' } });
    expect(matchesFilter(filter, { description: 'x'.repeat(FILTER_LIMITS.regexInputChars - 6) + 'needle' })).toBe(true);
    expect(matchesFilter(filter, { description: 'x'.repeat(FILTER_LIMITS.regexInputChars) + 'needle' })).toBe(false);
  });
});
