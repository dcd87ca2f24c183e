import { ValidationFailed } from '@herald/domain';
import { issueEvents } from './events';
import { closedIssue, deploymentShape, parseDeployment, parseDevLakeDate, parseIssue, parsePullRequest, readDeployment, readDevLakeDate } from './payloads';

const NOW = new Date('2024-05-01T00:00:00Z');

/** The fields named by a rejection. */
function rejected(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    if (err instanceof ValidationFailed) return err.details.map((d) => d.field);
    throw err;
  }
  throw new Error('expected a ValidationFailed');
}

describe('parseDevLakeDate', () => {
  it.each([
    ['2020-01-01T12:00:00+00:00', '2020-01-01T12:00:00.000Z'],
    ['2020-01-01T12:00:00Z', '2020-01-01T12:00:00.000Z'],
    ['2020-01-01T14:00:00+0200', '2020-01-01T12:00:00.000Z'],
    ['2020-01-01T07:30:00-04:30', '2020-01-01T12:00:00.000Z'],
    ['2020-01-01T12:00:00.123456+00:00', '2020-01-01T12:00:00.123Z'],
    ['2020-01-01 12:00:00', '2020-01-01T12:00:00.000Z'],
    ['2020-01-01 12:00', '2020-01-01T12:00:00.000Z'],
    ['2024-02-29T00:00:00Z', '2024-02-29T00:00:00.000Z'],
  ])('reads %s', (text, iso) => {
    expect(parseDevLakeDate(text)?.toISOString()).toBe(iso);
  });

  it.each([
    // An offset can move a date across a day, a month and a year, years 0-99 included.
    ['2021-01-01T00:30:00+01:00', '2020-12-31T23:30:00.000Z'],
    ['0050-03-01T00:30:00+01:00', '0050-02-28T23:30:00.000Z'],
    ['0001-01-01T12:00:00+01:00', '0001-01-01T11:00:00.000Z'],
    ['0001-01-01T00:00:00Z', '0001-01-01T00:00:00.000Z'],
    ['0004-02-29T00:00:00Z', '0004-02-29T00:00:00.000Z'],
    ['9999-12-31T23:59:59+05:00', '9999-12-31T18:59:59.000Z'],
    ['9999-12-31 23:59:59', '9999-12-31T23:59:59.000Z'],
  ])('reads %s at the edges of the calendar', (text, iso) => {
    expect(parseDevLakeDate(text)?.toISOString()).toBe(iso);
  });

  it.each([
    '2020-01-01T12:00:00',
    '2020-01-01',
    'yesterday',
    '2023-02-29T00:00:00Z',
    '0100-02-29T00:00:00Z',
    '2020-13-01T00:00:00Z',
    '2020-01-01T24:00:00Z',
    '1577880000',
  ])('refuses %s as unreadable', (text) => {
    expect(readDevLakeDate(text)).toBe('unreadable');
    expect(parseDevLakeDate(text)).toBeNull();
  });

  // Postgres cannot store these instants (JavaScript writes them `+010000-…` and `0000-…`).
  it.each(['9999-12-31T23:59:59-23:59', '9999-12-31T23:00:00-05:00', '0001-01-01T00:30:00+01:00', '0000-06-01T00:00:00Z'])(
    'refuses %s as out of range in UTC',
    (text) => {
      expect(readDevLakeDate(text)).toBe('out of range');
      expect(parseDevLakeDate(text)).toBeNull();
    },
  );
});

