import { Injectable } from '@nestjs/common';
import type { Redis } from 'ioredis';
import type { RateLimit } from '@herald/domain';
import { HeraldConfig } from '@herald/platform';
import { HeraldQueues } from './herald-queues';

/**
 * One round trip decides whether a webhook may be sent to now (SPEC §6.3), for every worker
 * process at once, with Redis' clock:
 *
 * 1. A platform pause (a 429 or a channel's rate-limit code) holds the webhook until it ends.
 * 2. A sliding log of the last `count` send times: a send is allowed when the `count`-th most
 *    recent one is at least the window (plus a small safety margin) in the past. So no window of
 *    `perSeconds` ever holds more than `count` sends — a true sliding window, not a token bucket
 *    (which lets `count + 1` through in one window after a burst).
 * 3. A refused send is given the next free slot of a cursor that advances by `window / count` per
 *    refusal, so a backlog wakes up spread out at the allowed rate instead of all at once. The slot
 *    is a wake-up time, not a reservation: the log decides again when the job comes back.
 *
 * Returns `[allowed (1|0), wait ms, paused (1|0)]`.
 */
const ACQUIRE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local pause = tonumber(redis.call('GET', KEYS[3]) or '0')
if pause > now then return {0, pause - now, 1} end
local n = tonumber(ARGV[1])
if n <= 0 then return {1, 0, 0} end
local w = tonumber(ARGV[2])
local oldest = nil
if redis.call('LLEN', KEYS[1]) >= n then oldest = tonumber(redis.call('LINDEX', KEYS[1], n - 1)) end
if oldest == nil or now - oldest >= w then
  redis.call('LPUSH', KEYS[1], now)
  redis.call('LTRIM', KEYS[1], 0, n - 1)
  redis.call('PEXPIRE', KEYS[1], w)
  return {1, 0, 0}
end
local slot = oldest + w
local cursor = tonumber(redis.call('GET', KEYS[2]) or '0')
if cursor > slot then slot = cursor end
local step = math.ceil(w / n)
redis.call('SET', KEYS[2], slot + step, 'PX', slot + step - now + w)
return {0, slot - now, 0}
`;

/** Extends a webhook's pause to `until` (ms since epoch); an earlier end never shortens it. */
const PAUSE = `
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
local untilMs = tonumber(ARGV[1])
if untilMs > current then
  local t = redis.call('TIME')
  local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  if untilMs > now then redis.call('SET', KEYS[1], untilMs, 'PX', untilMs - now) end
end
return 1
`;

/** How long a worker trusts Redis' "not paused" for a webhook without a limit. */
export const UNPAUSED_CACHE_MS = 1000;

export type RateDecision = { allowed: true } | { allowed: false; waitMs: number; reason: 'limit' | 'paused' };

/** The webhook's own limit, or its channel's published default (SPEC §6.3); null means none. */
export function effectiveRateLimit(
  webhook: { rateLimitCount: number | null; rateLimitPerSeconds: number | null },
  adapter: { defaultRateLimit: RateLimit | null },
): RateLimit | null {
  if (webhook.rateLimitCount && webhook.rateLimitPerSeconds) return { count: webhook.rateLimitCount, perSeconds: webhook.rateLimitPerSeconds };
  return adapter.defaultRateLimit;
}

/** Keeps two sends this far apart beyond the window, against clock and network jitter. */
export function safetyMarginMs(windowMs: number): number {
  return Math.min(100, Math.max(5, Math.round(windowMs * 0.02)));
}

type LimiterRedis = Redis & {
  heraldAcquire(log: string, cursor: string, pause: string, count: number, windowMs: number): Promise<[number, number, number]>;
  heraldPause(pause: string, untilMs: number): Promise<number>;
};

/**
 * The shared per-webhook limiter. Keys carry the webhook id in a hash tag, so all of one webhook's
 * keys live on one Redis Cluster slot.
 */
@Injectable()
export class WebhookRateLimiter {
  private readonly redis: LimiterRedis;
  private readonly prefix: string;
  /**
   * Webhooks without a limit only need the pause check. Redis said "not paused" for them until
   * this time, so the next second of their deliveries skips the round trip: a pause set by another
   * worker is seen within {@link UNPAUSED_CACHE_MS}; one set by this worker at once.
   */
  private readonly unpausedUntil = new Map<string, number>();

  constructor(private readonly queues: HeraldQueues, config: HeraldConfig) {
    const redis: Redis = queues.connection;
    // defineCommand sends EVALSHA, falling back to EVAL once per connection when Redis lost the script.
    if (!('heraldAcquire' in redis)) {
      redis.defineCommand('heraldAcquire', { numberOfKeys: 3, lua: ACQUIRE });
      redis.defineCommand('heraldPause', { numberOfKeys: 1, lua: PAUSE });
    }
    this.redis = redis as LimiterRedis;
    this.prefix = `${config.queuePrefix}:rl`;
  }

  private keys(webhookId: string) {
    const base = `${this.prefix}:{${webhookId}}`;
    return { log: `${base}:log`, cursor: `${base}:next`, pause: `${base}:pause` };
  }

  /** May this webhook be sent to now? `limit` null means no limit (a pause still applies). */
  async acquire(webhookId: string, limit: RateLimit | null): Promise<RateDecision> {
    if (!limit && (this.unpausedUntil.get(webhookId) ?? 0) > Date.now()) return { allowed: true };
    const k = this.keys(webhookId);
    await this.queues.ready();
    const windowMs = limit ? limit.perSeconds * 1000 : 0;
    const [allowed, waitMs, paused] = await this.redis.heraldAcquire(k.log, k.cursor, k.pause, limit?.count ?? 0, windowMs + (limit ? safetyMarginMs(windowMs) : 0));
    if (allowed === 1) {
      if (!limit) this.rememberUnpaused(webhookId);
      return { allowed: true };
    }
    return { allowed: false, waitMs: Math.max(1, waitMs), reason: paused === 1 ? 'paused' : 'limit' };
  }

  /** Holds every delivery to this webhook until `untilMs` (a platform's Retry-After). */
  async pause(webhookId: string, untilMs: number): Promise<void> {
    this.unpausedUntil.delete(webhookId);
    await this.queues.ready();
    await this.redis.heraldPause(this.keys(webhookId).pause, Math.round(untilMs));
  }

  private rememberUnpaused(webhookId: string): void {
    if (this.unpausedUntil.size >= 10_000) this.unpausedUntil.clear();
    this.unpausedUntil.set(webhookId, Date.now() + UNPAUSED_CACHE_MS);
  }
}
