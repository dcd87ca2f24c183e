/**
 * Test doubles for the delivery steps' unit specs (not production code; only `*.spec.ts` import
 * it). The steps take their I/O edges by constructor, so a spec gives them recording fakes and
 * needs no server; the integration and end-to-end specs run the same steps against Postgres,
 * Redis and real receivers.
 */
import type { Job } from 'bullmq';
import type { DeliverJobV1 } from '@herald/contracts';
import type { DeliveryContext } from '@herald/persistence';
import { JobRun } from './deliver.run';

export const DELIVERY_ID = '0190d5b0-0000-7000-8000-000000000001';

export function deliveryContext(
  patch: { delivery?: Partial<DeliveryContext['delivery']>; webhook?: Partial<DeliveryContext['webhook']> } = {},
): DeliveryContext {
  const now = new Date();
  return {
    delivery: {
      id: DELIVERY_ID,
      attemptCount: 0,
      replay: 0,
      createdAt: now,
      chainAttempts: 0,
      rateLimitedStreak: 0,
      claimToken: 't',
      subject: null,
      digestible: false,
      ...patch.delivery,
    },
    webhook: {
      id: '0190d5b0-0000-7000-8000-00000000000a',
      name: 'hook',
      type: 'custom',
      urlEncrypted: 'u',
      secretEncrypted: null,
      previousSecretEncrypted: null,
      previousSecretExpiresAt: null,
      rateLimitCount: null,
      rateLimitPerSeconds: null,
      directMessage: false,
      locale: null,
      enabled: true,
      disabledReason: null,
      ordering: 'none',
      digest: null,
      template: null,
      ...patch.webhook,
    },
    event: {
      id: '0190d5b0-0000-7000-8000-0000000000e1',
      type: 'bb.issue.create',
      level: 'INFO',
      title: 'Issue created',
      source: 'api',
      body: {},
      occurredAt: now,
      receivedAt: new Date(now.getTime() - 50),
    },
    project: { id: 1, key: 'p', name: 'P' },
  };
}

/** A job whose BullMQ moves are recorded instead of sent to Redis. */
export function fakeRun(replay = 0): JobRun & { moves: number[] } {
  const moves: number[] = [];
  const job = {
    id: DELIVERY_ID,
    data: { v: 1, deliveryId: DELIVERY_ID },
    attemptsMade: 0,
    moveToDelayed: async (until: number) => void moves.push(until),
  } as unknown as Job<DeliverJobV1>;
  return Object.assign(new JobRun(job, 'lock-token', DELIVERY_ID, replay, undefined), { moves });
}

/** An error Postgres' driver gives when the server cannot be reached. */
export const postgresDown = () => Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
