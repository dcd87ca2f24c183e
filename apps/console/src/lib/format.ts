/** Times are shown in the user's time zone; the UTC form is the hover title (issue 14 §4). */
const LOCAL = new Intl.DateTimeFormat(undefined, { year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', second: '2-digit' });

export function localTime(iso: string): string {
  return LOCAL.format(new Date(iso));
}

export function utcTime(iso: string): string {
  return `${new Date(iso)
    .toISOString()
    .replace('T', ' ')
    .replace(/\.\d+Z$/, '')} UTC`;
}

export function percent(value: number | null | undefined, digits = 1): string {
  return value === null || value === undefined ? '—' : `${(value * 100).toFixed(digits)} %`;
}

/** Minutes as the largest sensible unit, e.g. 4478 → "3.1 days". */
export function duration(minutes: number | null | undefined): { value: string; unit: string } {
  if (minutes === null || minutes === undefined) return { value: '—', unit: '' };
  if (minutes < 60) return { value: String(minutes), unit: minutes === 1 ? 'minute' : 'minutes' };
  if (minutes < 48 * 60) return { value: (minutes / 60).toFixed(1), unit: 'hours' };
  return { value: (minutes / 1440).toFixed(1), unit: 'days' };
}

export function ms(value: number | null | undefined): string {
  if (value === null || value === undefined) return '—';
  return value < 1000 ? `${Math.round(value)} ms` : `${(value / 1000).toFixed(2)} s`;
}

/** RFC 3339 in UTC, as the API's since/until want. */
export function rfc3339(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}
