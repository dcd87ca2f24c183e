import { ValidationFailed, isUuid } from '@herald/domain';

/** Keyset pagination (docs/contract.md §3.3): `limit` ≤ 100, an opaque `cursor`, `nextCursor` null on the last page. */
export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

export interface PageRequest {
  cursor?: string;
  limit?: number;
}

export const MAX_PAGE = 100;
export const DEFAULT_PAGE = 50;

/** The largest Postgres `integer`. */
export const PG_INT_MAX = 2_147_483_647;

export function encodeCursor(value: string | number): string {
  return Buffer.from(String(value), 'utf8').toString('base64url');
}

export function decodeCursor(cursor: string | undefined, kind: 'uuid' | 'int'): string | undefined {
  if (cursor === undefined || cursor === '') return undefined;
  const value = Buffer.from(cursor, 'base64url').toString('utf8');
  // Integer ids are Postgres `integer`s: a larger number would reach the query and fail there (22003).
  const ok = kind === 'uuid' ? isUuid(value) : /^\d{1,10}$/.test(value) && Number(value) <= PG_INT_MAX;
  if (!ok) throw new ValidationFailed([{ field: 'cursor', message: 'cursor is not one this API returned' }]);
  return value;
}

/** Fetch `limit + 1` rows; this trims the extra one and turns it into the next cursor. */
export function toPage<T>(rows: T[], limit: number, cursorOf: (row: T) => string | number): Page<T> {
  if (rows.length <= limit) return { items: rows, nextCursor: null };
  const items = rows.slice(0, limit);
  return { items, nextCursor: encodeCursor(cursorOf(items[items.length - 1])) };
}
