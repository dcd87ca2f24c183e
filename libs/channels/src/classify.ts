import type { ChannelResponse, Classification } from './channel-adapter';

/** When a platform says "slow down" without saying for how long (SPEC §6.3). */
export const DEFAULT_RETRY_AFTER_MS = 60_000;
/** A platform may not hold a webhook longer than this (SPEC §6.3). */
export const MAX_RETRY_AFTER_MS = 24 * 3600 * 1000;

function header(response: ChannelResponse, name: string): string | undefined {
  const value = response.headers[name] ?? response.headers[name.toLowerCase()];
  return Array.isArray(value) ? value[0] : value;
}

/** `Retry-After` in seconds or as an HTTP date, capped at 24 h; 60 s when absent or unreadable. */
export function retryAfterMs(response: ChannelResponse, now: number = Date.now()): number {
  const raw = header(response, 'retry-after')?.trim();
  if (!raw) return DEFAULT_RETRY_AFTER_MS;
  let ms: number;
  if (/^\d+(\.\d+)?$/.test(raw)) ms = Number(raw) * 1000;
  else {
    const at = Date.parse(raw);
    if (Number.isNaN(at)) return DEFAULT_RETRY_AFTER_MS;
    ms = at - now;
  }
  return Math.min(Math.max(ms, 1000), MAX_RETRY_AFTER_MS);
}

/**
 * The rules every channel shares (SPEC §6.2): 429 holds the webhook, 5xx and 408 retry, 410 is
 * gone for good, any other non-2xx is rejected (redirects are not followed, so 3xx too). Returns
 * null for a 2xx, whose body the channel judges itself.
 */
export function classifyStatus(response: ChannelResponse): Classification | null {
  const status = response.statusCode;
  if (status >= 200 && status < 300) return null;
  if (status === 429) return { kind: 'rate_limited', retryAfterMs: retryAfterMs(response), reason: 'HTTP 429 Too Many Requests' };
  if (status >= 500 || status === 408) return { kind: 'retryable', reason: `HTTP ${status}${snippet(response.body)}` };
  if (status === 410) return { kind: 'rejected', reason: 'HTTP 410 Gone: the endpoint no longer exists', gone: true };
  if (status >= 300 && status < 400) return { kind: 'rejected', reason: `HTTP ${status}: redirects are not followed; update the webhook URL` };
  return { kind: 'rejected', reason: `HTTP ${status}${snippet(response.body)}` };
}

export function parseJson(body: string): unknown {
  try {
    return JSON.parse(body);
  } catch {
    return undefined;
  }
}

function snippet(body: string): string {
  const text = body.trim().replace(/\s+/g, ' ');
  return text ? `: ${text.slice(0, 200)}` : '';
}
