import { Injectable } from '@nestjs/common';
import { rateWindows, type RateLimit } from '@herald/domain';
import { HeraldConfig } from '@herald/platform';
import { HeraldQueues } from './herald-queues';
import type { RedisClient } from './redis';

/**
 * One round trip decides whether a webhook may be sent to now (docs/contract.md §6.3), for every worker
 * process at once, with Redis' clock:
 *
 * 1. A platform pause (a 429 or a channel's rate-limit code) holds the webhook until it ends.
 * 2. A sliding log of the last send times, as long as the largest `count`: a window allows a send
 *    when its `count`-th most recent send is at least the window (plus a small safety margin) in
 *    the past, and a send needs every window to allow it. So no interval of `perSeconds` ever
 *    holds more than `count` sends, for each window — a true sliding window, not a token bucket
 *    (which lets `count + 1` through in one window after a burst). One log serves every window:
 *    each only looks at its own depth in it.
 * 3. A refused send waits for the window that refuses it longest, or the next free slot of a
 *    cursor that advances by that window's `window / count` per refusal, whichever is later, so a
 *    backlog wakes up spread out at the allowed rate instead of all at once. The slot is a wake-up
 *    time, not a reservation: the log decides again when the job comes back.
 *
 * Inside the script, each window reads its depth of the log (LINDEX past the end answers nil, so
 * no LLEN), and the log is trimmed only when it was already as long as it may be: a yes costs
 * TIME, GET, one LINDEX per window, LPUSH and PEXPIRE (and LTRIM on a busy webhook).
 *
 * KEYS: log, cursor, pause. ARGV: count1, windowMs1, count2, windowMs2, … (none: no limit).
 * Returns `[allowed (1|0), wait ms, paused (1|0), window wait ms]`; the last is when the windows
 * alone would have room, without the cursor's spreading (a digest's next message asks for it).
 */
const ACQUIRE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local pause = tonumber(redis.call('GET', KEYS[3]) or '0')
if pause > now then return {0, pause - now, 1} end
if #ARGV == 0 then return {1, 0, 0} end
local depth, longest = 0, 0
for i = 1, #ARGV, 2 do
  local n, w = tonumber(ARGV[i]), tonumber(ARGV[i + 1])
  if n > depth then depth = n end
  if w > longest then longest = w end
end
local slot, step, full = nil, 0, false
for i = 1, #ARGV, 2 do
  local n, w = tonumber(ARGV[i]), tonumber(ARGV[i + 1])
  local nth = redis.call('LINDEX', KEYS[1], n - 1)
  if nth then
    if n == depth then full = true end
    local free = tonumber(nth) + w
    if free > now and (slot == nil or free > slot) then
      slot = free
      step = math.ceil(w / n)
    end
  end
end
if slot == nil then
  redis.call('LPUSH', KEYS[1], now)
  if full then redis.call('LTRIM', KEYS[1], 0, depth - 1) end
  redis.call('PEXPIRE', KEYS[1], longest)
  return {1, 0, 0}
end
local free = slot
local cursor = tonumber(redis.call('GET', KEYS[2]) or '0')
if cursor > slot then slot = cursor end
redis.call('SET', KEYS[2], slot + step, 'PX', slot + step - now + longest)
return {0, slot - now, 0, free - now}
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

/**
 * Moves the newest send time of a webhook's log forward to now (Redis' clock): for a send that
 * went out a while after the limiter allowed it (a digest claims its deliveries in between), so
 * the next send is spaced from when this one really left. Only ever later, so never looser.
 * KEYS: log. ARGV: the longest window (ms), to keep the log alive as long after the new time.
 */
const RESTAMP = `
local newest = tonumber(redis.call('LINDEX', KEYS[1], 0) or '0')
if newest == 0 then return 0 end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
if now <= newest then return 0 end
redis.call('LSET', KEYS[1], 0, now)
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[1]))
return 1
`;

