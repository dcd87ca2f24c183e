import type { DevLakeConnectionEntity } from '@herald/persistence';
import type { ConnectionCurlDto, ConnectionDto, ConnectionEndpointsDto, ConnectionWithKeyDto } from './connection.dto';

/**
 * What a connection looks like to its users: endpoint URLs on HERALD_PUBLIC_URL under the
 * `/api/rest` prefix (a Bearer key, as DevLake's generated URLs use), and curl commands like the
 * ones DevLake's "Generate POST URL" dialog shows.
 */
export function endpoints(publicUrl: string, id: number): ConnectionEndpointsDto {
  const base = `${publicUrl}/api/rest/plugins/webhook/connections/${id}`;
  return {
    deployments: `${base}/deployments`,
    issues: `${base}/issues`,
    closeIssue: `${base}/issue/:issueKey/close`,
    pullRequests: `${base}/pull_requests`,
  };
}

const quote = (text: string) => `'${text.replace(/'/g, `'\\''`)}'`;

export function curlCommands(publicUrl: string, id: number, apiKey: string): ConnectionCurlDto {
  const e = endpoints(publicUrl, id);
  const post = (url: string, body?: unknown) =>
    `curl ${url} -X 'POST' -H ${quote(`Authorization: Bearer ${apiKey}`)}` + (body === undefined ? '' : ` -d ${quote(JSON.stringify(body, null, 2))}`);
  return {
    deployments: post(e.deployments, {
      id: 'Required. This will be the unique ID of the deployment',
      startedDate: '2023-01-01T12:00:00+00:00',
      finishedDate: '2023-01-01T12:00:00+00:00',
      result: 'SUCCESS',
      deploymentCommits: [
        {
          repoUrl: 'your-git-url',
          refName: 'your-branch-name',
          startedDate: '2023-01-01T12:00:00+00:00',
          finishedDate: '2023-01-01T12:00:00+00:00',
          commitSha: 'e.g. 015e3d3b480e417aede5a1293bd61de9b0fd051d',
          commitMsg: 'optional-commit-message',
        },
      ],
    }),
    issues: post(e.issues, {
      issueKey: 'DLK-1234',
      title: 'an incident from DLK',
      type: 'INCIDENT',
      originalStatus: 'TODO',
      status: 'TODO',
      createdDate: '2020-01-01T12:00:00+00:00',
      updatedDate: '2020-01-01T12:00:00+00:00',
    }),
    closeIssue: post(e.closeIssue.replace(':issueKey', 'DLK-1234')),
    pullRequests: post(e.pullRequests, {
      id: 'pr-1',
      pullRequestKey: 1,
      displayTitle: 'Fix the login page',
      status: 'MERGED',
      createdDate: '2020-01-01T12:00:00+00:00',
      mergedDate: '2020-01-02T12:00:00+00:00',
      mergeCommitSha: '015e3d3b480e417aede5a1293bd61de9b0fd051d',
    }),
  };
}

export function presentConnection(publicUrl: string, c: DevLakeConnectionEntity): ConnectionDto {
  return { id: c.id, name: c.name, endpoints: endpoints(publicUrl, c.id), keyHint: c.keyHint, createdAt: c.createdAt.toISOString() };
}

export function presentWithKey(publicUrl: string, c: DevLakeConnectionEntity, apiKey: string): ConnectionWithKeyDto {
  return { ...presentConnection(publicUrl, c), apiKey, curl: curlCommands(publicUrl, c.id, apiKey) };
}
