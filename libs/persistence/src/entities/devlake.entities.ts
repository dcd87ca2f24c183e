import { Column, CreateDateColumn, Entity, Index, PrimaryColumn, PrimaryGeneratedColumn, UpdateDateColumn } from 'typeorm';

/**
 * A DevLake-compatible incoming webhook connection (docs/contract.md §3.7, §5.2). Only the SHA-256 of its key is
 * stored; the key is shown at creation and rotation. Names are unique within a project: the
 * `connections/by-name/{name}` routes resolve them in the caller's project.
 */
@Entity({ name: 'devlake_connections' })
@Index('devlake_connections_project', ['projectId', 'id'])
@Index('devlake_connections_project_name', ['projectId', 'name'], { unique: true })
@Index('devlake_connections_name', ['name'])
export class DevLakeConnectionEntity {
  @PrimaryGeneratedColumn('identity', { generatedIdentity: 'ALWAYS' })
  id: number;

  @Column({ name: 'project_id', type: 'integer' })
  projectId: number;

  @Column({ type: 'text' })
  name: string;

  @Column({ name: 'key_hash', type: 'text', unique: true })
  keyHash: string;

  @Column({ name: 'key_hint', type: 'text' })
  keyHint: string;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt: Date;
}

/** A deployment as DevLake's `cicd_deployments`; its id is the one the producer sees, scoped by connection. */
@Entity({ name: 'devlake_deployments' })
@Index('devlake_deployments_dora', ['projectId', 'environment', 'result', 'finishedDate'])
export class DevLakeDeploymentEntity {
  @PrimaryColumn({ name: 'connection_id', type: 'integer' }) connectionId: number;
  @PrimaryColumn({ type: 'text' }) id: string;
  @Column({ name: 'project_id', type: 'integer' }) projectId: number;
  @Column({ type: 'text' }) name: string;
  @Column({ name: 'display_title', type: 'text', nullable: true }) displayTitle: string | null;
  @Column({ type: 'text' }) result: string;
  @Column({ type: 'text' }) environment: string;
  @Column({ name: 'original_environment', type: 'text', nullable: true }) originalEnvironment: string | null;
  @Column({ name: 'created_date', type: 'timestamptz', nullable: true }) createdDate: Date | null;
  @Column({ name: 'started_date', type: 'timestamptz', nullable: true }) startedDate: Date | null;
  @Column({ name: 'finished_date', type: 'timestamptz' }) finishedDate: Date;
  @Column({ name: 'duration_sec', type: 'integer', nullable: true }) durationSec: number | null;
  @Column({ name: 'received_at', type: 'timestamptz', default: () => 'now()' }) receivedAt: Date;
  @Column({ name: 'updated_at', type: 'timestamptz', default: () => 'now()' }) updatedAt: Date;
}

/** One (repository, commit) a deployment shipped, as DevLake's `cicd_deployment_commits`. */
@Entity({ name: 'devlake_deployment_commits' })
@Index('devlake_deployment_commits_sha', ['projectId', 'commitSha'])
export class DevLakeDeploymentCommitEntity {
  @PrimaryColumn({ name: 'connection_id', type: 'integer' }) connectionId: number;
  @PrimaryColumn({ name: 'deployment_id', type: 'text' }) deploymentId: string;
  /** `<first 16 hex of md5(repo_url)>:<commit_sha>`. */
  @PrimaryColumn({ type: 'text' }) id: string;
  @Column({ name: 'project_id', type: 'integer' }) projectId: number;
  @Column({ name: 'repo_url', type: 'text' }) repoUrl: string;
  @Column({ name: 'commit_sha', type: 'text' }) commitSha: string;
  @Column({ name: 'ref_name', type: 'text', nullable: true }) refName: string | null;
  @Column({ name: 'commit_msg', type: 'text', nullable: true }) commitMsg: string | null;
  @Column({ type: 'text', nullable: true }) name: string | null;
  @Column({ name: 'display_title', type: 'text', nullable: true }) displayTitle: string | null;
  @Column({ type: 'text' }) result: string;
  @Column({ type: 'text' }) status: string;
  @Column({ name: 'created_date', type: 'timestamptz', nullable: true }) createdDate: Date | null;
  @Column({ name: 'started_date', type: 'timestamptz', nullable: true }) startedDate: Date | null;
  @Column({ name: 'finished_date', type: 'timestamptz', nullable: true }) finishedDate: Date | null;
}

