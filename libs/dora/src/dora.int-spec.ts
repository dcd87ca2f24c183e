import { DataSource } from 'typeorm';
import {
  ConnectionRepository,
  DevLakeRepository,
  EventRepository,
  dataSourceOptions,
  type DevLakeConnectionEntity,
  type IssueFields,
  type NewPullRequest,
} from '@herald/persistence';
import { createTestDatabase } from '@herald/testing';
import { DORA_SQL, DoraQueries } from './dora.queries';
import { DoraService } from './dora.service';

/**
 * DORA against Postgres on a small data set whose answers are worked out by hand below.
 *
 * Window: 2024-03-04T00:00Z (a Monday) .. 2024-03-31T23:59:59Z: four whole weeks, one month.
 *
 * Successful PRODUCTION deployments of project "dora" (plus noise that must not count):
 *   D0 2024-02-20 10:00 (before the window)   commit c0
 *   D1 2024-03-05 10:00  week 1               commits c1 (repo a), c2 (repo b)
 *   D2 2024-03-05 15:00  week 1, same day     commit c3
 *   D3 2024-03-07 09:00  week 1               commits c1 (again), c4
 *   D4 2024-03-12 12:00  week 2               commit c5 (first posted as a FAILURE on 04-05 with c9)
 *   D5 2024-03-26 08:00  week 4               commit c6
 *   D6 2024-04-02 10:00 (after the window)    commit c7
 *   noise: F1 FAILURE 2024-03-13 (commit c7), S1 STAGING 2024-03-14, and project "other".
 *
 * Deployment frequency: 5 deployments (D1..D5) on 4 distinct days (Mar 5, 7, 12, 26).
 *   Days per week: [2, 1, 0, 1] → sorted [0, 1, 1, 2], percent ranks [0, 1/3, 1/3, 1] → median 1.
 *   Days per month: [4] → 4. 2023: weekly ≥ 1 → high. 2021: monthly ≥ 1 → high.
 *
 * Incidents (type INCIDENT), each blamed on the latest successful production deployment that
 * finished strictly before it was created:
 *   I0 created 03-05 08:00 → D0 (outside)      resolved 03-05 09:00
 *   I1 created 03-05 12:00 → D1                resolved 03-05 14:00  (D1 finish → resolved: 240)
 *   I2 created 03-05 15:00 → D1 (D2 finished at that very minute: not strictly before)
 *                                              resolved 03-06 10:00  (D1 finish → resolved: 1440)
 *   I3 created 03-13 09:00 → D4 (F1 failed)    unresolved
 *   I4 created 04-01 09:00 → D5 (no deployment between the window's end and it)  resolved 04-01 10:00 (outside)
 *   I5 created 04-03 00:00 → D6 (outside)
 *   A BUG issue on 03-08 is not an incident.
 * Change failure rate: D1, D4, D5 failed → 3 / 5 = 0.6 → 2023 low ("> 15%"), 2021 low ("> 30%").
 * Failed deployment recovery time (2023): incidents linked in the window and resolved in it:
 *   I1 240, I2 1440 → lower median 240 → high ("Less than one day"); 2 incidents.
 * Time to restore (2021): incidents resolved in the window, created → resolved:
 *   I0 60, I1 120, I2 1140 → median 120 → high; 3 incidents.
 *
 * Lead time (merged pull requests, first deployment of the merge commit in the window):
 *   P1 c1, first commit 03-01 10:00 → D1 03-05 10:00 = 5760 (D3's redeploy of c1 does not count)
 *   P2 c3, no first commit, created 03-05 09:00 → D2 03-05 15:00 = 360
 *   P3 c5, first commit 03-10 12:00 → D4 03-12 12:00 = 2880
 *   P7 c4, first commit 03-06 21:00:30 → D3 03-07 09:00 = 719.5 → rounded up 720
 *   P4 c0 (deployed before the window), P5 c7 (failed, then after the window), P6 open: none count.
 *   Sorted [360, 720, 2880, 5760] → lower median 720 → 2023 elite ("Less than one day"), 2021 high.
 *
 * Project "nopr" has no pull requests: lead time falls back to deployment commits' createdDate:
 *   E1 finished 03-10 12:00 with commits created 03-10 10:00 (120) and 03-09 12:00 (1440) → 120.
 */
