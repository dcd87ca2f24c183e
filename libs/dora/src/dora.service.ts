import { Injectable } from '@nestjs/common';
import { ValidationFailed, inYearRange, readRfc3339 } from '@herald/domain';
import { rateChangeFailureRate, rateDeploymentFrequency, rateLeadTime, rateRecoveryTime, type DoraReport } from './benchmarks';
import type { DoraDto } from './dora.dto';
import { DoraQueries } from './dora.queries';

const DAY_MS = 86_400_000;
export const DEFAULT_WINDOW_DAYS = 90;
/** The calendar of the frequency query has one row per day; ten years is plenty. */
export const MAX_WINDOW_DAYS = 3660;

export interface DoraRequest {
  projectId: number;
  projectKey: string;
  from?: string;
  to?: string;
  report?: DoraReport;
  environment?: string;
}

function instant(field: 'from' | 'to', text: string): Date {
  const date = readRfc3339(text);
  if (date === 'unreadable')
    throw new ValidationFailed([{ field, message: `${field} must be an RFC 3339 date-time with an offset or Z, such as 2024-01-01T00:00:00Z` }]);
  if (date === 'out of range') throw new ValidationFailed([{ field, message: `${field} must fall within the years 0001 to 9999 once converted to UTC` }]);
  return date;
}

/** The four DORA metrics of docs/contract.md §8 for one project and window. */
@Injectable()
export class DoraService {
  constructor(private readonly queries: DoraQueries) {}

  async compute(req: DoraRequest, now = new Date()): Promise<DoraDto> {
    const to = req.to ? instant('to', req.to) : now;
    const from = req.from ? instant('from', req.from) : new Date(to.getTime() - DEFAULT_WINDOW_DAYS * DAY_MS);
    if (!inYearRange(from))
      throw new ValidationFailed([
        { field: 'from', message: `from defaults to to minus ${DEFAULT_WINDOW_DAYS} days, which falls before the year 0001; give from` },
      ]);
    if (!(from.getTime() < to.getTime())) throw new ValidationFailed([{ field: 'from', message: 'from must be before to' }]);
    if (to.getTime() - from.getTime() > MAX_WINDOW_DAYS * DAY_MS) {
      throw new ValidationFailed([{ field: 'from', message: `the window from..to may span at most ${MAX_WINDOW_DAYS} days` }]);
    }
    const report: DoraReport = req.report ?? '2023';
    const environment = req.environment ?? 'PRODUCTION';
    const window = { projectId: req.projectId, from, to, environment };
    const [frequency, lead, failures, restore] = await Promise.all([
      this.queries.frequency(window),
      this.queries.leadTime(window),
      this.queries.failures(window),
      report === '2021' ? this.queries.restore(window) : Promise.resolve(null),
    ]);

    const hasDeployments = frequency.deployments > 0;
    const weekly = hasDeployments ? frequency.weeklyMedian : null;
    const monthly = hasDeployments ? frequency.monthlyMedian : null;
    const sixMonth = hasDeployments ? frequency.sixMonthMedian : null;
    const cfr = failures.deployments > 0 ? failures.failedDeployments / failures.deployments : null;
    const recovery =
      report === '2023'
        ? { incidents: failures.recoveredIncidents, medianMinutes: failures.recoveryMedian }
        : (restore as { incidents: number; medianMinutes: number | null });

    return {
      project: req.projectKey,
      from: from.toISOString(),
      to: to.toISOString(),
      report,
      environment,
      deploymentFrequency: {
        weeklyMedianDays: weekly,
        monthlyMedianDays: monthly,
        ...(report === '2021' ? { sixMonthMedianDays: sixMonth } : {}),
        deploymentDays: frequency.deploymentDays,
        deployments: frequency.deployments,
        ...rateDeploymentFrequency(report, {
          weeklyMedianDays: weekly,
          monthlyMedianDays: monthly,
          sixMonthMedianDays: sixMonth,
          deploymentDays: frequency.deploymentDays,
        }),
      },
      leadTimeForChanges: { medianMinutes: lead.medianMinutes, changes: lead.changes, basis: lead.basis, ...rateLeadTime(report, lead.medianMinutes) },
      changeFailureRate: {
        value: cfr,
        deployments: failures.deployments,
        failedDeployments: failures.failedDeployments,
        ...rateChangeFailureRate(report, cfr),
      },
      recoveryTime: {
        kind: report === '2023' ? 'failed_deployment_recovery_time' : 'time_to_restore',
        medianMinutes: recovery.medianMinutes,
        incidents: recovery.incidents,
        ...rateRecoveryTime(recovery.medianMinutes),
      },
    };
  }
}