describe('deployments', () => {
  const seed = {
    commit_sha: '015e3d3b480e417aede5a1293bd61de9b0fd051d',
    repo_url: 'https://github.com/apache/incubator-devlake/',
    environment: 'PRODUCTION',
    start_time: '2020-01-01T12:00:00+00:00',
    end_time: '2020-01-02T12:00:00+00:00',
  };

  it("reads the seed's form with the id C:<md5-16(repo_url)>:<sha>", () => {
    const d = parseDeployment(seed, 7, NOW);
    expect(deploymentShape(seed)).toBe('seed');
    // md5("https://github.com/apache/incubator-devlake/") = c47dd68db2cd4548…
    expect(d.id).toBe('7:c47dd68db2cd4548:015e3d3b480e417aede5a1293bd61de9b0fd051d');
    expect(d.commits[0].id).toBe('c47dd68db2cd4548:015e3d3b480e417aede5a1293bd61de9b0fd051d');
    expect(d).toMatchObject({ result: 'SUCCESS', environment: 'PRODUCTION', durationSec: 86_400 });
    expect(d.finishedDate.toISOString()).toBe('2020-01-02T12:00:00.000Z');
    expect(d.commits).toHaveLength(1);
  });

  it('defaults the environment to PRODUCTION and end_time to the time of receipt', () => {
    const d = parseDeployment({ commit_sha: 'abc', repo_url: 'r' }, 1, NOW);
    expect(d.environment).toBe('PRODUCTION');
    expect(d.finishedDate).toEqual(NOW);
    expect(d.startedDate).toBeNull();
  });

  it('reads the later snake_case form with pipeline_id and a commit list', () => {
    const body = {
      pipeline_id: 'p-42',
      result: 'FAILURE',
      environment: 'STAGING',
      start_time: '2024-01-01 10:00:00',
      end_time: '2024-01-01 10:30:00',
      deployment_commits: [
        { repo_url: 'https://git/a', commit_sha: 'a1', ref_name: 'main' },
        { repo_url: 'https://git/b', commit_sha: 'b1' },
      ],
    };
    const d = parseDeployment(body, 1, NOW);
    expect(deploymentShape(body)).toBe('snake');
    expect(d).toMatchObject({ id: 'p-42', result: 'FAILURE', environment: 'STAGING', name: 'deployment for a1,b1', durationSec: 1800 });
    expect(d.commits.map((c) => [c.repoUrl, c.commitSha, c.refName])).toEqual([
      ['https://git/a', 'a1', 'main'],
      ['https://git/b', 'b1', null],
    ]);
  });

  it("reads DevLake's camelCase form with its defaults", () => {
    const body = {
      id: 123,
      startedDate: '2024-03-01T10:00:00Z',
      finishedDate: '2024-03-01T11:00:00Z',
      deploymentCommits: [
        { repoUrl: 'https://git/a', commitSha: 'a1', startedDate: '2024-03-01T10:00:00Z', finishedDate: '2024-03-01T11:00:00Z' },
        {
          repourl: 'https://git/b',
          commitsha: 'b1',
          starteddate: '2024-03-01T10:00:00Z',
          finisheddate: '2024-03-01T11:00:00Z',
          createdDate: '2024-02-01T00:00:00Z',
        },
      ],
    };
    const d = parseDeployment(body, 1, NOW);
    expect(deploymentShape(body)).toBe('camel');
    expect(d).toMatchObject({ id: '123', result: 'SUCCESS', environment: 'PRODUCTION', name: 'deploy a1,b1 to PRODUCTION', durationSec: 3600 });
    expect(d.createdDate?.toISOString()).toBe('2024-03-01T10:00:00.000Z');
    expect(d.commits[0]).toMatchObject({ status: 'DONE', result: 'SUCCESS', name: 'deployment for a1' });
    expect(d.commits[0].createdDate?.toISOString()).toBe('2024-03-01T10:00:00.000Z');
    expect(d.commits[1].createdDate?.toISOString()).toBe('2024-02-01T00:00:00.000Z');
  });

  it('names every bad field', () => {
    expect(rejected(() => parseDeployment({ repo_url: 'r' }, 1, NOW))).toEqual(['commit_sha']);
    expect(rejected(() => parseDeployment({ commit_sha: 's', repo_url: 'r', environment: 'prod', end_time: 'soon' }, 1, NOW)).sort()).toEqual([
      'end_time',
      'environment',
    ]);
    expect(rejected(() => parseDeployment({ pipeline_id: 'p', deployment_commits: [] }, 1, NOW))).toEqual(['deployment_commits']);
    expect(rejected(() => parseDeployment({ pipeline_id: 'p', deployment_commits: [{ repo_url: 'r' }, 'x'] }, 1, NOW))).toEqual([
      'deployment_commits[0].commit_sha',
      'deployment_commits[1]',
    ]);
    expect(rejected(() => parseDeployment({ id: 'd', startedDate: '2024-01-01T00:00:00Z', deploymentCommits: [] }, 1, NOW)).sort()).toEqual([
      'deploymentCommits',
      'finishedDate',
    ]);
    expect(rejected(() => parseDeployment({ startedDate: 'x', finishedDate: '2024-01-01T00:00:00Z' }, 1, NOW)).sort()).toEqual([
      'deploymentCommits',
      'id',
      'startedDate',
    ]);
    expect(rejected(() => parseDeployment([1, 2], 1, NOW))).toEqual(['body']);
  });

  it('refuses dates that fall outside the years 0001-9999 in UTC, naming the field', () => {
    expect(rejected(() => parseDeployment({ ...seed, start_time: '9999-12-31T23:00:00-05:00' }, 1, NOW))).toEqual(['start_time']);
    expect(rejected(() => parseDeployment({ ...seed, end_time: '0001-01-01T00:00:00+00:01' }, 1, NOW))).toEqual(['end_time']);
    const commit = { repoUrl: 'r', commitSha: 's', startedDate: '2024-01-01T00:00:00Z', finishedDate: '9999-12-31T23:59:59-00:01' };
    expect(
      rejected(() =>
        parseDeployment({ id: 'd', startedDate: '2024-01-01T00:00:00Z', finishedDate: '2024-01-01T00:00:00Z', deploymentCommits: [commit] }, 1, NOW),
      ),
    ).toEqual(['deploymentCommits[0].finishedDate']);
    expect(() => parseDeployment({ ...seed, start_time: '9999-12-31T23:00:00-05:00' }, 1, NOW)).toThrow(
      'start_time: must fall within the years 0001 to 9999 once converted to UTC; got "9999-12-31T23:00:00-05:00"',
    );
  });

  it('reads the body without the connection, whose id only the seed form needs', () => {
    expect(readDeployment(seed, NOW).id).toBeNull();
    expect(readDeployment({ ...seed, pipeline_id: 'p-1' }, NOW).id).toBe('p-1');
    expect(parseDeployment({ ...seed, pipeline_id: 'p-1' }, 7, NOW).id).toBe('p-1');
  });
});

