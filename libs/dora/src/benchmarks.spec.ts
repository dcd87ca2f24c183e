import { devlakeMedian, rateChangeFailureRate, rateDeploymentFrequency, rateLeadTime, rateRecoveryTime } from './benchmarks';

describe('DORA benchmarks', () => {
  it("takes DevLake's median: the lower one for an even count", () => {
    expect(devlakeMedian([])).toBeNull();
    expect(devlakeMedian([7])).toBe(7);
    expect(devlakeMedian([4, 1, 3, 2])).toBe(2);
    expect(devlakeMedian([5, 1, 3])).toBe(3);
    expect(devlakeMedian([1, 1, 1, 9])).toBe(1);
  });

  it('buckets deployment frequency by report', () => {
    const f = (weekly: number, monthly: number, six: number | null = null) => ({
      weeklyMedianDays: weekly,
      monthlyMedianDays: monthly,
      sixMonthMedianDays: six,
      deploymentDays: 1,
    });
    expect(rateDeploymentFrequency('2023', f(5, 20)).level).toBe('elite');
    expect(rateDeploymentFrequency('2023', f(1, 4)).level).toBe('high');
    expect(rateDeploymentFrequency('2023', f(0, 1)).level).toBe('medium');
    expect(rateDeploymentFrequency('2023', f(0, 0)).level).toBe('low');
    expect(rateDeploymentFrequency('2021', f(1, 4)).label).toBe('Between once per day and once per month');
    expect(rateDeploymentFrequency('2021', f(0, 0, 2)).level).toBe('medium');
    expect(rateDeploymentFrequency('2021', f(0, 0, 0)).level).toBe('low');
    expect(rateDeploymentFrequency('2023', { weeklyMedianDays: null, monthlyMedianDays: null, sixMonthMedianDays: null, deploymentDays: 0 }).level).toBe(
      'none',
    );
  });

  it('buckets lead time, change failure rate and recovery time at their edges', () => {
    expect(rateLeadTime('2023', 1439).level).toBe('elite');
    expect(rateLeadTime('2023', 1440).level).toBe('high');
    expect(rateLeadTime('2021', 59).level).toBe('elite');
    expect(rateLeadTime('2021', 60).level).toBe('high');
    expect(rateLeadTime('2021', 180 * 1440).level).toBe('low');
    expect(rateLeadTime('2023', null).level).toBe('none');
    expect(rateChangeFailureRate('2023', 0.05).level).toBe('elite');
    expect(rateChangeFailureRate('2023', 0.4).label).toBe('> 15%');
    expect(rateChangeFailureRate('2021', 0.2).level).toBe('high');
    expect(rateRecoveryTime(59).level).toBe('elite');
    expect(rateRecoveryTime(60).level).toBe('high');
    expect(rateRecoveryTime(7 * 1440).level).toBe('low');
    expect(rateRecoveryTime(null).level).toBe('none');
  });
});
