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

/** Payloads carry ids only; the data stays in Postgres. Version them when their shape changes. */
export interface DeliverJobV1 {
  v: 1;
  deliveryId: string;
}

export interface JobPayloads {
  [JOBS.deliver]: DeliverJobV1;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Re-validate a payload when a processor picks it up: a job may predate a deploy. */
export function parseDeliverJob(data: unknown): DeliverJobV1 {
  const d = data as Partial<DeliverJobV1> | null;
  if (!d || d.v !== 1 || typeof d.deliveryId !== 'string' || !UUID.test(d.deliveryId)) {
    throw new Error(`malformed ${JOBS.deliver} job payload: ${JSON.stringify(data)?.slice(0, 200)}`);
  }
  return { v: 1, deliveryId: d.deliveryId };
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