describe('issues', () => {
  const seed = {
    board_key: 'DLK',
    url: '',
    issue_key: 'DLK-1234',
    title: 'a feature from DLK',
    description: '',
    epic_key: '',
    type: 'BUG',
    status: 'TODO',
    original_status: 'created',
    story_point: 0,
    resolution_date: null,
    created_date: '2020-01-01T12:00:00+00:00',
    updated_date: null,
    lead_time_minutes: 0,
    parent_issue_key: 'DLK-1200',
    priority: '',
    original_estimate_minutes: 0,
    time_spent_minutes: 0,
    time_remaining_minutes: 0,
    creator_id: 'user1131',
    creator_name: 'Nick name 1',
    assignee_id: 'user1132',
    assignee_name: 'Nick name 2',
    severity: '',
    component: '',
  };

  it("reads the seed's sample body", () => {
    const issue = parseIssue(seed);
    expect(issue).toMatchObject({
      issueKey: 'DLK-1234',
      boardKey: 'DLK',
      status: 'TODO',
      type: 'BUG',
      resolutionDate: null,
      leadTimeMinutes: 0,
      assigneeId: 'user1132',
    });
  });

  it('reads camelCase and computes the lead time from created to resolved', () => {
    const issue = parseIssue({
      issueKey: 'INC-1',
      title: 't',
      status: 'DONE',
      originalStatus: 'closed',
      createdDate: '2024-01-01T00:00:00Z',
      resolutionDate: '2024-01-01T01:30:59Z',
      type: 'INCIDENT',
    });
    expect(issue).toMatchObject({ issueKey: 'INC-1', boardKey: null, leadTimeMinutes: 90 });
  });

  it('names every bad field, in the spelling of the shape', () => {
    expect(rejected(() => parseIssue({ ...seed, status: 'OPEN', created_date: 'nope', story_point: 'many' })).sort()).toEqual([
      'created_date',
      'status',
      'story_point',
    ]);
    expect(rejected(() => parseIssue({ issueKey: 'K', title: 't', status: 'TODO' })).sort()).toEqual(['createdDate', 'originalStatus']);
    expect(rejected(() => parseIssue({ ...seed, title: { nested: true } }))).toEqual(['title']);
    expect(rejected(() => parseIssue({ ...seed, created_date: '9999-12-31T23:59:59-23:59' }))).toEqual(['created_date']);
    expect(
      rejected(() =>
        parseIssue({
          issueKey: 'K',
          title: 't',
          status: 'TODO',
          originalStatus: 'o',
          createdDate: '2024-01-01T00:00:00Z',
          resolutionDate: '0001-01-01T00:00:00+01:00',
        }),
      ),
    ).toEqual(['resolutionDate']);
  });

  it('closes: DONE, resolved now when unset, lead time when unset', () => {
    const open = parseIssue({ ...seed, lead_time_minutes: 0 });
    const closed = closedIssue(open, new Date('2020-01-02T12:00:00Z'));
    expect(closed).toMatchObject({ status: 'DONE', leadTimeMinutes: 1440 });
    expect(closed.resolutionDate?.toISOString()).toBe('2020-01-02T12:00:00.000Z');
    expect(closedIssue(closed, NOW)).toBe(closed);
  });

  it('emits create, status, field, incident events as docs/contract.md §5.2 says', () => {
    const created = parseIssue({ ...seed, type: 'INCIDENT' });
    expect(issueEvents(null, created, NOW).map((e) => e.type)).toEqual(['bb.issue.create', 'incident.create']);
    const progressed = { ...created, status: 'IN_PROGRESS' };
    const [status] = issueEvents(created, progressed, NOW);
    expect([status.type, status.title, status.level]).toEqual(['bb.issue.status.update', 'Issue status changed', 'INFO']);
    const renamed = { ...progressed, title: 'new title', assigneeName: 'Someone' };
    expect(issueEvents(progressed, renamed, NOW).map((e) => e.type)).toEqual(['bb.issue.field.update']);
    const done = closedIssue(renamed, NOW);
    const resolved = issueEvents(renamed, done, NOW);
    expect(resolved.map((e) => [e.type, e.title, e.level])).toEqual([
      ['bb.issue.status.update', 'Issue resolved', 'SUCCESS'],
      ['incident.resolve', 'Incident resolved', 'SUCCESS'],
    ]);
    expect(resolved[0].body).toMatchObject({ issue: { key: 'DLK-1234', status: 'DONE' } });
    expect(issueEvents(done, { ...done, status: 'TODO' }, NOW)[0].title).toBe('Issue reopened');
  });
});

