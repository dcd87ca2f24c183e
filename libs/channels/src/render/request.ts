import { createHmac } from 'node:crypto';
import type { PreparedRequest } from '../channel-adapter';

export const USER_AGENT = 'Herald-Webhooks/1';

/** A JSON POST as every chat platform takes it. */
export function jsonRequest(url: string, body: unknown, contentType = 'application/json'): PreparedRequest {
  return { url, method: 'POST', headers: { 'content-type': contentType, 'user-agent': USER_AGENT }, body: JSON.stringify(body) };
}

/**
 * DingTalk "加签" (docs/contract.md §6.5): base64 HMAC-SHA256 of `{timestamp}\n{secret}` keyed by the secret;
 * sent URL-encoded as the `sign` query parameter next to `timestamp` (milliseconds).
 */
export function dingtalkSignature(secret: string, timestampMs: number): string {
  return createHmac('sha256', secret).update(`${timestampMs}\n${secret}`, 'utf8').digest('base64');
}

/**
 * Feishu/Lark custom bot signature (docs/contract.md §6.5): base64 HMAC-SHA256 of the empty string keyed by
 * `{timestamp}\n{secret}`, with `timestamp` in seconds; both go into the body.
 */
export function feishuSignature(secret: string, timestampSec: number): string {
  return createHmac('sha256', `${timestampSec}\n${secret}`).update('', 'utf8').digest('base64');
}