/** An issue; those of type INCIDENT are the incidents DORA reads (as DevLake derives them). */
@Entity({ name: 'devlake_issues' })
export class DevLakeIssueEntity {
  @PrimaryColumn({ name: 'connection_id', type: 'integer' }) connectionId: number;
  @PrimaryColumn({ name: 'issue_key', type: 'text' }) issueKey: string;
  @Column({ name: 'project_id', type: 'integer' }) projectId: number;
  @Column({ name: 'board_key', type: 'text', nullable: true }) boardKey: string | null;
  @Column({ type: 'text', nullable: true }) url: string | null;
  @Column({ type: 'text' }) title: string;
  @Column({ type: 'text', nullable: true }) description: string | null;
  @Column({ name: 'epic_key', type: 'text', nullable: true }) epicKey: string | null;
  @Column({ type: 'text', nullable: true }) type: string | null;
  @Column({ type: 'text' }) status: string;
  @Column({ name: 'original_status', type: 'text' }) originalStatus: string;
  @Column({ name: 'story_point', type: 'double precision', nullable: true }) storyPoint: number | null;
  @Column({ name: 'resolution_date', type: 'timestamptz', nullable: true }) resolutionDate: Date | null;
  @Column({ name: 'created_date', type: 'timestamptz' }) createdDate: Date;
  @Column({ name: 'updated_date', type: 'timestamptz', nullable: true }) updatedDate: Date | null;
  @Column({ name: 'lead_time_minutes', type: 'bigint', nullable: true }) leadTimeMinutes: string | null;
  @Column({ name: 'parent_issue_key', type: 'text', nullable: true }) parentIssueKey: string | null;
  @Column({ type: 'text', nullable: true }) priority: string | null;
  @Column({ name: 'original_estimate_minutes', type: 'bigint', nullable: true }) originalEstimateMinutes: string | null;
  @Column({ name: 'time_spent_minutes', type: 'bigint', nullable: true }) timeSpentMinutes: string | null;
  @Column({ name: 'time_remaining_minutes', type: 'bigint', nullable: true }) timeRemainingMinutes: string | null;
  @Column({ name: 'creator_id', type: 'text', nullable: true }) creatorId: string | null;
  @Column({ name: 'creator_name', type: 'text', nullable: true }) creatorName: string | null;
  @Column({ name: 'assignee_id', type: 'text', nullable: true }) assigneeId: string | null;
  @Column({ name: 'assignee_name', type: 'text', nullable: true }) assigneeName: string | null;
  @Column({ type: 'text', nullable: true }) severity: string | null;
  @Column({ type: 'text', nullable: true }) component: string | null;
  @Column({ name: 'received_at', type: 'timestamptz', default: () => 'now()' }) receivedAt: Date;
  @Column({ name: 'updated_at', type: 'timestamptz', default: () => 'now()' }) updatedAt: Date;
}

/** A pull request (DevLake's current webhook form), kept for lead time for changes. */
@Entity({ name: 'devlake_pull_requests' })
export class DevLakePullRequestEntity {
  @PrimaryColumn({ name: 'connection_id', type: 'integer' }) connectionId: number;
  @PrimaryColumn({ name: 'pull_request_key', type: 'bigint' }) pullRequestKey: string;
  @Column({ name: 'project_id', type: 'integer' }) projectId: number;
  @Column({ name: 'external_id', type: 'text' }) externalId: string;
  @Column({ type: 'text' }) title: string;
  @Column({ type: 'text', nullable: true }) status: string | null;
  @Column({ name: 'original_status', type: 'text', nullable: true }) originalStatus: string | null;
  @Column({ type: 'text', nullable: true }) description: string | null;
  @Column({ type: 'text', nullable: true }) url: string | null;
  @Column({ name: 'author_name', type: 'text', nullable: true }) authorName: string | null;
  @Column({ name: 'author_id', type: 'text', nullable: true }) authorId: string | null;
  @Column({ name: 'merge_commit_sha', type: 'text', nullable: true }) mergeCommitSha: string | null;
  @Column({ name: 'head_ref', type: 'text', nullable: true }) headRef: string | null;
  @Column({ name: 'base_ref', type: 'text', nullable: true }) baseRef: string | null;
  @Column({ name: 'head_commit_sha', type: 'text', nullable: true }) headCommitSha: string | null;
  @Column({ name: 'base_commit_sha', type: 'text', nullable: true }) baseCommitSha: string | null;
  @Column({ type: 'integer', nullable: true }) additions: number | null;
  @Column({ type: 'integer', nullable: true }) deletions: number | null;
  @Column({ name: 'is_draft', type: 'boolean', nullable: true }) isDraft: boolean | null;
  @Column({ name: 'created_date', type: 'timestamptz' }) createdDate: Date;
  @Column({ name: 'merged_date', type: 'timestamptz', nullable: true }) mergedDate: Date | null;
  @Column({ name: 'closed_date', type: 'timestamptz', nullable: true }) closedDate: Date | null;
  @Column({ name: 'first_commit_date', type: 'timestamptz', nullable: true }) firstCommitDate: Date | null;
  @Column({ name: 'received_at', type: 'timestamptz', default: () => 'now()' }) receivedAt: Date;
  @Column({ name: 'updated_at', type: 'timestamptz', default: () => 'now()' }) updatedAt: Date;
}
