import type { HeraldClient } from './client';
import { HeraldApiError } from './errors';
import type { components } from './generated/openapi';

export type EventInput = components['schemas']['EventDto'];
export type AcceptedEvent = components['schemas']['AcceptedEventDto'];

export interface PostEventOptions {
  /** Sent as Idempotency-Key on every try, so a retry never creates a second event (docs/contract.md §5.1). Default: a random UUID. */
  idempotencyKey?: string;
  /** Tries in all, the first included. Default 5. */
  maxAttempts?: number;
  /** Wait when the answer has no Retry-After: 1 s, then doubling, at most this. Default 30 s. */
  maxDelayMs?: number;
  sleep?: (ms: number) => Promise<void>;
}

/**
 * Posts one event. A 429 or 503 means nothing was accepted (docs/contract.md §3.2, §5): it is sent again after
 * Retry-After, with the same Idempotency-Key, so an answer lost on the way back cannot make a
 * duplicate either (the repeat answers `duplicate: true`). Other errors are thrown at once.
 */
export async function postEvent(client: HeraldClient, projectKey: string, event: EventInput, options: PostEventOptions = {}): Promise<AcceptedEvent> {
  const idempotencyKey = options.idempotencyKey ?? globalThis.crypto.randomUUID();
  const maxAttempts = options.maxAttempts ?? 5;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  for (let attempt = 1; ; attempt++) {
    const { data, error, response } = await client.POST('/v1/projects/{key}/events', {
      // The description lists the header in lower case (as Nest reads it); HTTP header names are case-insensitive.
      params: { path: { key: projectKey }, header: { 'idempotency-key': idempotencyKey } },
      body: event,
    });
    if (response.ok && data) return data;
    const failure = await HeraldApiError.from(response, error);
    if ((failure.status !== 429 && failure.status !== 503) || attempt >= maxAttempts) throw failure;
    const backoff = Math.min(1000 * 2 ** (attempt - 1), options.maxDelayMs ?? 30_000);
    await sleep(failure.retryAfterSeconds !== null ? failure.retryAfterSeconds * 1000 : backoff);
  }
}

export { HeraldApiError };
