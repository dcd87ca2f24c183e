import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';

/**
 * The DORA aggregates, computed by Postgres at request time (docs/contract.md §8; docs/dora.md says why SQL).
 * Every query starts from an index range on (project_id, environment, result, finished_date) or
 * the incident indexes, so its cost follows the rows in the window, not the project's history.
 * Parameters: $1 project id, $2 from, $3 to (inclusive), $4 environment.
 */

/** The project's successful deployments of the environment that finished in the window. */
const DEPLOYMENTS_IN_RANGE = `
  SELECT d.connection_id, d.id, d.finished_date FROM devlake_deployments d
   WHERE d.project_id = $1 AND d.environment = $4 AND d.result = 'SUCCESS' AND d.finished_date BETWEEN $2 AND $3`;

/** DevLake's median over a relation `v(value)`: the largest value whose percent rank is ≤ 0.5. */
const median = (relation: string) => `(SELECT max(value) FROM (SELECT value, percent_rank() OVER (ORDER BY value) AS pr FROM ${relation}) m WHERE pr <= 0.5)`;

const FREQUENCY_SQL = `
  WITH deployments AS (${DEPLOYMENTS_IN_RANGE}),
  days AS (SELECT DISTINCT (finished_date AT TIME ZONE 'UTC')::date AS day FROM deployments),
  calendar AS (
    SELECT c::date AS day FROM generate_series(($2::timestamptz AT TIME ZONE 'UTC')::date, ($3::timestamptz AT TIME ZONE 'UTC')::date, interval '1 day') c
  ),
  marked AS (SELECT c.day, (d.day IS NOT NULL)::int AS deployed FROM calendar c LEFT JOIN days d ON d.day = c.day),
  weeks AS (SELECT sum(deployed) AS value FROM marked GROUP BY date_trunc('week', day)),
  months AS (SELECT date_trunc('month', day) AS month, sum(deployed) AS value FROM marked GROUP BY 1),
  -- 2021: consecutive six-month windows counted back from the last month, their upper median.
  six AS (
    SELECT sum(value) AS value FROM (SELECT value, (row_number() OVER (ORDER BY month DESC) - 1) / 6 AS bucket FROM months) x GROUP BY bucket
  )
  SELECT (SELECT count(*) FROM deployments)::int AS deployments,
         (SELECT count(*) FROM days)::int AS deployment_days,
         ${median('weeks')}::int AS weekly_median,
         ${median('months')}::int AS monthly_median,
         -- A single window has percent rank 0; it is its own median.
         (SELECT min(value) FROM (SELECT value, percent_rank() OVER (ORDER BY value) AS pr, count(*) OVER () AS n FROM six) m WHERE pr >= 0.5 OR n = 1)::int AS six_month_median`;

/**
 * Which successful deployment of the environment shipped a commit first: only that one counts
 * for the commit (and for the pull request merged as it).
 */
const FIRST_DEPLOYMENT_OF = (dc: string, d: string) => `
  NOT EXISTS (
    SELECT 1 FROM devlake_deployment_commits dc2
      JOIN devlake_deployments d2 ON d2.connection_id = dc2.connection_id AND d2.id = dc2.deployment_id
     WHERE dc2.project_id = $1 AND dc2.commit_sha = ${dc}.commit_sha
       AND d2.project_id = $1 AND d2.environment = $4 AND d2.result = 'SUCCESS' AND d2.finished_date < ${d}.finished_date)`;

/** Per merged pull request first deployed in the window: first commit (else creation) → deployment finish. */
const LEAD_TIME_PR_SQL = `
  WITH changes AS (
    SELECT DISTINCT ON (pr.connection_id, pr.pull_request_key)
           ceil(extract(epoch FROM d.finished_date - coalesce(pr.first_commit_date, pr.created_date)) / 60) AS value
      FROM devlake_deployments d
      JOIN devlake_deployment_commits dc ON dc.connection_id = d.connection_id AND dc.deployment_id = d.id
      JOIN devlake_pull_requests pr ON pr.project_id = $1 AND pr.merge_commit_sha = dc.commit_sha
                                   AND (pr.status = 'MERGED' OR pr.merged_date IS NOT NULL)
     WHERE d.project_id = $1 AND d.environment = $4 AND d.result = 'SUCCESS' AND d.finished_date BETWEEN $2 AND $3
       AND ${FIRST_DEPLOYMENT_OF('dc', 'd')}
     ORDER BY pr.connection_id, pr.pull_request_key, d.finished_date
  ), v AS (SELECT value FROM changes WHERE value >= 0)
  SELECT (SELECT count(*) FROM v)::int AS changes, ${median('v')}::bigint AS median_minutes`;

/** Without pull requests: per deployment commit first deployed in the window, its createdDate → finish. */
const LEAD_TIME_COMMITS_SQL = `
  WITH changes AS (
    SELECT DISTINCT ON (dc.commit_sha) ceil(extract(epoch FROM d.finished_date - dc.created_date) / 60) AS value
      FROM devlake_deployments d
      JOIN devlake_deployment_commits dc ON dc.connection_id = d.connection_id AND dc.deployment_id = d.id
     WHERE d.project_id = $1 AND d.environment = $4 AND d.result = 'SUCCESS' AND d.finished_date BETWEEN $2 AND $3
       AND dc.created_date IS NOT NULL AND ${FIRST_DEPLOYMENT_OF('dc', 'd')}
     ORDER BY dc.commit_sha, d.finished_date
  ), v AS (SELECT value FROM changes WHERE value >= 0)
  SELECT (SELECT count(*) FROM v)::int AS changes, ${median('v')}::bigint AS median_minutes`;