describe('pull requests', () => {
  it('reads the current form', () => {
    const pr = parsePullRequest({
      id: 'pr-1',
      displayTitle: 'Fix',
      pullRequestKey: '12',
      createdDate: '2024-01-01T00:00:00Z',
      status: 'MERGED',
      mergeCommitSha: 'abc',
      isDraft: false,
    });
    expect(pr).toMatchObject({ pullRequestKey: 12, externalId: 'pr-1', status: 'MERGED', mergeCommitSha: 'abc', isDraft: false });
  });

  it('names every bad field', () => {
    expect(
      rejected(() => parsePullRequest({ id: 'x', displayTitle: 't', pullRequestKey: 0, createdDate: '2024-01-01T00:00:00Z', status: 'DRAFT' })).sort(),
    ).toEqual(['pullRequestKey', 'status']);
    expect(rejected(() => parsePullRequest({})).sort()).toEqual(['createdDate', 'displayTitle', 'id', 'pullRequestKey']);
    expect(rejected(() => parsePullRequest({ id: 'x', displayTitle: 't', pullRequestKey: 1.5, createdDate: '2024-01-01T00:00:00Z' }))).toEqual([
      'pullRequestKey',
    ]);
    expect(rejected(() => parsePullRequest({ id: 'x', displayTitle: 't', pullRequestKey: 1, createdDate: '9999-12-31T23:59:59-05:00' }))).toEqual([
      'createdDate',
    ]);
  });
});
