import { v7 } from 'uuid';

/**
 * Ids are UUIDv7: time-ordered, so new rows land at the right edge of indexes and keyset pagination
 * by id lists in creation order. `uuid`'s v7 is monotonic within a process.
 */
export function newId(): string {
  return v7();
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Whether `value` is a UUID in its canonical text form (any version, either case): what Postgres'
 * `uuid` type accepts from an API path or a cursor. Checked before a query, so a malformed id is a
 * 404 or a 400 naming the field, never a failed statement.
 */
export function isUuid(value: string): boolean {
  return UUID.test(value);
}
