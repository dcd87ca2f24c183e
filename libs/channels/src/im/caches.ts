/** A small in-process LRU with per-entry expiry (tokens, user ids). Lost on restart, by design. */
export class ExpiringCache<V> {
  private readonly entries = new Map<string, { value: V; expiresAt: number }>();
  constructor(
    private readonly maxEntries: number,
    private readonly now: () => number = Date.now,
  ) {}

  get(key: string): V | undefined {
    const hit = this.entries.get(key);
    if (!hit) return undefined;
    if (hit.expiresAt <= this.now()) {
      this.entries.delete(key);
      return undefined;
    }
    // Refresh recency.
    this.entries.delete(key);
    this.entries.set(key, hit);
    return hit.value;
  }

  has(key: string): boolean {
    return this.get(key) !== undefined;
  }

  set(key: string, value: V, ttlMs: number): void {
    this.entries.delete(key);
    this.entries.set(key, { value, expiresAt: this.now() + ttlMs });
    while (this.entries.size > this.maxEntries) this.entries.delete(this.entries.keys().next().value as string);
  }

  delete(key: string): void {
    this.entries.delete(key);
  }
}

/** Tokens are reused until this long before the provider says they expire. */
export const TOKEN_EARLY_REFRESH_MS = 5 * 60 * 1000;

/**
 * Caches one access token per credential set and fetches a new one shortly before expiry. Two
 * concurrent callers share one fetch.
 */
export class TokenCache {
  private readonly cache = new ExpiringCache<string>(16);
  private readonly inflight = new Map<string, Promise<string>>();

  async get(key: string, fetch: () => Promise<{ token: string; expiresInSec: number }>): Promise<string> {
    const cached = this.cache.get(key);
    if (cached) return cached;
    let pending = this.inflight.get(key);
    if (!pending) {
      pending = fetch()
        .then(({ token, expiresInSec }) => {
          const ttl = Math.max(expiresInSec * 1000 - TOKEN_EARLY_REFRESH_MS, Math.min((expiresInSec * 1000) / 2, 60_000));
          this.cache.set(key, token, ttl);
          return token;
        })
        .finally(() => this.inflight.delete(key));
      this.inflight.set(key, pending);
    }
    return pending;
  }

  invalidate(key: string): void {
    this.cache.delete(key);
  }
}
