import { v7 } from 'uuid';

/**
 * Ids are UUIDv7: time-ordered, so new rows land at the right edge of indexes and keyset pagination
 * by id lists in creation order. `uuid`'s v7 is monotonic within a process.
 */
export function newId(): string {
  return v7();
}
