import { HeraldApiError } from '@herald/sdk';

/**
 * Puts a 400's `details` on the form fields they name (docs/contract.md §3.2: a validation error names every
 * offending field). `fields` maps API field names (dotted, e.g. `rateLimit.count`) to the form's,
 * exactly or by their first part (`filter.$or[0]…` → `filter`);
 * what names no known field is returned as the form-level message.
 */
export function applyServerErrors(
  error: unknown,
  setError: (field: string, error: { type: string; message: string }) => void,
  fields: Record<string, string>,
): string | null {
  if (!(error instanceof HeraldApiError)) return error instanceof Error ? error.message : String(error);
  if (error.status !== 400 || error.details.length === 0) return error.message;
  const unplaced: string[] = [];
  for (const detail of error.details) {
    const target = fields[detail.field] ?? fields[detail.field.split(/[.[]/)[0]];
    if (target) setError(target, { type: 'server', message: detail.message });
    else unplaced.push(`${detail.field}: ${detail.message}`);
  }
  return unplaced.length ? unplaced.join('; ') : null;
}
