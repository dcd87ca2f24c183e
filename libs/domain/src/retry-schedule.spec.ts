import { parseRetrySchedule, withJitter } from './retry-schedule';

describe('parseRetrySchedule', () => {
  it('reads the default schedule as milliseconds before each attempt', () => {
    expect(parseRetrySchedule('0s,5s,5m,30m,2h,5h,10h,10h')).toEqual([0, 5000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000, 36_000_000]);
  });

  it('accepts ms and fractional values', () => {
    expect(parseRetrySchedule('0s, 200ms, 1.5s')).toEqual([0, 200, 1500]);
  });

  it.each(['', '5', '5x', '1s,,2s', 'abc'])('rejects %p with a message saying what is expected', (text) => {
    expect(() => parseRetrySchedule(text)).toThrow(/duration|comma-separated/);
  });
});

describe('withJitter', () => {
  it('stays within ±20 %', () => {
    expect(withJitter(10_000, () => 0)).toBe(8000);
    expect(withJitter(10_000, () => 1)).toBe(12_000);
    expect(withJitter(10_000, () => 0.5)).toBe(10_000);
  });

  it('keeps a zero delay at zero', () => {
    expect(withJitter(0, () => 1)).toBe(0);
  });
});
