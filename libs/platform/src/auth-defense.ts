import { Module } from '@nestjs/common';

/** A client that failed authentication too often: 429 with Retry-After (docs/contract.md §2). */
export class TooManyAttempts extends Error {
  constructor(readonly retryAfterSeconds: number) {
    super(`too many failed authentication attempts from this address; retry after ${retryAfterSeconds} s`);
    this.name = 'TooManyAttempts';
  }
}

export interface AuthDefenseLimits {
  /** Failed attempts an address may make per window before it is refused (429). */
  failures: number;
  windowMs: number;
  /** How long a token known to be no key at all is answered from memory. */
  unknownTokenMs: number;
  /** Addresses and unknown tokens remembered, each; the oldest go first. */
  maxEntries: number;
}

export const AUTH_DEFENSE_LIMITS: AuthDefenseLimits = { failures: 30, windowMs: 60_000, unknownTokenMs: 60_000, maxEntries: 10_000 };

/**
 * Defences against credential guessing (issue 10, item 12), kept in each process's memory (the
 * ingestion app must not need Redis; docs/decisions.md):
 *
 * - an address that failed `failures` times within `windowMs` is refused with 429 until its window
 *   ends, before any credential is looked up (the admin token, compared in memory, still works);
 * - a token that is no key at all is remembered for `unknownTokenMs`, so repeating it costs no
 *   Postgres query. Keys are 32 random bytes made by Herald, so a token that was unknown cannot
 *   become a valid key later: remembering it never refuses a real one.
 */
export class AuthDefense {
  private readonly failures = new Map<string, { since: number; count: number }>();
  private readonly unknown = new Map<string, number>();

  constructor(
    private readonly limits: AuthDefenseLimits = AUTH_DEFENSE_LIMITS,
    private readonly now: () => number = Date.now,
  ) {}

  /** Throws TooManyAttempts while `address` is over its budget of failures. */
  assertMayTry(address: string): void {
    const entry = this.failures.get(address);
    if (!entry) return;
    const left = entry.since + this.limits.windowMs - this.now();
    if (left <= 0) this.failures.delete(address);
    else if (entry.count >= this.limits.failures) throw new TooManyAttempts(Math.ceil(left / 1000));
  }

  recordFailure(address: string): void {
    const now = this.now();
    const entry = this.failures.get(address);
    if (entry && entry.since + this.limits.windowMs > now) {
      entry.count++;
      return;
    }
    this.failures.delete(address);
    bound(this.failures, this.limits.maxEntries);
    this.failures.set(address, { since: now, count: 1 });
  }

  /** True when `tokenHash` was found to be no key of `scope` a moment ago. */
  isUnknown(scope: string, tokenHash: string): boolean {
    const key = `${scope}:${tokenHash}`;
    const until = this.unknown.get(key);
    if (until === undefined) return false;
    if (until > this.now()) return true;
    this.unknown.delete(key);
    return false;
  }

  rememberUnknown(scope: string, tokenHash: string): void {
    const key = `${scope}:${tokenHash}`;
    this.unknown.delete(key);
    bound(this.unknown, this.limits.maxEntries);
    this.unknown.set(key, this.now() + this.limits.unknownTokenMs);
  }
}

/** Drops the oldest entries (a Map iterates in insertion order) so `map` can take one more. */
function bound(map: Map<string, unknown>, max: number): void {
  while (map.size >= max) map.delete(map.keys().next().value as string);
}

/** One AuthDefense per process, shared by every guard that imports this module. */
@Module({ providers: [{ provide: AuthDefense, useFactory: () => new AuthDefense() }], exports: [AuthDefense] })
export class AuthDefenseModule {}
