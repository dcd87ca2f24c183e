import type { ChannelType } from './channel-type';
import { EVENT_CATALOGUE, EVENT_TYPES } from './event-catalogue';

/**
 * Two webhook options that change how its deliveries queue (issue 16, docs/contract.md §10): digests merge a
 * backlog into one message, ordering keeps the deliveries of one subject in acceptance order.
 */

/** `digest: {afterQueued, maxItems}`: when more than `afterQueued` deliveries wait, the next send merges up to `maxItems` of them. */
export interface DigestPolicy {
  afterQueued: number;
  maxItems: number;
}

/** `subject`: deliveries about one issue, deployment or incident reach the receiver in the order the events were accepted. */
export const ORDERING_MODES = ['none', 'subject'] as const;
export type OrderingMode = (typeof ORDERING_MODES)[number];

/** The bounds a digest policy must keep (a 400 names the field otherwise). */
export const DIGEST_LIMITS = {
  afterQueued: { min: 0, max: 10_000 },
  /** Two at least (one item is an ordinary message); 100 at most, which every platform's budget shows at least as a count. */
  maxItems: { min: 2, max: 100 },
} as const;

/** A custom receiver expects one signed event per request (docs/contract.md §7.3): it never gets digests. */
export function digestsAllowed(type: ChannelType): boolean {
  return type !== 'custom';
}

/**
 * Event types that message their `mentions` directly (the catalogue's): on a webhook with
 * `directMessage`, their deliveries are sent one by one, DMs first, as without a digest, so direct
 * messages are never merged across users. The SQL of migration 1733700000000 lists the same types
 * (`herald_digestible`); a spec checks they agree.
 */
export const DIRECT_MESSAGE_TYPES: readonly string[] = EVENT_TYPES.filter((t) => EVENT_CATALOGUE[t].directMessage);

/** Problems of a `digest` value as given in a request, each naming its field; [] when it is fine (null means off). */
export function digestPolicyProblems(value: unknown, type: ChannelType | null, field = 'digest'): Array<{ field: string; message: string }> {
  if (value === null || value === undefined) return [];
  if (typeof value !== 'object' || Array.isArray(value))
    return [{ field, message: `${field} must be an object {afterQueued, maxItems}, or null to turn digests off` }];
  const problems: Array<{ field: string; message: string }> = [];
  if (type && !digestsAllowed(type)) {
    problems.push({
      field,
      message: `custom webhooks never get digests: their receivers expect one signed event per request (docs/contract.md §7.3); leave ${field} out or null`,
    });
  }
  const v = value as Record<string, unknown>;
  for (const key of Object.keys(v)) {
    if (key !== 'afterQueued' && key !== 'maxItems')
      problems.push({ field: `${field}.${key}`, message: `${field} has only afterQueued and maxItems; ${key} is not one of them` });
  }
  for (const key of ['afterQueued', 'maxItems'] as const) {
    const { min, max } = DIGEST_LIMITS[key];
    const n = v[key];
    if (n === undefined) problems.push({ field: `${field}.${key}`, message: `${field}.${key} is required: an integer from ${min} to ${max}` });
    else if (typeof n !== 'number' || !Number.isInteger(n) || n < min || n > max)
      problems.push({ field: `${field}.${key}`, message: `${field}.${key} must be an integer from ${min} to ${max}` });
  }
  return problems;
}
