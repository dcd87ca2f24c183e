/** The routes a connection has (ConnectionEndpointsDto's keys). */
export const SAMPLE_ROUTES = ['deployments', 'issues', 'closeIssue', 'pullRequests'] as const;
export type SampleRoute = (typeof SAMPLE_ROUTES)[number];

export const SAMPLE_ISSUE_KEY = 'HERALD-SAMPLE-1';
const SAMPLE_SHA = '5a3b1e0c0ffee0c0ffee0c0ffee0c0ffee0c0ffe';

/**
 * What "send sample" posts for each route. Samples are real data, so they are made harmless to
 * the metrics: the deployment is to TESTING (DORA reads PRODUCTION), the issue is a BUG (not an
 * incident), the pull request is open (not merged); and they carry fixed ids, so sending again
 * updates the same rows instead of adding more.
 */
export function sampleRequest(route: SampleRoute, now: Date): { path: string; body: unknown } {
  const at = now.toISOString();
  const earlier = new Date(now.getTime() - 5 * 60_000).toISOString();
  switch (route) {
    case 'deployments':
      return {
        path: 'deployments',
        body: {
          id: 'herald-console-sample',
          displayTitle: 'Sample deployment sent from the Herald console',
          result: 'SUCCESS',
          environment: 'TESTING',
          startedDate: earlier,
          finishedDate: at,
          deploymentCommits: [
            {
              repoUrl: 'https://example.com/herald/sample.git',
              refName: 'main',
              commitSha: SAMPLE_SHA,
              commitMsg: 'Sample commit',
              startedDate: earlier,
              finishedDate: at,
            },
          ],
        },
      };
    case 'issues':
      return {
        path: 'issues',
        body: {
          issueKey: SAMPLE_ISSUE_KEY,
          title: 'Sample issue sent from the Herald console',
          type: 'BUG',
          status: 'TODO',
          originalStatus: 'To Do',
          createdDate: at,
        },
      };
    case 'closeIssue':
      return { path: `issue/${SAMPLE_ISSUE_KEY}/close`, body: undefined };
    case 'pullRequests':
      return {
        path: 'pull_requests',
        body: {
          id: 'herald-console-sample',
          pullRequestKey: 999_999,
          displayTitle: 'Sample pull request sent from the Herald console',
          status: 'OPEN',
          createdDate: at,
        },
      };
  }
}
