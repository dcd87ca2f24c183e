import { rateChangeFailureRate, rateDeploymentFrequency, rateLeadTime, rateRecoveryTime, type DoraLevel, type DoraReport } from '../benchmarks';

const DAY = 24 * 60;
export const TABLE_LEVELS = ['elite', 'high', 'medium', 'low'] as const;
export type TableLevel = (typeof TABLE_LEVELS)[number];

export interface BenchmarkRow {
  metric: 'deploymentFrequency' | 'leadTimeForChanges' | 'changeFailureRate' | 'recoveryTime';
  /** The bucket's text per level, as the rating functions word it. */
  levels: Record<TableLevel, string>;
}

/** One input per level that falls in that level's bucket: the table is read off the rating functions, never written twice. */
const PROBES: Record<DoraReport, { frequency: Array<[number, number, number]>; lead: number[]; cfr: number[] }> = {
  // frequency: [weekly median days, monthly median days, six-month median days]
  '2023': {
    frequency: [
      [5, 20, 100],
      [1, 4, 20],
      [0, 1, 4],
      [0, 0, 1],
    ],
    lead: [0, DAY, 7 * DAY, 30 * DAY],
    cfr: [0, 0.07, 0.12, 0.5],
  },
  '2021': {
    frequency: [
      [5, 20, 100],
      [1, 1, 6],
      [0, 0, 1],
      [0, 0, 0],
    ],
    lead: [0, 60, 7 * DAY, 180 * DAY],
    cfr: [0, 0.17, 0.25, 0.5],
  },
};
const RECOVERY_PROBES = [0, 60, DAY, 7 * DAY];

export function probeLevels(report: DoraReport): Record<BenchmarkRow['metric'], Array<{ level: DoraLevel; label: string }>> {
  const p = PROBES[report];
  return {
    deploymentFrequency: p.frequency.map(([w, m, s]) =>
      rateDeploymentFrequency(report, { weeklyMedianDays: w, monthlyMedianDays: m, sixMonthMedianDays: s, deploymentDays: 1 }),
    ),
    leadTimeForChanges: p.lead.map((v) => rateLeadTime(report, v)),
    changeFailureRate: p.cfr.map((v) => rateChangeFailureRate(report, v)),
    recoveryTime: RECOVERY_PROBES.map((v) => rateRecoveryTime(v)),
  };
}

/** DORA's benchmark table of the report, as DevLake's dashboards show it. */
export function benchmarkTable(report: DoraReport): BenchmarkRow[] {
  return Object.entries(probeLevels(report)).map(([metric, ratings]) => ({
    metric: metric as BenchmarkRow['metric'],
    levels: Object.fromEntries(TABLE_LEVELS.map((level, i) => [level, ratings[i].label])) as Record<TableLevel, string>,
  }));
}