/**
 * Deliveries held by a platform pause wake up spread over up to half the pause after it ends (at
 * most a minute, at least a second), so a backlog does not hit the endpoint in one instant: the
 * first to go finds out whether the endpoint recovered, and a new 429 pauses the rest again.
 */
export function pausedWakeUpMs(remainingMs: number, random: () => number = Math.random): number {
  const spread = Math.min(60_000, Math.max(1000, remainingMs / 2));
  return remainingMs + Math.round(random() * spread);
}

/** How long a worker trusts Redis' "not paused" for a webhook without a limit. */
export const UNPAUSED_CACHE_MS = 1000;

/**
 * `windowWaitMs` (reason `limit`): when the windows alone have room, without the spreading of a
 * backlog's wake-ups; the next message of a digest (issue 16) waits only that long.
 */
export type RateDecision = { allowed: true } | { allowed: false; waitMs: number; reason: 'limit' | 'paused'; windowWaitMs?: number };

/**
 * Keeps two sends this far apart beyond the window: half of it for the time a yes takes to reach
 * the worker (longer and it is stale: {@link staleAfterMs}), half for what happens between the yes
 * and the request reaching the endpoint (render, connection, network), which differs from send to
 * send. 5 % of the window, 10–100 ms (2 %, 5–100 ms, let a loaded machine's sends reach the
 * receiver 11 in a second of a 10/s limit: docs/decisions.md).
 */
export function safetyMarginMs(windowMs: number): number {
  return Math.min(100, Math.max(10, Math.round(windowMs * 0.05)));
}

/**
 * How long a yes may take to come back before it is stale: half the tightest margin of the limit's
 * windows. The log holds the moment Redis said yes; a worker that gets the answer later (its event
 * loop held up, the process not scheduled) would send that much after the log says it did, and a
 * later send, answered at once, could reach the endpoint within the window of this one.
 */
export function staleAfterMs(limit: RateLimit | null): number {
  const margins = rateWindows(limit).map(({ perSeconds }) => safetyMarginMs(Math.round(perSeconds * 1000)));
  return margins.length ? Math.min(...margins) / 2 : Infinity;
}

/** How many times a stale yes is asked again before the send waits for a slot like a refused one. */
const STALE_RETRIES = 2;

/** `count, windowMs` pairs for the script, each window widened by its safety margin; empty windows limit nothing. */
function windowArgs(limit: RateLimit | null): number[] {
  return rateWindows(limit).flatMap(({ count, perSeconds }) => {
    const windowMs = Math.round(perSeconds * 1000);
    const n = Math.floor(count);
    return n >= 1 && windowMs > 0 ? [n, windowMs + safetyMarginMs(windowMs)] : [];
  });
}

type LimiterRedis = RedisClient & {
  heraldAcquire(log: string, cursor: string, pause: string, ...windows: number[]): Promise<[number, number, number, number?]>;
  heraldPause(pause: string, untilMs: number): Promise<number>;
  heraldRestamp(log: string, longestMs: number): Promise<number>;
};