describe('DORA metrics against Postgres', () => {
  let db: DataSource;
  let dora: DoraService;
  let store: DevLakeRepository;
  let connections: ConnectionRepository;
  const projects: Record<string, number> = {};
  const WINDOW = { from: '2024-03-04T00:00:00Z', to: '2024-03-31T23:59:59Z' };

  const t = (s: string) => new Date(`${s}Z`);

  async function deploy(
    c: DevLakeConnectionEntity,
    id: string,
    finished: string,
    shas: string[],
    extra: { result?: string; environment?: string; created?: string[] } = {},
  ) {
    const finishedDate = t(finished);
    await store.upsertDeployment(
      c,
      {
        id,
        name: id,
        displayTitle: null,
        result: extra.result ?? 'SUCCESS',
        environment: extra.environment ?? 'PRODUCTION',
        originalEnvironment: null,
        createdDate: null,
        startedDate: null,
        finishedDate,
        durationSec: null,
        commits: shas.map((sha, i) => ({
          id: `${i}:${sha}`,
          repoUrl: `https://git.example/${i}`,
          commitSha: sha,
          refName: null,
          commitMsg: null,
          name: null,
          displayTitle: null,
          result: extra.result ?? 'SUCCESS',
          status: 'DONE',
          createdDate: extra.created ? t(extra.created[i]) : null,
          startedDate: null,
          finishedDate,
        })),
      },
      () => [],
    );
  }

  async function incident(c: DevLakeConnectionEntity, key: string, created: string, resolved: string | null, type = 'INCIDENT') {
    const issue: IssueFields = {
      issueKey: key,
      boardKey: null,
      url: null,
      title: key,
      description: null,
      epicKey: null,
      type,
      status: resolved ? 'DONE' : 'TODO',
      originalStatus: 'x',
      storyPoint: null,
      resolutionDate: resolved ? t(resolved) : null,
      createdDate: t(created),
      updatedDate: null,
      leadTimeMinutes: null,
      parentIssueKey: null,
      priority: null,
      originalEstimateMinutes: null,
      timeSpentMinutes: null,
      timeRemainingMinutes: null,
      creatorId: null,
      creatorName: null,
      assigneeId: null,
      assigneeName: null,
      severity: null,
      component: null,
    };
    await store.upsertIssue(c, issue, () => []);
  }

  async function pr(c: DevLakeConnectionEntity, key: number, sha: string, created: string, firstCommit: string | null, status = 'MERGED') {
    const p: NewPullRequest = {
      pullRequestKey: key,
      externalId: `pr-${key}`,
      title: `PR ${key}`,
      status,
      originalStatus: null,
      description: null,
      url: null,
      authorName: null,
      authorId: null,
      mergeCommitSha: sha,
      headRef: null,
      baseRef: null,
      headCommitSha: null,
      baseCommitSha: null,
      additions: null,
      deletions: null,
      isDraft: null,
      createdDate: t(created),
      mergedDate: status === 'MERGED' ? t(created) : null,
      closedDate: null,
      firstCommitDate: firstCommit ? t(firstCommit) : null,
    };
    await store.upsertPullRequest(c, p);
  }

  beforeAll(async () => {
    db = new DataSource(dataSourceOptions({ url: await createTestDatabase(), poolSize: 5, applicationName: 'dora-int-spec' }));
    await db.initialize();
    store = new DevLakeRepository(db, new EventRepository(db));
    connections = new ConnectionRepository(db);
    dora = new DoraService(new DoraQueries(db));
    for (const key of ['dora', 'other', 'nopr', 'empty']) {
      [{ id: projects[key] }] = await db.query(`INSERT INTO projects (key, name) VALUES ($1, $1) RETURNING id`, [key]);
    }
    // Two connections in one project: linking and counting are per project, not per connection.
    const a = (await connections.create(projects.dora, 'dora-a')).entity;
    const b = (await connections.create(projects.dora, 'dora-b')).entity;
    const other = (await connections.create(projects.other, 'other')).entity;
    const nopr = (await connections.create(projects.nopr, 'nopr')).entity;

    // D4 is first posted as a failure after the window, with another commit; its re-post below
    // must replace all three, or D4 (and with it P3, I3's link) drops out of the numbers.
    await deploy(a, 'D4', '2024-04-05T12:00:00', ['c9'], { result: 'FAILURE' });
    await deploy(a, 'D0', '2024-02-20T10:00:00', ['c0']);
    await deploy(a, 'D1', '2024-03-05T10:00:00', ['c1', 'c2']);
    await deploy(b, 'D2', '2024-03-05T15:00:00', ['c3']);
    await deploy(a, 'D3', '2024-03-07T09:00:00', ['c1', 'c4']);
    await deploy(b, 'D5', '2024-03-26T08:00:00', ['c6']);
    await deploy(a, 'D6', '2024-04-02T10:00:00', ['c7']);
    await deploy(a, 'F1', '2024-03-13T08:00:00', ['c7'], { result: 'FAILURE' });
    await deploy(a, 'S1', '2024-03-14T08:00:00', ['c8'], { environment: 'STAGING' });
    // Re-posting a deployment replaces it.
    await deploy(a, 'D4', '2024-03-12T12:00:00', ['c5']);

    await incident(b, 'I0', '2024-03-05T08:00:00', '2024-03-05T09:00:00');
    await incident(b, 'I1', '2024-03-05T12:00:00', '2024-03-05T14:00:00');
    await incident(a, 'I2', '2024-03-05T15:00:00', '2024-03-06T10:00:00');
    await incident(a, 'I3', '2024-03-13T09:00:00', null);
    await incident(a, 'I4', '2024-04-01T09:00:00', '2024-04-01T10:00:00');
    await incident(a, 'I5', '2024-04-03T00:00:00', null);
    await incident(a, 'BUG-1', '2024-03-08T00:00:00', '2024-03-08T01:00:00', 'BUG');

    await pr(a, 1, 'c1', '2024-03-02T00:00:00', '2024-03-01T10:00:00');
    await pr(a, 2, 'c3', '2024-03-05T09:00:00', null);
    await pr(b, 3, 'c5', '2024-03-11T00:00:00', '2024-03-10T12:00:00');
    await pr(a, 4, 'c0', '2024-02-19T00:00:00', '2024-02-18T00:00:00');
    await pr(a, 5, 'c7', '2024-03-12T00:00:00', '2024-03-12T00:00:00');
    await pr(a, 6, 'c6', '2024-03-20T00:00:00', '2024-03-20T00:00:00', 'OPEN');
    await pr(a, 7, 'c4', '2024-03-06T22:00:00', '2024-03-06T21:00:30');

    // Another project's data in the same window changes nothing above.
    await deploy(other, 'D1', '2024-03-05T11:00:00', ['c1', 'c5']);
    await deploy(other, 'X2', '2024-03-06T11:00:00', ['x2']);
    await incident(other, 'I1', '2024-03-05T11:30:00', '2024-03-05T11:40:00');
    await pr(other, 1, 'c1', '2024-03-05T10:00:00', '2024-03-05T10:00:00');

    await deploy(nopr, 'E1', '2024-03-10T12:00:00', ['n1', 'n2'], { created: ['2024-03-10T10:00:00', '2024-03-09T12:00:00'] });
  });

  afterAll(() => db.destroy());

  it('computes the 2023 report as worked out by hand', async () => {
    const answer = await dora.compute({ projectId: projects.dora, projectKey: 'dora', ...WINDOW });
    expect(answer).toEqual({
      project: 'dora',
      from: '2024-03-04T00:00:00.000Z',
      to: '2024-03-31T23:59:59.000Z',
      report: '2023',
      environment: 'PRODUCTION',
      deploymentFrequency: {
        weeklyMedianDays: 1,
        monthlyMedianDays: 4,
        deploymentDays: 4,
        deployments: 5,
        level: 'high',
        label: 'Between once per day and once per week',
      },
      leadTimeForChanges: { medianMinutes: 720, changes: 4, basis: 'pull_requests', level: 'elite', label: 'Less than one day' },
      changeFailureRate: { value: 0.6, deployments: 5, failedDeployments: 3, level: 'low', label: '> 15%' },
      recoveryTime: { kind: 'failed_deployment_recovery_time', medianMinutes: 240, incidents: 2, level: 'high', label: 'Less than one day' },
    });
  });

  it('computes the 2021 report: time to restore from creation, 2021 buckets', async () => {
    const answer = await dora.compute({ projectId: projects.dora, projectKey: 'dora', ...WINDOW, report: '2021' });
    expect(answer.deploymentFrequency).toMatchObject({
      weeklyMedianDays: 1,
      monthlyMedianDays: 4,
      sixMonthMedianDays: 4,
      level: 'high',
      label: 'Between once per day and once per month',
    });
    expect(answer.leadTimeForChanges).toMatchObject({ medianMinutes: 720, level: 'high', label: 'Less than one week' });
    expect(answer.changeFailureRate).toMatchObject({ value: 0.6, level: 'low', label: '> 30%' });
    expect(answer.recoveryTime).toEqual({ kind: 'time_to_restore', medianMinutes: 120, incidents: 3, level: 'high', label: 'Less than one day' });
  });

  it('falls back to deployment commits when the project has no pull requests', async () => {
    const answer = await dora.compute({ projectId: projects.nopr, projectKey: 'nopr', ...WINDOW });
    expect(answer.leadTimeForChanges).toEqual({ medianMinutes: 120, changes: 2, basis: 'deployment_commits', level: 'elite', label: 'Less than one day' });
    expect(answer.changeFailureRate).toMatchObject({ value: 0, deployments: 1, failedDeployments: 0, level: 'elite' });
    expect(answer.recoveryTime).toMatchObject({ medianMinutes: null, incidents: 0, level: 'none' });
  });

  it('answers "no data" with null values for a project without data', async () => {
    const answer = await dora.compute({ projectId: projects.empty, projectKey: 'empty', ...WINDOW });
    expect(answer.deploymentFrequency).toEqual({
      weeklyMedianDays: null,
      monthlyMedianDays: null,
      deploymentDays: 0,
      deployments: 0,
      level: 'none',
      label: expect.stringMatching(/^N\/A/),
    });
    expect(answer.leadTimeForChanges).toMatchObject({ medianMinutes: null, changes: 0, level: 'none' });
    expect(answer.changeFailureRate).toMatchObject({ value: null, deployments: 0, failedDeployments: 0, level: 'none' });
    expect(answer.recoveryTime).toMatchObject({ medianMinutes: null, incidents: 0, level: 'none' });
  });

  it('refuses a window that ends before it starts', async () => {
    await expect(dora.compute({ projectId: projects.dora, projectKey: 'dora', from: WINDOW.to, to: WINDOW.from })).rejects.toThrow(/from must be before to/);
  });

  it.each([
    // Without an offset these would be read in the server's zone.
    [{ from: '2024-03-04' }, 'from: from must be an RFC 3339 date-time with an offset or Z'],
    [{ to: '2024-03-31T23:59:59' }, 'to: to must be an RFC 3339 date-time with an offset or Z'],
    [{ to: '2024-02-30T00:00:00Z' }, 'to: to must be an RFC 3339'],
    // Postgres cannot hold these instants.
    [{ from: '2024-01-01T00:00:00Z', to: '9999-12-31T23:59:59-05:00' }, 'to: to must fall within the years 0001 to 9999 once converted to UTC'],
    [{ from: '0001-01-01T00:00:00+01:00', to: '0001-02-01T00:00:00Z' }, 'from: from must fall within the years 0001 to 9999'],
    [{ to: '0001-02-01T00:00:00Z' }, 'from: from defaults to to minus 90 days, which falls before the year 0001'],
  ])('refuses the window %j, naming the parameter', async (window, message) => {
    await expect(dora.compute({ projectId: projects.dora, projectKey: 'dora', ...window })).rejects.toThrow(message);
  });

  it('reads a window at the ends of the calendar', async () => {
    const answer = await dora.compute({ projectId: projects.dora, projectKey: 'dora', from: '9999-01-01T00:00:00+05:00', to: '9999-12-31T23:59:59+05:00' });
    expect([answer.from, answer.to, answer.deploymentFrequency.deployments]).toEqual(['9998-12-31T19:00:00.000Z', '9999-12-31T18:59:59.000Z', 0]);
  });

  it('reads the window through the indexes added for it', async () => {
    // Another tenant with a long history, so the planner sees tables of a realistic size: a query
    // that can reach the window only by reading the whole history shows it in its plan.
    const [{ id: bulkProject }] = await db.query(`INSERT INTO projects (key, name) VALUES ('bulk', 'bulk') RETURNING id`);
    const bulk = (await connections.create(bulkProject, 'bulk')).entity;
    const ids = [bulk.id, bulkProject];
    await db.query(
      `INSERT INTO devlake_deployments (connection_id, id, project_id, name, result, environment, finished_date)
       SELECT $1, 'b' || g, $2, 'b' || g, CASE WHEN g % 10 = 0 THEN 'FAILURE' ELSE 'SUCCESS' END, 'PRODUCTION', timestamptz '2019-01-01' + g * interval '1 hour'
         FROM generate_series(1, 10000) g`,
      ids,
    );
    await db.query(
      `INSERT INTO devlake_deployment_commits (connection_id, deployment_id, project_id, id, repo_url, commit_sha, result, status, created_date, finished_date)
       SELECT $1, 'b' || g, $2, 'c' || g, 'https://git.example/bulk', 'bulk' || g, 'SUCCESS', 'DONE', timestamptz '2019-01-01' + (g - 5) * interval '1 hour', timestamptz '2019-01-01' + g * interval '1 hour'
         FROM generate_series(1, 10000) g`,
      ids,
    );
    await db.query(
      `INSERT INTO devlake_pull_requests (connection_id, pull_request_key, project_id, external_id, title, status, merge_commit_sha, created_date, merged_date)
       SELECT $1, g, $2, 'pr' || g, 'pr', 'MERGED', 'bulk' || g, timestamptz '2019-01-01' + (g - 9) * interval '1 hour', timestamptz '2019-01-01' + (g - 2) * interval '1 hour'
         FROM generate_series(1, 10000, 5) g`,
      ids,
    );
    await db.query(
      `INSERT INTO devlake_issues (connection_id, issue_key, project_id, title, type, status, original_status, created_date, resolution_date)
       SELECT $1, 'I' || g, $2, 'i', CASE WHEN g % 2 = 0 THEN 'INCIDENT' ELSE 'BUG' END, 'DONE', 'closed', timestamptz '2019-01-01' + g * interval '25 hours', timestamptz '2019-01-01' + g * interval '26 hours'
         FROM generate_series(1, 1000) g`,
      ids,
    );
    await db.query('ANALYZE devlake_deployments, devlake_deployment_commits, devlake_pull_requests, devlake_issues');
    const params = [projects.dora, WINDOW.from, WINDOW.to, 'PRODUCTION'];
    const plans: Record<string, string> = {};
    for (const [name, sql] of Object.entries(DORA_SQL)) {
      const rows: Array<{ 'QUERY PLAN': string }> = await db.query(`EXPLAIN ${sql}`, name === 'restore' ? params.slice(0, 3) : params);
      plans[name] = rows.map((r) => r['QUERY PLAN']).join('\n');
    }
    // Every read of a devlake table is an index range or lookup: no sequential scan, and no index
    // read end to end (an index scan without an Index Cond).
    const wholeReads = Object.entries(plans).flatMap(([name, plan]) => {
      const lines = plan.split('\n');
      return lines.flatMap((line, i) => {
        if (!/ on devlake_/.test(line) || /Bitmap Heap Scan/.test(line)) return [];
        const ranged = /Index (Only )?Scan|Bitmap Index Scan/.test(line) && /Index Cond:/.test(lines[i + 1] ?? '');
        return ranged ? [] : [`${name}: ${line.trim()}`];
      });
    });
    expect(wholeReads).toEqual([]);
    // And the ones docs/dora.md names: the window, the per-incident backward probe, the incident
    // indexes, and the merge-commit joins.
    const window = /using devlake_deployments_dora on devlake_deployments \w+ .*\n\s+Index Cond: \(\(project_id = \d+\) AND .*finished_date >= /;
    expect(plans.frequency).toMatch(window);
    expect(plans.failures).toMatch(window);
    expect(plans.failures).toMatch(/Index Scan Backward using devlake_deployments_dora .*\n\s+Index Cond: .*finished_date < i\.created_date/);
    expect(plans.failures).toMatch(/using devlake_incidents_created on devlake_issues/);
    expect(plans.restore).toMatch(/using devlake_incidents_resolved on devlake_issues\b.*\n\s+Index Cond: .*resolution_date >= /);
    expect(plans.leadTimePullRequests).toMatch(window);
    expect(plans.leadTimePullRequests).toMatch(/using devlake_pull_requests_merge_sha on devlake_pull_requests/);
    expect(plans.leadTimePullRequests).toMatch(/using devlake_deployment_commits_sha on devlake_deployment_commits/);
    expect(plans.leadTimeCommits).toMatch(window);
  });
});
