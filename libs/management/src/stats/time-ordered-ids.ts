/**
 * Herald's row ids are UUID v7 (herald_uuid_v7(), uuid's v7): their first 48 bits are the Unix
 * time in milliseconds, so `id >= idFloor(t)` turns a time bound into a range of the
 * (project_id, id) and (webhook_id, id) indexes. Clocks of different processes differ a little,
 * so callers subtract a margin and still filter on the real timestamp column.
 */
export function idFloor(at: Date): string {
  const hex = Math.max(0, Math.floor(at.getTime())).toString(16).padStart(12, '0').slice(-12);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-0000-0000-000000000000`;
}

export const ID_CLOCK_MARGIN_MS = 5 * 60_000;
