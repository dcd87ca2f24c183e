import fc from 'fast-check';
import { ValidationFailed } from '@herald/domain';
import { parseDeployment, parseDevLakeDate, parseIssue, parsePullRequest } from './payloads';

const NOW = new Date('2024-05-01T00:00:00Z');

/** Any JSON value, biased towards the keys the parsers read so they reach deep branches. */
const KEYS = ['id', 'commit_sha', 'repo_url', 'environment', 'start_time', 'end_time', 'pipeline_id', 'deployment_commits', 'deploymentCommits', 'repoUrl', 'commitSha',
  'startedDate', 'finishedDate', 'createdDate', 'issue_key', 'issueKey', 'title', 'status', 'original_status', 'created_date', 'resolution_date', 'lead_time_minutes',
  'story_point', 'displayTitle', 'pullRequestKey', 'isDraft', 'additions', 'result'];
const leaf = fc.oneof(fc.string(), fc.integer(), fc.double(), fc.boolean(), fc.constant(null), fc.constantFrom('2024-01-01T00:00:00Z', '2024-01-01 10:00:00', 'TODO', 'DONE', 'PRODUCTION', 'MERGED', '', '9'.repeat(30)));
const { json } = fc.letrec((tie) => ({
  json: fc.oneof({ depthSize: 'small' }, leaf, fc.array(tie('json'), { maxLength: 3 }), fc.dictionary(fc.oneof(fc.constantFrom(...KEYS), fc.string()), tie('json'), { maxKeys: 8 })),
}));

/** A parser either returns a value or throws ValidationFailed naming fields; nothing else. */
function wellBehaved(parse: () => unknown): boolean {
  try {
    parse();
    return true;
  } catch (err) {
    return err instanceof ValidationFailed && err.details.length > 0 && err.details.every((d) => d.field.length > 0 && d.message.length > 0);
  }
}

describe('DevLake parsers on arbitrary JSON', () => {
  it('answer a value or a ValidationFailed naming fields, never another error', () => {
    fc.assert(
      fc.property(json, (body) => wellBehaved(() => parseDeployment(body, 1, NOW)) && wellBehaved(() => parseIssue(body)) && wellBehaved(() => parsePullRequest(body))),
      { numRuns: 2000 },
    );
  });

  it('reads every date it accepts as a valid instant, and round-trips RFC 3339', () => {
    fc.assert(
      fc.property(fc.date({ min: new Date('0001-01-01T00:00:00Z'), max: new Date('9999-12-31T23:59:59Z'), noInvalidDate: true }), (d) => {
        return parseDevLakeDate(d.toISOString())?.getTime() === d.getTime();
      }),
    );
    fc.assert(fc.property(fc.string(), (s) => { const d = parseDevLakeDate(s); return d === null || !Number.isNaN(d.getTime()); }));
  });
});
