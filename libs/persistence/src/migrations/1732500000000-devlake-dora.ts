import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * DevLake-compatible incoming webhooks (docs/contract.md §3.7, §5.2) and what DORA (docs/contract.md §8) reads: connections
 * with their hashed keys, deployments and their commits, issues (incidents are issues of type
 * INCIDENT), and pull requests. Rows belong to a connection and, denormalised, to its project, so
 * every DORA query is an index range scan on (project_id, ...).
 */
export class DevLakeDora1732500000000 implements MigrationInterface {
  name = 'DevLakeDora1732500000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE devlake_connections (
        id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        project_id integer NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
        name text NOT NULL,
        key_hash text NOT NULL,
        key_hint text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT devlake_connections_name UNIQUE (name),
        CONSTRAINT devlake_connections_key_hash UNIQUE (key_hash)
      )`);
    await q.query(`CREATE INDEX devlake_connections_project ON devlake_connections (project_id, id)`);

    await q.query(`
      CREATE TABLE devlake_deployments (
        connection_id integer NOT NULL REFERENCES devlake_connections(id) ON DELETE CASCADE,
        id text NOT NULL,
        project_id integer NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
        name text NOT NULL,
        display_title text,
        result text NOT NULL,
        environment text NOT NULL,
        original_environment text,
        created_date timestamptz,
        started_date timestamptz,
        finished_date timestamptz NOT NULL,
        duration_sec integer,
        received_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (connection_id, id)
      )`);
    // DORA: successful deployments of a project and environment by finish time (frequency, CFR,
    // and the "latest deployment before this incident" lookup, which reads it backwards).
    await q.query(`CREATE INDEX devlake_deployments_dora ON devlake_deployments (project_id, environment, result, finished_date)`);

    await q.query(`
      CREATE TABLE devlake_deployment_commits (
        connection_id integer NOT NULL,
        deployment_id text NOT NULL,
        id text NOT NULL,
        project_id integer NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
        repo_url text NOT NULL,
        commit_sha text NOT NULL,
        ref_name text,
        commit_msg text,
        name text,
        display_title text,
        result text NOT NULL,
        status text NOT NULL,
        created_date timestamptz,
        started_date timestamptz,
        finished_date timestamptz,
        PRIMARY KEY (connection_id, deployment_id, id),
        FOREIGN KEY (connection_id, deployment_id) REFERENCES devlake_deployments (connection_id, id) ON DELETE CASCADE
      )`);
    // Lead time: which deployment shipped a pull request's merge commit.
    await q.query(`CREATE INDEX devlake_deployment_commits_sha ON devlake_deployment_commits (project_id, commit_sha)`);

    await q.query(`
      CREATE TABLE devlake_issues (
        connection_id integer NOT NULL REFERENCES devlake_connections(id) ON DELETE CASCADE,
        issue_key text NOT NULL,
        project_id integer NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
        board_key text,
        url text,
        title text NOT NULL,
        description text,
        epic_key text,
        type text,
        status text NOT NULL,
        original_status text NOT NULL,
        story_point double precision,
        resolution_date timestamptz,
        created_date timestamptz NOT NULL,
        updated_date timestamptz,
        lead_time_minutes bigint,
        parent_issue_key text,
        priority text,
        original_estimate_minutes bigint,
        time_spent_minutes bigint,
        time_remaining_minutes bigint,
        creator_id text,
        creator_name text,
        assignee_id text,
        assignee_name text,
        severity text,
        component text,
        received_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (connection_id, issue_key)
      )`);
    // Incidents are the issues of type INCIDENT (as DevLake derives them); DORA reads them by
    // creation (linking to a deployment) and by resolution (recovery time).
    await q.query(`CREATE INDEX devlake_incidents_created ON devlake_issues (project_id, created_date) WHERE type = 'INCIDENT'`);
    await q.query(`CREATE INDEX devlake_incidents_resolved ON devlake_issues (project_id, resolution_date) WHERE type = 'INCIDENT'`);

    await q.query(`
      CREATE TABLE devlake_pull_requests (
        connection_id integer NOT NULL REFERENCES devlake_connections(id) ON DELETE CASCADE,
        pull_request_key bigint NOT NULL,
        project_id integer NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
        external_id text NOT NULL,
        title text NOT NULL,
        status text,
        original_status text,
        description text,
        url text,
        author_name text,
        author_id text,
        merge_commit_sha text,
        head_ref text,
        base_ref text,
        head_commit_sha text,
        base_commit_sha text,
        additions integer,
        deletions integer,
        is_draft boolean,
        created_date timestamptz NOT NULL,
        merged_date timestamptz,
        closed_date timestamptz,
        first_commit_date timestamptz,
        received_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (connection_id, pull_request_key)
      )`);
    await q.query(`CREATE INDEX devlake_pull_requests_merge_sha ON devlake_pull_requests (project_id, merge_commit_sha) WHERE merge_commit_sha IS NOT NULL`);
  }

  async down(q: QueryRunner): Promise<void> {
    for (const table of ['devlake_pull_requests', 'devlake_issues', 'devlake_deployment_commits', 'devlake_deployments', 'devlake_connections']) {
      await q.query(`DROP TABLE IF EXISTS ${table}`);
    }
  }
}
