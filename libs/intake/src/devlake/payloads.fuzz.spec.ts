import fc from 'fast-check';
import { ValidationFailed } from '@herald/domain';
import { findUnstorable, mayHoldUnstorable } from '@herald/platform';
import { parseDeployment, parseDevLakeDate, parseIssue, parsePullRequest, readDevLakeDate } from './payloads';

const NOW = new Date('2024-05-01T00:00:00Z');

/** Any JSON value, biased towards the keys the parsers read so they reach deep branches. */
const KEYS = [
  'id',
  'commit_sha',
  'repo_url',
  'environment',
  'start_time',
  'end_time',
  'pipeline_id',
  'deployment_commits',
  'deploymentCommits',
  'repoUrl',
  'commitSha',
  'startedDate',
  'finishedDate',
  'createdDate',
  'issue_key',
  'issueKey',
  'title',
  'status',
  'original_status',
  'created_date',
  'resolution_date',
  'lead_time_minutes',
  'story_point',
  'displayTitle',
  'pullRequestKey',
  'isDraft',
  'additions',
  'result',
];
const leaf = fc.oneof(
  fc.string(),
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.constantFrom(
    '2024-01-01T00:00:00Z',
    '2024-01-01 10:00:00',
    '2024-01-01T00:00:00+05:30',
    '9999-12-31T23:59:59-23:59',
    '0001-01-01T00:00:00+01:00',
    'TODO',
    'DONE',
    'PRODUCTION',
    'MERGED',
    '',
    '9'.repeat(30),
  ),
);
const { json } = fc.letrec((tie) => ({
  json: fc.oneof(
    { depthSize: 'small' },
    leaf,
    fc.array(tie('json'), { maxLength: 3 }),
    fc.dictionary(fc.oneof(fc.constantFrom(...KEYS), fc.string()), tie('json'), { maxKeys: 8 }),
  ),
}));

const FIRST = new Date('0001-01-01T00:00:00.000Z').getTime();
const LAST = new Date('9999-12-31T23:59:59.999Z').getTime();

/** Every date in a parsed value is one Postgres can store. */
function storableDates(value: unknown): boolean {
  if (value instanceof Date) return value.getTime() >= FIRST && value.getTime() <= LAST;
  if (value && typeof value === 'object') return Object.values(value).every(storableDates);
  return true;
}

/** A parser either returns a value whose dates can be stored or throws ValidationFailed naming fields; nothing else. */
function wellBehaved(parse: () => unknown): boolean {
  try {
    return storableDates(parse());
  } catch (err) {
    return err instanceof ValidationFailed && err.details.length > 0 && err.details.every((d) => d.field.length > 0 && d.message.length > 0);
  }
}

describe('DevLake parsers on arbitrary JSON', () => {
  it('answer a value or a ValidationFailed naming fields, never another error', () => {
    fc.assert(
      fc.property(
        json,
        (body) => wellBehaved(() => parseDeployment(body, 1, NOW)) && wellBehaved(() => parseIssue(body)) && wellBehaved(() => parsePullRequest(body)),
      ),
      { numRuns: 2000 },
    );
  });

  it('reads every date it accepts as a valid instant, and round-trips RFC 3339', () => {
    fc.assert(
      fc.property(fc.date({ min: new Date('0001-01-01T00:00:00Z'), max: new Date('9999-12-31T23:59:59Z'), noInvalidDate: true }), (d) => {
        return parseDevLakeDate(d.toISOString())?.getTime() === d.getTime();
      }),
    );
    fc.assert(
      fc.property(fc.string(), (s) => {
        const d = parseDevLakeDate(s);
        return d === null || !Number.isNaN(d.getTime());
      }),
    );
  });

  it('reads a wall time with any offset as the instant it names, and refuses one that leaves the years 0001-9999 in UTC', () => {
    // The calendar's ends, where an offset pushes the instant out of range, are drawn often.
    const wall = fc.oneof(
      fc.date({ min: new Date(FIRST), max: new Date(LAST), noInvalidDate: true }),
      fc.integer({ min: 0, max: 2 * 1440 * 60_000 }).chain((ms) => fc.constantFrom(new Date(FIRST + ms), new Date(LAST - ms))),
    );
    const offset = fc.integer({ min: -(23 * 60 + 59), max: 23 * 60 + 59 });
    fc.assert(
      fc.property(wall, offset, fc.boolean(), (w, minutes, colon) => {
        const abs = Math.abs(minutes);
        const zone = `${minutes < 0 ? '-' : '+'}${String(Math.floor(abs / 60)).padStart(2, '0')}${colon ? ':' : ''}${String(abs % 60).padStart(2, '0')}`;
        const text = w.toISOString().replace('Z', zone);
        const expected = w.getTime() - minutes * 60_000;
        const read = readDevLakeDate(text);
        return expected < FIRST || expected > LAST ? read === 'out of range' : read instanceof Date && read.getTime() === expected;
      }),
      { numRuns: 5000 },
    );
  });

  it('lets through only bodies whose every string and key Postgres can store (NUL, lone surrogates: 400 at the parser)', () => {
    // Any UTF-16 code unit, surrogates often (fast-check's own units never make a lone one);
    // JSON.stringify escapes a lone one (`"\ud800"`), as a producer would send it.
    const codeUnit = fc.oneof(fc.integer({ min: 0, max: 0xffff }), fc.integer({ min: 0xd800, max: 0xdfff }), fc.constant(0)).map((n) => String.fromCharCode(n));
    const text = fc.string({ unit: codeUnit, maxLength: 12 });
    const { body } = fc.letrec((tie) => ({
      body: fc.oneof(
        { depthSize: 'small' },
        text,
        fc.integer(),
        fc.constant(null),
        fc.array(tie('body'), { maxLength: 3 }),
        fc.dictionary(fc.oneof(fc.constantFrom(...KEYS), text), tie('body'), { maxKeys: 5 }),
      ),
    }));
    /** What Postgres (UTF-8 text and jsonb) stores unchanged: no NUL, every surrogate paired. */
    const storable = (value: unknown): boolean => {
      if (typeof value === 'string') return !value.includes('\u0000') && Buffer.from(value, 'utf8').toString('utf8') === value;
      if (value && typeof value === 'object') return Object.entries(value).every(([k, v]) => storable(k) && storable(v));
      return true;
    };
    fc.assert(
      fc.property(body, (value) => {
        const json = JSON.stringify(value);
        const parsed: unknown = JSON.parse(json);
        // The body parser's gate (libs/platform http-app): a cheap test of the text, then the walk.
        const refused = mayHoldUnstorable(json) && findUnstorable(parsed, 'body') !== null;
        return refused !== storable(parsed) && (refused || (wellBehaved(() => parseIssue(parsed)) && wellBehaved(() => parseDeployment(parsed, 1, NOW))));
      }),
      { numRuns: 3000 },
    );
  });
});
