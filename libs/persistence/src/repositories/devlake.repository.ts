import { Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import { NotFound } from '@herald/domain';
import type { DevLakeConnectionEntity } from '../entities';
import { EventRepository, type NewEvent } from './event.repository';

export interface NewDeploymentCommit {
  /** `<first 16 hex of md5(repo_url)>:<commit_sha>`. */
  id: string;
  repoUrl: string;
  commitSha: string;
  refName: string | null;
  commitMsg: string | null;
  name: string | null;
  displayTitle: string | null;
  result: string;
  status: string;
  createdDate: Date | null;
  startedDate: Date | null;
  finishedDate: Date | null;
}

export interface NewDeployment {
  id: string;
  name: string;
  displayTitle: string | null;
  result: string;
  environment: string;
  originalEnvironment: string | null;
  createdDate: Date | null;
  startedDate: Date | null;
  finishedDate: Date;
  durationSec: number | null;
  commits: NewDeploymentCommit[];
}

/** An issue as stored (and as compared between posts). */
export interface IssueFields {
  issueKey: string;
  boardKey: string | null;
  url: string | null;
  title: string;
  description: string | null;
  epicKey: string | null;
  type: string | null;
  status: string;
  originalStatus: string;
  storyPoint: number | null;
  resolutionDate: Date | null;
  createdDate: Date;
  updatedDate: Date | null;
  leadTimeMinutes: number | null;
  parentIssueKey: string | null;
  priority: string | null;
  originalEstimateMinutes: number | null;
  timeSpentMinutes: number | null;
  timeRemainingMinutes: number | null;
  creatorId: string | null;
  creatorName: string | null;
  assigneeId: string | null;
  assigneeName: string | null;
  severity: string | null;
  component: string | null;
}

export interface NewPullRequest {
  pullRequestKey: number;
  externalId: string;
  title: string;
  status: string | null;
  originalStatus: string | null;
  description: string | null;
  url: string | null;
  authorName: string | null;
  authorId: string | null;
  mergeCommitSha: string | null;
  headRef: string | null;
  baseRef: string | null;
  headCommitSha: string | null;
  baseCommitSha: string | null;
  additions: number | null;
  deletions: number | null;
  isDraft: boolean | null;
  createdDate: Date;
  mergedDate: Date | null;
  closedDate: Date | null;
  firstCommitDate: Date | null;
}

/** Column of each issue field, in one place for the insert, the update and the read. */
const ISSUE_COLUMNS: Array<[keyof IssueFields, string, 'text' | 'date' | 'number']> = [
  ['boardKey', 'board_key', 'text'],
  ['url', 'url', 'text'],
  ['title', 'title', 'text'],
  ['description', 'description', 'text'],
  ['epicKey', 'epic_key', 'text'],
  ['type', 'type', 'text'],
  ['status', 'status', 'text'],
  ['originalStatus', 'original_status', 'text'],
  ['storyPoint', 'story_point', 'number'],
  ['resolutionDate', 'resolution_date', 'date'],
  ['createdDate', 'created_date', 'date'],
  ['updatedDate', 'updated_date', 'date'],
  ['leadTimeMinutes', 'lead_time_minutes', 'number'],
  ['parentIssueKey', 'parent_issue_key', 'text'],
  ['priority', 'priority', 'text'],
  ['originalEstimateMinutes', 'original_estimate_minutes', 'number'],
  ['timeSpentMinutes', 'time_spent_minutes', 'number'],
  ['timeRemainingMinutes', 'time_remaining_minutes', 'number'],
  ['creatorId', 'creator_id', 'text'],
  ['creatorName', 'creator_name', 'text'],
  ['assigneeId', 'assignee_id', 'text'],
  ['assigneeName', 'assignee_name', 'text'],
  ['severity', 'severity', 'text'],
  ['component', 'component', 'text'],
];

function issueFromRow(row: Record<string, unknown>): IssueFields {
  const issue: Record<string, unknown> = { issueKey: row.issue_key };
  for (const [field, column, kind] of ISSUE_COLUMNS) {
    const v = row[column];
    issue[field] = v === null || v === undefined ? null : kind === 'number' ? Number(v) : kind === 'date' ? new Date(v as string | Date) : v;
  }
  return issue as unknown as IssueFields;
}

function issueValues(issue: IssueFields): unknown[] {
  return ISSUE_COLUMNS.map(([field]) => {
    const v = issue[field];
    return v instanceof Date ? v.toISOString() : v;
  });
}

/** True when two stored forms of an issue are the same in every field. */
export function sameIssue(a: IssueFields, b: IssueFields): boolean {
  return ISSUE_COLUMNS.every(([field]) => {
    const x = a[field];
    const y = b[field];
    if (x instanceof Date || y instanceof Date) return x instanceof Date && y instanceof Date && x.getTime() === y.getTime();
    return x === y;
  });
}

/** Decides the events of an issue write from the stored issue before it (null: new) and after it. */
export type IssueEvents = (before: IssueFields | null, after: IssueFields) => NewEvent[];

/**
 * Writes what DevLake-compatible webhooks post. Each write is one transaction with the events it
 * causes and their outbox rows: a failure leaves nothing half-written, and nothing is relayed
 * that was not committed.
 */
@Injectable()
export class DevLakeRepository {
  constructor(
    private readonly db: DataSource,
    private readonly events: EventRepository,
  ) {}

  /**
   * Inserts or replaces a deployment and its commits (a re-post replaces the commit list too).
   * `eventsFor(created)` gives the events to store: docs/contract.md §5.2 emits one per deployment id.
   */
  async upsertDeployment(connection: DevLakeConnectionEntity, d: NewDeployment, eventsFor: (created: boolean) => NewEvent[]): Promise<void> {
    return this.db.transaction(async (tx) => {
      const [{ inserted }]: Array<{ inserted: boolean }> = await tx.query(
        `INSERT INTO devlake_deployments
           (connection_id, id, project_id, name, display_title, result, environment, original_environment,
            created_date, started_date, finished_date, duration_sec)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
         ON CONFLICT (connection_id, id) DO UPDATE SET
           name = EXCLUDED.name, display_title = EXCLUDED.display_title, result = EXCLUDED.result,
           environment = EXCLUDED.environment, original_environment = EXCLUDED.original_environment,
           created_date = EXCLUDED.created_date, started_date = EXCLUDED.started_date,
           finished_date = EXCLUDED.finished_date, duration_sec = EXCLUDED.duration_sec, updated_at = now()
         RETURNING (xmax = 0) AS inserted`,
        [
          connection.id,
          d.id,
          connection.projectId,
          d.name,
          d.displayTitle,
          d.result,
          d.environment,
          d.originalEnvironment,
          iso(d.createdDate),
          iso(d.startedDate),
          iso(d.finishedDate),
          d.durationSec,
        ],
      );
      await tx.query('DELETE FROM devlake_deployment_commits WHERE connection_id = $1 AND deployment_id = $2', [connection.id, d.id]);
      const commits = d.commits.map((c) => ({
        id: c.id,
        repo_url: c.repoUrl,
        commit_sha: c.commitSha,
        ref_name: c.refName,
        commit_msg: c.commitMsg,
        name: c.name,
        display_title: c.displayTitle,
        result: c.result,
        status: c.status,
        created_date: iso(c.createdDate),
        started_date: iso(c.startedDate),
        finished_date: iso(c.finishedDate),
      }));
      await tx.query(
        `INSERT INTO devlake_deployment_commits
           (connection_id, deployment_id, project_id, id, repo_url, commit_sha, ref_name, commit_msg, name, display_title,
            result, status, created_date, started_date, finished_date)
         SELECT $1, $2, $3, x.id, x.repo_url, x.commit_sha, x.ref_name, x.commit_msg, x.name, x.display_title,
                x.result, x.status, x.created_date, x.started_date, x.finished_date
           FROM jsonb_to_recordset($4::jsonb) AS x(id text, repo_url text, commit_sha text, ref_name text, commit_msg text,
                name text, display_title text, result text, status text, created_date timestamptz, started_date timestamptz,
                finished_date timestamptz)`,
        [connection.id, d.id, connection.projectId, JSON.stringify(commits)],
      );
      return this.events.insertWithin(tx, connection.projectId, eventsFor(inserted));
    });
  }

  /** Inserts or replaces an issue; `eventsFor` sees the stored issue before and after. */
  async upsertIssue(connection: DevLakeConnectionEntity, issue: IssueFields, eventsFor: IssueEvents): Promise<void> {
    return this.db.transaction(async (tx) => {
      let before = await this.lockIssue(tx, connection.id, issue.issueKey);
      if (!before) {
        const columns = ISSUE_COLUMNS.map(([, c]) => c);
        const inserted: unknown[] = await tx.query(
          `INSERT INTO devlake_issues (connection_id, issue_key, project_id, ${columns.join(', ')})
           VALUES ($1, $2, $3, ${columns.map((_, i) => `$${i + 4}`).join(', ')})
           ON CONFLICT (connection_id, issue_key) DO NOTHING RETURNING issue_key`,
          [connection.id, issue.issueKey, connection.projectId, ...issueValues(issue)],
        );
        if (inserted.length) return this.events.insertWithin(tx, connection.projectId, eventsFor(null, issue));
        // A concurrent first post won; this one is an update of what it stored.
        before = await this.lockIssue(tx, connection.id, issue.issueKey);
        if (!before) throw new Error('issue vanished during its upsert');
      }
      if (sameIssue(before, issue)) return;
      await this.updateIssue(tx, connection.id, issue);
      return this.events.insertWithin(tx, connection.projectId, eventsFor(before, issue));
    });
  }

  /**
   * Applies `change` to a stored issue (closing it). 404 when the connection has no such issue, or
   * when `boardKey` is given and the issue is on another board.
   */
  async changeIssue(
    connection: DevLakeConnectionEntity,
    issueKey: string,
    boardKey: string | null,
    change: (before: IssueFields) => IssueFields,
    eventsFor: IssueEvents,
  ): Promise<void> {
    return this.db.transaction(async (tx) => {
      const before = await this.lockIssue(tx, connection.id, issueKey);
      if (!before || (boardKey !== null && before.boardKey !== null && before.boardKey !== boardKey)) {
        throw new NotFound(`issue not found: no issue "${issueKey}"${boardKey !== null ? ` on board "${boardKey}"` : ''} in connection ${connection.id}`);
      }
      const after = change(before);
      if (sameIssue(before, after)) return;
      await this.updateIssue(tx, connection.id, after);
      return this.events.insertWithin(tx, connection.projectId, eventsFor(before, after));
    });
  }

  async upsertPullRequest(connection: DevLakeConnectionEntity, pr: NewPullRequest): Promise<void> {
    const fields: Array<[string, unknown]> = [
      ['external_id', pr.externalId],
      ['title', pr.title],
      ['status', pr.status],
      ['original_status', pr.originalStatus],
      ['description', pr.description],
      ['url', pr.url],
      ['author_name', pr.authorName],
      ['author_id', pr.authorId],
      ['merge_commit_sha', pr.mergeCommitSha],
      ['head_ref', pr.headRef],
      ['base_ref', pr.baseRef],
      ['head_commit_sha', pr.headCommitSha],
      ['base_commit_sha', pr.baseCommitSha],
      ['additions', pr.additions],
      ['deletions', pr.deletions],
      ['is_draft', pr.isDraft],
      ['created_date', iso(pr.createdDate)],
      ['merged_date', iso(pr.mergedDate)],
      ['closed_date', iso(pr.closedDate)],
      ['first_commit_date', iso(pr.firstCommitDate)],
    ];
    const columns = fields.map(([c]) => c);
    await this.db.query(
      `INSERT INTO devlake_pull_requests (connection_id, pull_request_key, project_id, ${columns.join(', ')})
       VALUES ($1, $2, $3, ${columns.map((_, i) => `$${i + 4}`).join(', ')})
       ON CONFLICT (connection_id, pull_request_key) DO UPDATE SET
         ${columns.map((c) => `${c} = EXCLUDED.${c}`).join(', ')}, updated_at = now()`,
      [connection.id, pr.pullRequestKey, connection.projectId, ...fields.map(([, v]) => v)],
    );
  }

  private async lockIssue(tx: EntityManager, connectionId: number, issueKey: string): Promise<IssueFields | null> {
    const rows: Array<Record<string, unknown>> = await tx.query('SELECT * FROM devlake_issues WHERE connection_id = $1 AND issue_key = $2 FOR UPDATE', [
      connectionId,
      issueKey,
    ]);
    return rows.length ? issueFromRow(rows[0]) : null;
  }

  private async updateIssue(tx: EntityManager, connectionId: number, issue: IssueFields): Promise<void> {
    await tx.query(
      `UPDATE devlake_issues SET ${ISSUE_COLUMNS.map(([, c], i) => `${c} = $${i + 3}`).join(', ')}, updated_at = now()
        WHERE connection_id = $1 AND issue_key = $2`,
      [connectionId, issue.issueKey, ...issueValues(issue)],
    );
  }
}

function iso(d: Date | null): string | null {
  return d ? d.toISOString() : null;
}
