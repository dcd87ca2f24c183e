import { createHash } from 'node:crypto';
import type { EventPerson } from '@herald/domain';
import type { MessageView } from '../render/message';
import { ImApiError } from './im-http';
import type { TokenCache } from './caches';
import type { DmProvider } from './im-types';

/** One IM app's API (docs/contract.md §7.4): find users, then message them. */
export interface ImClient<C> {
  readonly provider: DmProvider;
  /**
   * How many users one `send` may message: 1 for Slack and Feishu/Lark (one call per user), the
   * provider's documented cap for WeCom and DingTalk, which take a list.
   */
  readonly maxBatch: number;
  /** What a mention is matched by: the email, or for DingTalk the mobile number. */
  userKey(person: EventPerson): string | null;
  /** A stable, non-secret identity of the credentials, for cache keys. */
  identity(credentials: C): string;
  /** Provider user ids by key; null when the provider has no such user. Throws ImApiError. */
  lookup(credentials: C, keys: string[]): Promise<Map<string, string | null>>;
  /**
   * Sends the message; returns the ids the provider refused. Throws ImApiError when the send
   * failed, with `outcomeUnknown` when the provider may have delivered it anyway.
   */
  send(credentials: C, userIds: string[], view: MessageView): Promise<{ failed: string[] }>;
}

export const emailKey = (person: EventPerson): string | null => {
  const email = person.email?.trim().toLowerCase();
  return email && /^[^\s@]+@[^\s@]+$/.test(email) ? email : null;
};

export const fingerprint = (...parts: Array<string | number>): string => createHash('sha256').update(parts.join('\0')).digest('hex').slice(0, 16);

/** Runs `call` with a cached token; when the provider says the token is invalid, refreshes it once and retries. */
export async function withToken<T>(
  tokens: TokenCache,
  key: string,
  fetch: () => Promise<{ token: string; expiresInSec: number }>,
  call: (token: string) => Promise<T>,
): Promise<T> {
  const token = await tokens.get(key, fetch);
  try {
    return await call(token);
  } catch (err) {
    if (!(err instanceof ImApiError) || !err.tokenInvalid) throw err;
    tokens.invalidate(key);
    return call(await tokens.get(key, fetch));
  }
}

/** `items` in consecutive slices of at most `size` (the providers' per-call caps). */
export function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
