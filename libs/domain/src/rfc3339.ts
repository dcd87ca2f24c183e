/** Years 0001 to 9999 in UTC: what RFC 3339 can write and Postgres `timestamptz` stores as given. */
export const FIRST_INSTANT_MS = new Date(0).setUTCFullYear(1, 0, 1);
export const LAST_INSTANT_MS = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

export const inYearRange = (d: Date): boolean => d.getTime() >= FIRST_INSTANT_MS && d.getTime() <= LAST_INSTANT_MS;

/**
 * A date and time with seconds and an offset or `Z`. A bare date, or a time without a zone, would
 * be read in the server's zone; every form admitted here is one JavaScript's Date reads exactly.
 */
const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.\d{1,9})?(?:Z|[+-](\d{2}):(\d{2}))$/i;

/**
 * The instant an RFC 3339 date-time names: `unreadable` when it is not one or names no real
 * calendar time (30 February, 25:00), `out of range` when its offset moves it outside the years
 * 0001-9999 in UTC (Postgres refuses what `toISOString` writes there).
 */
export function readRfc3339(value: unknown): Date | 'unreadable' | 'out of range' {
  const m = typeof value === 'string' ? RFC3339.exec(value) : null;
  if (!m) return 'unreadable';
  const [year, month, day, hour, minute, second, offsetHours, offsetMinutes] = m.slice(1).map((v) => Number(v ?? 0));
  // setUTCFullYear keeps years 0-99 as written; an impossible day rolls over into the next month.
  const calendar = new Date(0);
  calendar.setUTCFullYear(year, month - 1, day);
  const real = calendar.getUTCMonth() === month - 1 && calendar.getUTCDate() === day;
  if (!real || hour > 23 || minute > 59 || second > 59 || offsetHours > 23 || offsetMinutes > 59) return 'unreadable';
  const date = new Date(value as string);
  if (Number.isNaN(date.getTime())) return 'unreadable';
  return inYearRange(date) ? date : 'out of range';
}
