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

/** A DingTalk robot URL, signed with `timestamp` and `sign` when the robot has a secret (its single messages and digests alike). */
export function dingtalkSignedUrl(url: string, secret: string | null, now: Date): string {
  if (!secret) return url;
  const timestamp = now.getTime();
  const signed = new URL(url);
  signed.searchParams.set('timestamp', String(timestamp));
  signed.searchParams.set('sign', dingtalkSignature(secret, timestamp));
  return signed.toString();
}

/** The `timestamp` and `sign` fields a Feishu/Lark bot body starts with when the bot has a secret; none otherwise. */
export function feishuSignedFields(secret: string | null, now: Date): Record<string, unknown> {
  if (!secret) return {};
  const timestamp = Math.floor(now.getTime() / 1000);
  return { timestamp: String(timestamp), sign: feishuSignature(secret, timestamp) };
}
