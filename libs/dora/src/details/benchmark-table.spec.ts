import { TABLE_LEVELS, benchmarkTable, probeLevels } from './benchmark-table';

describe('DORA benchmark table', () => {
  it.each(['2023', '2021'] as const)('each probe of the %s report lands in the bucket of its column', (report) => {
    for (const ratings of Object.values(probeLevels(report))) expect(ratings.map((r) => r.level)).toEqual([...TABLE_LEVELS]);
  });

  it('words the buckets as the rating functions do', () => {
    const lead2023 = benchmarkTable('2023').find((r) => r.metric === 'leadTimeForChanges');
    expect(lead2023?.levels).toEqual({
      elite: 'Less than one day',
      high: 'Between one day and one week',
      medium: 'Between one week and one month',
      low: 'More than one month',
    });
    expect(benchmarkTable('2021').find((r) => r.metric === 'changeFailureRate')?.levels).toEqual({
      elite: '0-15%',
      high: '16%-20%',
      medium: '21%-30%',
      low: '> 30%',
    });
  });
});
