import { isUuid } from '@herald/domain';

/**
 * Queue names. Renaming a queue strands every job already in it (BullMQ keys are derived from the
 * name), so a rename needs a migration that drains the old queue first.
 */
export const QUEUES = {
  /** One job per delivery attempt chain: render, rate-limit, send, classify, record. */
  deliver: 'herald.deliver',
} as const;

export const JOBS = {
  deliver: 'deliver',
} as const;

/**
 * Payloads carry ids only; the data stays in Postgres. Version them when their shape changes in a
 * way an existing reader would refuse or misread.
 *
 * `traceparent` was added without a new version: it is optional, and the parser of every release
 * keeps the fields it knows and ignores the rest, so a job with it is still a valid job for a
 * worker of the previous release (a rolling upgrade runs both), and one without it (queued before
 * the upgrade, or with tracing off) is valid for this one. A `v: 2` would have made the previous
 * release fail every new job until its last worker was replaced.
 */
export interface DeliverJobV1 {
  v: 1;
  deliveryId: string;
  /** The W3C trace context of the relay's fan-out span (tracing on): each attempt's span continues it. */
  traceparent?: string;
}

export interface JobPayloads {
  [JOBS.deliver]: DeliverJobV1;
}

/** A version-00 W3C traceparent: trace id, parent span id, flags. */
const TRACEPARENT = /^00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/;

/**
 * Re-validate a payload when a processor picks it up: a job may predate a deploy. A trace context
 * that is not a valid traceparent is dropped, never a reason to fail the delivery.
 */
export function parseDeliverJob(data: unknown): DeliverJobV1 {
  const d = data as Partial<DeliverJobV1> | null;
  if (!d || d.v !== 1 || typeof d.deliveryId !== 'string' || !isUuid(d.deliveryId)) {
    throw new Error(`malformed ${JOBS.deliver} job payload: ${JSON.stringify(data)?.slice(0, 200)}`);
  }
  return typeof d.traceparent === 'string' && TRACEPARENT.test(d.traceparent)
    ? { v: 1, deliveryId: d.deliveryId, traceparent: d.traceparent }
    : { v: 1, deliveryId: d.deliveryId };
}

/**
 * The BullMQ job id of a delivery's attempt chain. The first chain uses the delivery id itself, so
 * re-running a fan-out cannot enqueue it twice; each replay starts a new chain with its own id.
 */
export function deliverJobId(deliveryId: string, replay: number): string {
  return replay === 0 ? deliveryId : `${deliveryId}.r${replay}`;
}

/**
 * The attempt chain a delivery job belongs to, read back from its id (see {@link deliverJobId});
 * null when the id is not one Herald made.
 */
export function deliverJobChain(jobId: string | undefined, deliveryId: string): number | null {
  if (jobId === deliveryId) return 0;
  const match = jobId?.startsWith(`${deliveryId}.r`) ? /^[1-9]\d{0,8}$/.exec(jobId.slice(deliveryId.length + 2)) : null;
  return match ? Number(match[0]) : null;
}
