/**
 * docs/reliability.md (`current`) with the drill sections (`## <key>: …`) of `fresh` put in place
 * of the sections with the same key, or appended; the header and the other drills' figures stay.
 * Each section put in says when it ran (`note`), since the header's date is the last full run's.
 */
export function mergeSections(current: string, fresh: string, note: string): string {
  const sections = (text: string) => text.split(/^(?=## )/m);
  const key = (section: string) => /^## ([^:\n]+):/.exec(section)?.[1];
  const updates = new Map(
    sections(fresh)
      .filter(key)
      .map((s) => [key(s), s.replace(/^(Result: .*)$/m, `$1, ${note}`).replace(/\n*$/, '\n\n')]),
  );
  const kept = sections(current).map((s) => {
    const k = key(s);
    const update = k === undefined ? undefined : updates.get(k);
    if (update === undefined) return s;
    updates.delete(k);
    return update;
  });
  const text = kept.join('').replace(/\n*$/, '\n\n');
  return `${text}${[...updates.values()].join('')}`.replace(/\n+$/, '\n');
}
