import { mergeSections } from './record';

describe('mergeSections (npm run drills -- <drill> --record)', () => {
  const current = [
    '# Reliability drills',
    '',
    'Last full run: then.',
    '',
    '## a: first',
    '',
    'Result: **passed** (1 s)',
    '',
    '| fact | value |',
    '|---|---|',
    '| x | 1 |',
    '',
    '## b: second',
    '',
    'Result: **passed** (2 s)',
    '',
  ].join('\n');

  it('replaces the section of a drill that ran, keeps the others and the header, and says when it ran', () => {
    const fresh = ['# Reliability drills', '', 'Last full run: now.', '', '## b: second, again', '', 'Result: **FAILED** (3 s)', '', '- ✖ broke', ''].join(
      '\n',
    );
    const merged = mergeSections(current, fresh, 'run alone on today');
    expect(merged).toContain('Last full run: then.');
    expect(merged).toContain('## a: first\n\nResult: **passed** (1 s)\n\n| fact | value |\n|---|---|\n| x | 1 |\n\n## b: second, again');
    expect(merged).toContain('Result: **FAILED** (3 s), run alone on today');
    expect(merged).not.toContain('(2 s)');
    expect(merged.endsWith('- ✖ broke\n')).toBe(true);
  });

  it('appends the section of a drill the file did not have yet', () => {
    const merged = mergeSections(current, '# x\n\n## c: third\n\nResult: **passed** (4 s)\n', 'run alone on today');
    expect(merged.indexOf('## b: second')).toBeLessThan(merged.indexOf('## c: third'));
    expect(merged).toContain('## b: second\n\nResult: **passed** (2 s)\n\n## c: third\n\nResult: **passed** (4 s), run alone on today\n');
  });
});
