import { mergeRows } from './record';

describe('mergeRows: an --only run recorded into docs/benchmarks.md', () => {
  const doc = [
    '# Benchmarks',
    '',
    '| section | measure | value | note |',
    '|---|---|---|---|',
    '| intake | single events/s | 1,820 | p99 75 ms |',
    '| scaling | 1 worker | 155 | old |',
    '| scaling | 2 workers | 231 | old |',
    '| memory | RSS | 115 |  |',
    '',
    '<!-- notes -->',
    'kept',
  ].join('\n');

  it("replaces the section's rows where they were, notes the run once, and keeps everything else", () => {
    const merged = mergeRows(
      doc,
      [
        { section: 'scaling', measure: '1 worker', value: '190', note: 'new' },
        { section: 'scaling', measure: '4 workers', value: '700' },
      ],
      'npm run bench -- --only=scaling --record on T',
    );
    expect(merged.split('\n')).toEqual([
      '# Benchmarks',
      '',
      '| section | measure | value | note |',
      '|---|---|---|---|',
      '| intake | single events/s | 1,820 | p99 75 ms |',
      '| scaling | 1 worker | 190 | new; re-run alone: npm run bench -- --only=scaling --record on T |',
      '| scaling | 4 workers | 700 |  |',
      '| memory | RSS | 115 |  |',
      '',
      '<!-- notes -->',
      'kept',
    ]);
  });

  it('appends a section the table did not have at its end', () => {
    const merged = mergeRows(doc, [{ section: 'baseline (c)', measure: 'requests/s', value: '5,000' }], 'how');
    expect(merged.split('\n').slice(7, 9)).toEqual(['| memory | RSS | 115 |  |', '| baseline (c) | requests/s | 5,000 | re-run alone: how |']);
  });
});