/**
 * The shared per-webhook limiter. Keys carry the webhook id in a hash tag, so all of one webhook's
 * keys (the script touches three) live on one Redis Cluster slot, and different webhooks spread
 * over the cluster's nodes. So the queue prefix's own hash tag (`{herald}`) must not come first:
 * the limiter's keys use the prefix without its braces (`herald:rl:{<webhook id>}:log`; on one
 * server the same keys as before hash tags existed).
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

  constructor(
    private readonly queues: HeraldQueues,
    config: HeraldConfig,
  ) {
    const redis: RedisClient = queues.connection;
    // defineCommand sends EVALSHA, falling back to EVAL once per connection when Redis lost the script.
    if (!('heraldAcquire' in redis)) {
      redis.defineCommand('heraldAcquire', { numberOfKeys: 3, lua: ACQUIRE });
      redis.defineCommand('heraldPause', { numberOfKeys: 1, lua: PAUSE });
    }
    if (!('heraldRestamp' in redis)) redis.defineCommand('heraldRestamp', { numberOfKeys: 1, lua: RESTAMP });
    this.redis = redis as LimiterRedis;
    this.prefix = limiterNamespace(config.queuePrefix);
  }

  /** The three keys of one webhook, all in the hash slot of its id. */
  keys(webhookId: string) {
    const base = `${this.prefix}:{${webhookId}}`;
    return { log: `${base}:log`, cursor: `${base}:next`, pause: `${base}:pause` };
  }

  /** The clock that times a yes's round trip (tests move it). */
  clock: () => number = Date.now;

  /**
   * May this webhook be sent to now? `limit` null means no limit (a pause still applies). A yes
   * that took longer to come back than the limit's tightest margin is stale ({@link staleAfterMs}):
   * its place in the log is left unused and the question asked again; after {@link STALE_RETRIES}
   * stale answers the send waits one slot (window / count) as if refused.
   */
  async acquire(webhookId: string, limit: RateLimit | null): Promise<RateDecision> {
    const windows = windowArgs(limit);
    const unlimited = windows.length === 0;
    if (unlimited && (this.unpausedUntil.get(webhookId) ?? 0) > Date.now()) return { allowed: true };
    const k = this.keys(webhookId);
    await this.queues.ready();
    const staleMs = staleAfterMs(limit);
    for (let attempt = 0; ; attempt++) {
      const asked = this.clock();
      const [allowed, waitMs, paused, windowWaitMs] = await this.redis.heraldAcquire(k.log, k.cursor, k.pause, ...windows);
      if (allowed === 1) {
        if (unlimited) this.rememberUnpaused(webhookId);
        if (this.clock() - asked <= staleMs) return { allowed: true };
        if (attempt < STALE_RETRIES) continue;
        const slotMs = Math.max(1, Math.min(...rateWindows(limit).map((w) => Math.ceil((w.perSeconds * 1000) / w.count))));
        return { allowed: false, waitMs: slotMs, reason: 'limit', windowWaitMs: slotMs };
      }
      if (paused === 1) return { allowed: false, waitMs: pausedWakeUpMs(Math.max(1, waitMs)), reason: 'paused' };
      return { allowed: false, waitMs: Math.max(1, waitMs), reason: 'limit', windowWaitMs: Math.max(1, Math.min(waitMs, windowWaitMs ?? waitMs)) };
    }
  }

  /** Holds every delivery to this webhook until `untilMs` (a platform's Retry-After). */
  async pause(webhookId: string, untilMs: number): Promise<void> {
    this.unpausedUntil.delete(webhookId);
    await this.queues.ready();
    await this.redis.heraldPause(this.keys(webhookId).pause, Math.round(untilMs));
  }

  /**
   * The send the limiter allowed last for this webhook goes out only now (a digest claimed its
   * deliveries in between): its time in the log becomes now, so the next send keeps the window
   * from this one's real departure (issue 16). Nothing for a webhook without a limit.
   */
  async restampLatest(webhookId: string, limit: RateLimit | null): Promise<void> {
    const windows = windowArgs(limit);
    if (windows.length === 0) return;
    const longest = Math.max(...windows.filter((_, i) => i % 2 === 1));
    await this.queues.ready();
    await this.redis.heraldRestamp(this.keys(webhookId).log, longest);
  }

  private rememberUnpaused(webhookId: string): void {
    if (this.unpausedUntil.size >= 10_000) this.unpausedUntil.clear();
    this.unpausedUntil.set(webhookId, Date.now() + UNPAUSED_CACHE_MS);
  }
}

/** Where the limiter keeps its keys: the queue prefix without the braces of its hash tag. */
export function limiterNamespace(queuePrefix: string): string {
  return `${queuePrefix.replace(/[{}]/g, '')}:rl`;
}
