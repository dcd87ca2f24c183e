import type { ChannelResponse, Classification } from './channel-adapter';

/** When a platform says "slow down" without saying for how long (docs/contract.md §6.3). */
export const DEFAULT_RETRY_AFTER_MS = 60_000;
/** A platform may not hold a webhook longer than this (docs/contract.md §6.3). */
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
 * The rules every channel shares (docs/contract.md §6.2): 429 holds the webhook, 5xx and 408 retry, 410 is
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
  // Most answers are empty or plain text ("ok"): skip the throw-and-catch for them.
  if (!/^\s*[[{]/.test(body)) return undefined;
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

/** How a platform that answers with a JSON status code (DingTalk, WeCom, Feishu, Lark) reports its verdict. */
export interface JsonCodeRules {
  platform: string;
  /** Keys holding the code, first present wins (Feishu: `code` or `StatusCode`). */
  codeKeys: readonly string[];
  /** Keys holding the message. */
  messageKeys: readonly string[];
  /** "Slow down": hold the webhook without using an attempt (docs/contract.md §6.3). */
  rateLimitCodes: readonly number[];
  /** Configuration problems a retry cannot fix (docs/contract.md §6.2). */
  permanentCodes: readonly number[];
}

/**
 * The shared rule for JSON-code platforms (docs/contract.md §6.4): HTTP 2xx and code 0 is delivered; a
 * rate-limit code holds the webhook even when it comes with a 4xx; a permanent code rejects; any
 * other non-zero code, or a 2xx without a readable code, is retried.
 */
export function classifyJsonCode(response: ChannelResponse, rules: JsonCodeRules): Classification {
  const status = response.statusCode;
  const json = parseJson(response.body);
  const obj = json && typeof json === 'object' && !Array.isArray(json) ? (json as Record<string, unknown>) : null;
  const rawCode = obj ? rules.codeKeys.map((k) => obj[k]).find((v) => v !== undefined && v !== null) : undefined;
  const code = typeof rawCode === 'number' ? rawCode : typeof rawCode === 'string' && /^-?\d+$/.test(rawCode) ? Number(rawCode) : undefined;
  const message = obj ? String(rules.messageKeys.map((k) => obj[k]).find((v) => typeof v === 'string' && v !== '') ?? '') : '';
  const reason = `${rules.platform} answered code ${code}${message ? `: ${message}` : ''}`;

  if (status !== 429 && status < 500 && code !== undefined && code !== 0) {
    if (rules.rateLimitCodes.includes(code)) return { kind: 'rate_limited', retryAfterMs: retryAfterMs(response), reason };
    if (rules.permanentCodes.includes(code)) return { kind: 'rejected', reason };
  }
  const byStatus = classifyStatus(response);
  if (byStatus) return byStatus;
  if (code === 0) return { kind: 'delivered' };
  if (code === undefined) return { kind: 'retryable', reason: `${rules.platform} answered HTTP ${status} without a status code${snippet(response.body)}` };
  return { kind: 'retryable', reason };
}
