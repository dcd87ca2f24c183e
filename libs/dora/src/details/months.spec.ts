import { MAX_MONTHS, monthsOf } from './dora-details.service';

describe('monthsOf', () => {
  it('lists every calendar month the window touches, clipped to the window', () => {
    const months = monthsOf(new Date('2024-01-15T00:00:00Z'), new Date('2024-03-10T12:00:00Z'));
    expect(months.map((m) => [m.month, m.from.toISOString(), m.to.toISOString()])).toEqual([
      ['2024-01', '2024-01-15T00:00:00.000Z', '2024-01-31T23:59:59.999Z'],
      ['2024-02', '2024-02-01T00:00:00.000Z', '2024-02-29T23:59:59.999Z'],
      ['2024-03', '2024-03-01T00:00:00.000Z', '2024-03-10T12:00:00.000Z'],
    ]);
  });

  it('keeps the last months of a long window', () => {
    const months = monthsOf(new Date('2010-01-01T00:00:00Z'), new Date('2024-12-31T00:00:00Z'));
    expect(months).toHaveLength(MAX_MONTHS);
    expect(months[months.length - 1].month).toBe('2024-12');
  });
});
