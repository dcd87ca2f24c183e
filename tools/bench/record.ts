/** One row of the benchmark table: its section, what it measures, the figure, and a note. */
export interface Row {
  section: string;
  measure: string;
  value: string;
  note?: string;
}

/**
 * The table of `current` (docs/benchmarks.md) with the rows of the sections in `fresh` replaced by
 * them (where the first old row of the section was, else at the end of the table), each section's
 * first row noting when and how it was re-run; everything else stays.
 */
export function mergeRows(current: string, fresh: Row[], how: string): string {
  const lines = current.split('\n');
  const sections = new Set(fresh.map((r) => r.section));
  const sectionOf = (line: string) => /^\| ([^|]+?) \|/.exec(line)?.[1] ?? null;
  const header = lines.findIndex((l) => l.startsWith('| section | measure |'));
  if (header < 0) throw new Error('docs/benchmarks.md has no table to record into');
  let end = header + 2;
  while (end < lines.length && lines[end].startsWith('|')) end++;
  const out: string[] = [];
  const placed = new Set<string>();
  const render = (section: string) =>
    fresh
      .filter((r) => r.section === section)
      .map((r, i) => `| ${r.section} | ${r.measure} | ${r.value} | ${[r.note, i === 0 ? `re-run alone: ${how}` : ''].filter(Boolean).join('; ')} |`);
  for (const line of lines.slice(header + 2, end)) {
    const section = sectionOf(line);
    if (section === null || !sections.has(section)) out.push(line);
    else if (!placed.has(section)) {
      placed.add(section);
      out.push(...render(section));
    }
  }
  for (const section of sections) if (!placed.has(section)) out.push(...render(section));
  return [...lines.slice(0, header + 2), ...out, ...lines.slice(end)].join('\n');
}