/**
 * Incidents linked to the latest successful deployment (of the project and environment) that
 * finished strictly before the incident was created. Only incidents that can link into the
 * window are read: created after its start, and no later than the first deployment after it.
 */
const LINKED_INCIDENTS = `
  SELECT i.created_date, i.resolution_date, d.connection_id AS d_connection, d.id AS d_id, d.finished_date AS d_finished
    FROM devlake_issues i
    CROSS JOIN LATERAL (
      SELECT d.connection_id, d.id, d.finished_date FROM devlake_deployments d
       WHERE d.project_id = $1 AND d.environment = $4 AND d.result = 'SUCCESS' AND d.finished_date < i.created_date
       ORDER BY d.finished_date DESC, d.connection_id DESC, d.id DESC LIMIT 1
    ) d
   WHERE i.project_id = $1 AND i.type = 'INCIDENT' AND i.created_date > $2
     AND i.created_date <= coalesce(
       (SELECT min(n.finished_date) FROM devlake_deployments n
         WHERE n.project_id = $1 AND n.environment = $4 AND n.result = 'SUCCESS' AND n.finished_date > $3), 'infinity')`;

const FAILURE_SQL = `
  WITH deployments AS (${DEPLOYMENTS_IN_RANGE}),
  linked AS (${LINKED_INCIDENTS}),
  in_range AS (SELECT * FROM linked WHERE d_finished BETWEEN $2 AND $3),
  recovered AS (
    SELECT floor(extract(epoch FROM resolution_date - d_finished) / 60) AS value FROM in_range
     WHERE resolution_date BETWEEN $2 AND $3 AND resolution_date >= d_finished
  )
  SELECT (SELECT count(*) FROM deployments)::int AS deployments,
         (SELECT count(DISTINCT (d_connection, d_id)) FROM in_range)::int AS failed_deployments,
         (SELECT count(*) FROM recovered)::int AS recovered_incidents,
         ${median('recovered')}::bigint AS recovery_median`;

/** 2021: every project incident resolved in the window, created → resolved. */
const RESTORE_SQL = `
  WITH v AS (
    SELECT floor(extract(epoch FROM resolution_date - created_date) / 60) AS value FROM devlake_issues
     WHERE project_id = $1 AND type = 'INCIDENT' AND resolution_date BETWEEN $2 AND $3 AND resolution_date >= created_date
  )
  SELECT (SELECT count(*) FROM v)::int AS incidents, ${median('v')}::bigint AS median_minutes`;

/** The statements, for the spec that checks their plans read the indexes. */
export const DORA_SQL = {
  frequency: FREQUENCY_SQL,
  leadTimePullRequests: LEAD_TIME_PR_SQL,
  leadTimeCommits: LEAD_TIME_COMMITS_SQL,
  failures: FAILURE_SQL,
  restore: RESTORE_SQL,
};

export interface DoraWindow {
  projectId: number;
  from: Date;
  to: Date;
  environment: string;
}

export interface FrequencyRow {
  deployments: number;
  deploymentDays: number;
  weeklyMedian: number | null;
  monthlyMedian: number | null;
  sixMonthMedian: number | null;
}

export interface LeadTimeRow {
  basis: 'pull_requests' | 'deployment_commits';
  changes: number;
  medianMinutes: number | null;
}

export interface FailureRow {
  deployments: number;
  failedDeployments: number;
  recoveredIncidents: number;
  recoveryMedian: number | null;
}

export interface RestoreRow {
  incidents: number;
  medianMinutes: number | null;
}

const num = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));

@Injectable()
export class DoraQueries {
  constructor(private readonly db: DataSource) {}

  private params(w: DoraWindow): unknown[] {
    return [w.projectId, w.from.toISOString(), w.to.toISOString(), w.environment];
  }

  async frequency(w: DoraWindow): Promise<FrequencyRow> {
    const [r] = await this.db.query(FREQUENCY_SQL, this.params(w));
    return {
      deployments: r.deployments,
      deploymentDays: r.deployment_days,
      weeklyMedian: num(r.weekly_median),
      monthlyMedian: num(r.monthly_median),
      sixMonthMedian: num(r.six_month_median),
    };
  }

  /** From pull requests; from deployment commits when the project has no pull requests at all. */
  async leadTime(w: DoraWindow): Promise<LeadTimeRow> {
    const [{ has }] = await this.db.query('SELECT EXISTS (SELECT 1 FROM devlake_pull_requests WHERE project_id = $1) AS has', [w.projectId]);
    const basis = has ? 'pull_requests' : 'deployment_commits';
    const [r] = await this.db.query(has ? LEAD_TIME_PR_SQL : LEAD_TIME_COMMITS_SQL, this.params(w));
    return { basis, changes: r.changes, medianMinutes: num(r.median_minutes) };
  }

  async failures(w: DoraWindow): Promise<FailureRow> {
    const [r] = await this.db.query(FAILURE_SQL, this.params(w));
    return {
      deployments: r.deployments,
      failedDeployments: r.failed_deployments,
      recoveredIncidents: r.recovered_incidents,
      recoveryMedian: num(r.recovery_median),
    };
  }

  async restore(w: DoraWindow): Promise<RestoreRow> {
    const [r] = await this.db.query(RESTORE_SQL, [w.projectId, w.from.toISOString(), w.to.toISOString()]);
    return { incidents: r.incidents, medianMinutes: num(r.median_minutes) };
  }
}
