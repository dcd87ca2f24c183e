import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import type { DoraReport } from '../benchmarks';
import { DoraService } from '../dora.service';
import { benchmarkTable } from './benchmark-table';
import type { DoraDeploymentRowDto, DoraDetailsDto, DoraIncidentRowDto, DoraMonthDto } from './dora-details.dto';

/** The monthly series covers at most the last 60 months of the window (each month is one DoraService computation). */
export const MAX_MONTHS = 60;
const ROWS = 500;

/** The latest successful deployment of the project and environment that finished strictly before the incident (docs/contract.md §8). */
const CAUSE = `
  SELECT d.connection_id, d.id, d.name, d.finished_date FROM devlake_deployments d
   WHERE d.project_id = $1 AND d.environment = $4 AND d.result = 'SUCCESS' AND d.finished_date < i.created_date
   ORDER BY d.finished_date DESC, d.connection_id DESC, d.id DESC LIMIT 1`;

const DEPLOYMENTS_SQL = `
  SELECT d.connection_id, d.id, d.name, d.result, d.environment, d.finished_date,
         (SELECT count(*) FROM devlake_deployment_commits c WHERE c.connection_id = d.connection_id AND c.deployment_id = d.id) AS commits,
         (SELECT count(*) FROM devlake_issues i
           WHERE i.project_id = $1 AND i.type = 'INCIDENT' AND i.created_date > d.finished_date AND d.result = 'SUCCESS'
             AND (SELECT (c.connection_id, c.id) FROM (${CAUSE}) c) = (d.connection_id, d.id)) AS incidents
    FROM devlake_deployments d
   WHERE d.project_id = $1 AND d.environment = $4 AND d.finished_date BETWEEN $2 AND $3
   ORDER BY d.finished_date DESC LIMIT ${ROWS}`;

const INCIDENTS_SQL = `
  SELECT i.connection_id, i.issue_key, i.title, i.created_date, i.resolution_date,
         c.connection_id AS d_connection, c.id AS d_id, c.name AS d_name, c.finished_date AS d_finished
    FROM devlake_issues i
    LEFT JOIN LATERAL (${CAUSE}) c ON true
   WHERE i.project_id = $1 AND i.type = 'INCIDENT' AND i.created_date BETWEEN $2 AND $3
   ORDER BY i.created_date DESC LIMIT ${ROWS}`;

const iso = (d: Date | null): string | null => (d ? d.toISOString() : null);

/**
 * The DORA page's drill-down (issue 14): the same metrics per calendar month, so empty months
 * show as zero, computed by DoraService itself (one definition of each metric), plus the rows
 * behind them: deployments, and incidents with the deployment each is attributed to.
 */
@Injectable()
export class DoraDetailsService {
  constructor(
    private readonly dora: DoraService,
    private readonly db: DataSource,
  ) {}

  async details(
    projectId: number,
    projectKey: string,
    query: { from?: string; to?: string; report?: DoraReport; environment?: string },
  ): Promise<DoraDetailsDto> {
    const summary = await this.dora.compute({ projectId, projectKey, ...query });
    const from = new Date(summary.from);
    const to = new Date(summary.to);
    const report = summary.report as DoraReport;
    const environment = summary.environment;
    const params = [projectId, from.toISOString(), to.toISOString(), environment];
    const [months, deployments, incidents] = await Promise.all([
      Promise.all(monthsOf(from, to).map((m) => this.month(projectId, projectKey, report, environment, m))),
      this.db.query(DEPLOYMENTS_SQL, params) as Promise<Array<Record<string, unknown>>>,
      this.db.query(INCIDENTS_SQL, params) as Promise<Array<Record<string, unknown>>>,
    ]);
    return {
      from: summary.from,
      to: summary.to,
      report,
      environment,
      months,
      deployments: deployments.map((r): DoraDeploymentRowDto => ({
        connectionId: Number(r.connection_id),
        id: String(r.id),
        name: String(r.name),
        result: String(r.result),
        environment: String(r.environment),
        finishedDate: (r.finished_date as Date).toISOString(),
        commits: Number(r.commits),
        incidents: Number(r.incidents),
      })),
      incidents: incidents.map((r): DoraIncidentRowDto => {
        const resolved = r.resolution_date as Date | null;
        const finished = r.d_finished as Date | null;
        return {
          connectionId: Number(r.connection_id),
          issueKey: String(r.issue_key),
          title: String(r.title),
          createdDate: (r.created_date as Date).toISOString(),
          resolutionDate: iso(resolved),
          deployment: finished
            ? { connectionId: Number(r.d_connection), id: String(r.d_id), name: String(r.d_name), finishedDate: finished.toISOString() }
            : null,
          recoveryMinutes: finished && resolved && resolved >= finished ? Math.floor((resolved.getTime() - finished.getTime()) / 60_000) : null,
        };
      }),
      benchmarks: benchmarkTable(report),
    };
  }

  private async month(
    projectId: number,
    projectKey: string,
    report: DoraReport,
    environment: string,
    m: { month: string; from: Date; to: Date },
  ): Promise<DoraMonthDto> {
    const d = await this.dora.compute({ projectId, projectKey, from: m.from.toISOString(), to: m.to.toISOString(), report, environment });
    return {
      month: m.month,
      from: d.from,
      to: d.to,
      deployments: d.deploymentFrequency.deployments,
      deploymentDays: d.deploymentFrequency.deploymentDays,
      leadTimeMedianMinutes: d.leadTimeForChanges.medianMinutes,
      changeFailureRate: d.changeFailureRate.value,
      recoveryMedianMinutes: d.recoveryTime.medianMinutes,
    };
  }
}

/** The calendar months (UTC) the window touches, each clipped to it; the last MAX_MONTHS. */
export function monthsOf(from: Date, to: Date): Array<{ month: string; from: Date; to: Date }> {
  const out: Array<{ month: string; from: Date; to: Date }> = [];
  let start = new Date(Date.UTC(from.getUTCFullYear(), from.getUTCMonth(), 1));
  while (start.getTime() <= to.getTime()) {
    const next = new Date(Date.UTC(start.getUTCFullYear(), start.getUTCMonth() + 1, 1));
    const mFrom = start.getTime() < from.getTime() ? from : start;
    // The window is inclusive; a month ends a millisecond before the next one starts.
    const mTo = next.getTime() - 1 > to.getTime() ? to : new Date(next.getTime() - 1);
    if (mFrom.getTime() < mTo.getTime()) out.push({ month: start.toISOString().slice(0, 7), from: mFrom, to: mTo });
    start = next;
  }
  return out.slice(-MAX_MONTHS);
}
