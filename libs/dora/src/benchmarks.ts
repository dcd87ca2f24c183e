/**
 * DORA's benchmark buckets as DevLake's dashboards apply them (`dora_benchmarks`, reports 2021
 * and 2023; reference/devlake-webhook.md §3.2). Pure: inputs are the numbers the SQL computed.
 */
export type DoraReport = '2021' | '2023';
export type DoraLevel = 'elite' | 'high' | 'medium' | 'low' | 'none';

export interface Rating {
  level: DoraLevel;
  label: string;
}

const DAY = 24 * 60;

const rate = (level: DoraLevel, label: string): Rating => ({ level, label });

export interface FrequencyInput {
  weeklyMedianDays: number | null;
  monthlyMedianDays: number | null;
  sixMonthMedianDays: number | null;
  deploymentDays: number;
}

export function rateDeploymentFrequency(report: DoraReport, f: FrequencyInput): Rating {
  if (f.deploymentDays === 0 || f.weeklyMedianDays === null || f.monthlyMedianDays === null) {
    return rate('none', 'N/A. Please check if you have collected deployments.');
  }
  if (f.weeklyMedianDays >= 5) return rate('elite', 'On-demand');
  if (report === '2023') {
    if (f.weeklyMedianDays >= 1) return rate('high', 'Between once per day and once per week');
    if (f.monthlyMedianDays >= 1) return rate('medium', 'Between once per week and once per month');
    return rate('low', 'Fewer than once per month');
  }
  if (f.monthlyMedianDays >= 1) return rate('high', 'Between once per day and once per month');
  if ((f.sixMonthMedianDays ?? 0) >= 1) return rate('medium', 'Between once per month and once every 6 months');
  return rate('low', 'Fewer than once per six months');
}

export function rateLeadTime(report: DoraReport, medianMinutes: number | null): Rating {
  if (medianMinutes === null) return rate('none', 'N/A. Please check if you have collected deployments/pull_requests.');
  if (report === '2023') {
    if (medianMinutes < DAY) return rate('elite', 'Less than one day');
    if (medianMinutes < 7 * DAY) return rate('high', 'Between one day and one week');
    if (medianMinutes < 30 * DAY) return rate('medium', 'Between one week and one month');
    return rate('low', 'More than one month');
  }
  if (medianMinutes < 60) return rate('elite', 'Less than one hour');
  if (medianMinutes < 7 * DAY) return rate('high', 'Less than one week');
  if (medianMinutes < 180 * DAY) return rate('medium', 'Between one week and six months');
  return rate('low', 'More than six months');
}

export function rateChangeFailureRate(report: DoraReport, value: number | null): Rating {
  if (value === null) return rate('none', 'N/A. Please check if you have collected deployments.');
  const [elite, high, medium] = report === '2023' ? [0.05, 0.1, 0.15] : [0.15, 0.2, 0.3];
  const labels = report === '2023' ? ['0-5%', '5%-10%', '10%-15%', '> 15%'] : ['0-15%', '16%-20%', '21%-30%', '> 30%'];
  if (value <= elite) return rate('elite', labels[0]);
  if (value <= high) return rate('high', labels[1]);
  if (value <= medium) return rate('medium', labels[2]);
  return rate('low', labels[3]);
}

/** Failed deployment recovery time (2023) and time to restore service (2021) share thresholds. */
export function rateRecoveryTime(medianMinutes: number | null): Rating {
  if (medianMinutes === null) return rate('none', 'N/A. Please check if you have collected incidents.');
  if (medianMinutes < 60) return rate('elite', 'Less than one hour');
  if (medianMinutes < DAY) return rate('high', 'Less than one day');
  if (medianMinutes < 7 * DAY) return rate('medium', 'Between one day and one week');
  return rate('low', 'More than one week');
}

/**
 * DevLake's median, for reference and tests: the largest value whose percent rank
 * ((rank − 1) / (n − 1), ties sharing the lowest rank) is ≤ 0.5; the lower median for even n.
 * The SQL computes the same with percent_rank().
 */
export function devlakeMedian(values: number[]): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const n = sorted.length;
  let best: number | null = null;
  for (let i = 0; i < n; i++) {
    const rank = sorted.indexOf(sorted[i]); // first index of the value: ties share the lowest rank
    const pr = n === 1 ? 0 : rank / (n - 1);
    if (pr <= 0.5) best = sorted[i];
  }
  return best;
}
