import type { RateLimit } from '@herald/domain';
import { deleteQueueKeys, testConfig, uniqueQueuePrefix } from '@herald/testing';
import { HeraldQueues } from './herald-queues';
import { UNPAUSED_CACHE_MS, WebhookRateLimiter, safetyMarginMs, staleAfterMs } from './rate-limiter';

/** The shared limiter against the machine's real Redis (two limiter instances = two processes). */
/** When an allowed acquire was asked and answered: Redis decided at some moment in between. */
interface Sent {
  started: number;
  answered: number;
}

/**
 * The shortest time any `n` consecutive sends can have spanned, by Redis' clock: from the earliest
 * ask to the latest answer of each run of `n`. The limiter's guarantee (no window holds more than
 * `count`) means this exceeds the window for `n = count + 1`; a client's own clock at the answer
 * alone would add its event-loop delays to the measurement.
 */
function shortestSpan(sent: Sent[], n: number): number {
  const byAsk = [...sent].sort((a, b) => a.started - b.started);
  let shortest = Infinity;
  for (let i = n - 1; i < byAsk.length; i++) {
    const run = byAsk.slice(i - n + 1, i + 1);
    shortest = Math.min(shortest, Math.max(...run.map((x) => x.answered)) - Math.min(...run.map((x) => x.started)));
  }
  return shortest;
}

describe('webhook rate limiter against Redis', () => {
  const prefix = uniqueQueuePrefix();
  const config = testConfig('postgres://unused/none', prefix);
  const queues = [new HeraldQueues(config), new HeraldQueues(config)];
  // Every answer counts as instant on the limiters' clock, so these specs judge Redis' decisions
  // alone: a full test run's load can hold an event loop longer than a yes may take (25 ms for a
  // 1 s window), and a late yes is asked again (its own specs below set the clock).
  const instant = () => 0;
  const limiters = queues.map((q) => Object.assign(new WebhookRateLimiter(q, config), { clock: instant }));
  let n = 0;
  const webhook = () => `00000000-0000-7000-8000-${String(++n).padStart(12, '0')}`;

  /**
   * Four senders, two per process, acquire as fast as the limiter lets them for `ms` (polling at
   * most every `pollMs` while refused); returns every allowed send with when it was asked and answered.
   */
  const sendAsFastAsAllowed = async (id: string, limit: RateLimit, ms: number, pollMs: number): Promise<Sent[]> => {
    const sent: Sent[] = [];
    const deadline = Date.now() + ms;
    const run = async (limiter: WebhookRateLimiter) => {
      while (Date.now() < deadline) {
        const started = Date.now();
        const d = await limiter.acquire(id, limit);
        if (d.allowed) sent.push({ started, answered: Date.now() });
        else await new Promise((r) => setTimeout(r, Math.min(d.waitMs, pollMs)));
      }
    };
    await Promise.all([run(limiters[0]), run(limiters[1]), run(limiters[0]), run(limiters[1])]);
    return sent;
  };

  afterAll(async () => {
    await Promise.all(queues.map((q) => q.onApplicationShutdown()));
    await deleteQueueKeys(prefix);
  });

  it('lets `count` through, then refuses with the wait until the oldest send leaves the window', async () => {
    const id = webhook();
    const limit = { count: 3, perSeconds: 1 };
    for (let i = 0; i < 3; i++) expect(await limiters[0].acquire(id, limit)).toEqual({ allowed: true });
    const refused = await limiters[1].acquire(id, limit);
    expect(refused).toMatchObject({ allowed: false, reason: 'limit' });
    if (refused.allowed) return;
    expect(refused.waitMs).toBeGreaterThan(900);
    expect(refused.waitMs).toBeLessThanOrEqual(1000 + safetyMarginMs(1000));
  });

  it('keeps the log as long as the largest count, also after the limit shrinks', async () => {
    const id = webhook();
    const log = limiters[0].keys(id).log;
    // 3 per 0.3 s, a send every 150 ms: from the fourth on, each yes finds a full log.
    for (let i = 0; i < 6; i++) {
      if (i > 0) await new Promise((r) => setTimeout(r, 150));
      expect(await limiters[0].acquire(id, { count: 3, perSeconds: 0.3 })).toEqual({ allowed: true });
      expect(await queues[0].connection.llen(log)).toBeLessThanOrEqual(3);
    }
    await new Promise((r) => setTimeout(r, 100));
    expect(await limiters[0].acquire(id, { count: 2, perSeconds: 0.05 })).toEqual({ allowed: true });
    expect(await queues[0].connection.llen(log)).toBe(2);
  });

  it('leaves a yes that came back later than the margin unused, and asks again', async () => {
    const id = webhook();
    const limit = { count: 3, perSeconds: 1 };
    expect(staleAfterMs(limit)).toBe(safetyMarginMs(1000) / 2);
    // The first answer takes 100 ms on the limiter's clock (a stalled event loop), the second 1 ms.
    const times = [0, 100, 200, 201];
    const limiter = new WebhookRateLimiter(queues[0], config);
    limiter.clock = () => times.shift() ?? Date.now();
    try {
      expect(await limiter.acquire(id, limit)).toEqual({ allowed: true });
      // Two places in the log: the stale yes's, unused, and the one the send goes with.
      expect(await queues[0].connection.llen(limiter.keys(id).log)).toBe(2);
    } finally {
      limiter.clock = Date.now;
    }
  });

  it('makes a send wait one slot when every yes came back late', async () => {
    const id = webhook();
    const limit = { count: 4, perSeconds: 1 };
    const limiter = new WebhookRateLimiter(queues[1], config);
    let t = 0;
    limiter.clock = () => (t += 100);
    try {
      expect(await limiter.acquire(id, limit)).toEqual({ allowed: false, waitMs: 250, reason: 'limit', windowWaitMs: 250 });
      expect(await queues[1].connection.llen(limiter.keys(id).log)).toBe(3);
    } finally {
      limiter.clock = Date.now;
    }
  });

  it('spreads refused sends over later slots instead of waking them all at once', async () => {
    const id = webhook();
    const limit = { count: 2, perSeconds: 1 };
    await limiters[0].acquire(id, limit);
    await limiters[0].acquire(id, limit);
    const waits: number[] = [];
    for (let i = 0; i < 4; i++) {
      const d = await limiters[i % 2].acquire(id, limit);
      if (!d.allowed) waits.push(d.waitMs);
    }
    expect(waits).toHaveLength(4);
    for (let i = 1; i < waits.length; i++) expect(waits[i] - waits[i - 1]).toBeGreaterThanOrEqual(490);
  });

  it("also says when the windows alone have room, whatever the backlog's spreading (a digest's next message waits only that)", async () => {
    const id = webhook();
    const limit = { count: 1, perSeconds: 1 };
    await limiters[0].acquire(id, limit);
    const refusals = [];
    for (let i = 0; i < 5; i++) refusals.push(await limiters[i % 2].acquire(id, limit));
    const last = refusals[4];
    if (last.allowed) throw new Error('expected a refusal');
    // The fifth refused send is spread five slots out; the window itself frees within the second.
    expect(last.waitMs).toBeGreaterThan(4000);
    expect(last.windowWaitMs).toBeGreaterThan(800);
    expect(last.windowWaitMs).toBeLessThanOrEqual(1000 + safetyMarginMs(1000));
  });

  it('restamps the latest send to when it really left: the next one waits a full window from then', async () => {
    const id = webhook();
    const limit = { count: 1, perSeconds: 1 };
    expect(await limiters[0].acquire(id, limit)).toEqual({ allowed: true });
    await new Promise((r) => setTimeout(r, 300));
    await limiters[0].restampLatest(id, limit);
    const refused = await limiters[1].acquire(id, limit);
    if (refused.allowed) throw new Error('expected a refusal');
    expect(refused.windowWaitMs).toBeGreaterThan(950);
    // A webhook without a limit has no log: nothing to do.
    await expect(limiters[0].restampLatest(webhook(), null)).resolves.toBeUndefined();
  });

  it('never lets more than `count` sends into any window, across two processes', async () => {
    const id = webhook();
    const limit = { count: 5, perSeconds: 1 };
    const sent = await sendAsFastAsAllowed(id, limit, 3200, 50);
    // Every run of count + 1 consecutive sends spans more than the window.
    expect(shortestSpan(sent, limit.count + 1)).toBeGreaterThan(1000);
    // And the limit is used, not starved: about 5 per second over 3.2 s (a yes that came back late
    // is left unused, so a machine busy with other work may use a few places less).
    expect(sent.length).toBeGreaterThanOrEqual(12);
    expect(sent.length).toBeLessThanOrEqual(20);
  });

  it('with several windows, refuses while any window is full and waits for the one that frees last', async () => {
    const id = webhook();
    const limit = [
      { count: 1, perSeconds: 0.1 },
      { count: 2, perSeconds: 1 },
    ];
    expect(await limiters[0].acquire(id, limit)).toEqual({ allowed: true });
    // The short window refuses at once; the long one still has room.
    expect(await limiters[1].acquire(id, limit)).toMatchObject({ allowed: false, reason: 'limit' });
    await new Promise((r) => setTimeout(r, 150));
    expect(await limiters[1].acquire(id, limit)).toEqual({ allowed: true });
    // Now both refuse: the short one for about 100 ms, the long one until the first send is 1 s old.
    const asked = Date.now();
    const refused = await limiters[0].acquire(id, limit);
    const next = await limiters[1].acquire(id, limit);
    // Each wait is counted from its own answer: time between the two answers shortens the gap.
    const between = Date.now() - asked;
    if (refused.allowed || next.allowed) throw new Error('expected both to be refused');
    expect(refused.waitMs).toBeGreaterThan(700);
    expect(refused.waitMs).toBeLessThanOrEqual(1000 + safetyMarginMs(1000));
    // The backlog is spread at the binding window's rate (1 s / 2), not the short window's (100 ms).
    expect(next.waitMs - refused.waitMs).toBeGreaterThanOrEqual(490 - between);
    expect(next.waitMs - refused.waitMs).toBeLessThanOrEqual(500 + safetyMarginMs(1000));
  });

  it('holds every window at once across two processes: no 0.2 s holds more than 3, no 1 s more than 5', async () => {
    // A small stand-in for Feishu's 5/s and 100/min: each window alone would let the other overflow.
    const id = webhook();
    const limit = [
      { count: 3, perSeconds: 0.2 },
      { count: 5, perSeconds: 1 },
    ];
    const sent = await sendAsFastAsAllowed(id, limit, 2200, 20);
    expect(shortestSpan(sent, 4)).toBeGreaterThan(200);
    expect(shortestSpan(sent, 6)).toBeGreaterThan(1000);
    // Both limits are used, not starved: 5 in the first second, 5 more in the next, then the third
    // second's first (a few less when yeses come back late on a busy machine).
    expect(sent.length).toBeGreaterThanOrEqual(8);
    expect(sent.length).toBeLessThanOrEqual(15);
  });

  it('holds a paused webhook until the pause ends, limit or not, and never shortens a pause', async () => {
    const id = webhook();
    await limiters[0].pause(id, Date.now() + 400);
    await limiters[1].pause(id, Date.now() + 100);
    const held = await limiters[1].acquire(id, null);
    expect(held).toMatchObject({ allowed: false, reason: 'paused' });
    if (!held.allowed) expect(held.waitMs).toBeGreaterThan(250);
    await new Promise((r) => setTimeout(r, 450));
    expect(await limiters[1].acquire(id, null)).toEqual({ allowed: true });
  });

  it('spreads the wake-ups of deliveries held by a pause after its end, so they do not hit the endpoint at once', async () => {
    const id = webhook();
    const pauseEnd = Date.now() + 2000;
    await limiters[0].pause(id, pauseEnd);
    const wakeUps: number[] = [];
    for (let i = 0; i < 20; i++) {
      const d = await limiters[i % 2].acquire(id, null);
      if (d.allowed) throw new Error('a paused webhook let a send through');
      expect(d.reason).toBe('paused');
      wakeUps.push(Date.now() + d.waitMs);
    }
    // None before the pause ends; spread over up to half the pause after it (1 s here).
    expect(Math.min(...wakeUps)).toBeGreaterThanOrEqual(pauseEnd - 50);
    expect(Math.max(...wakeUps)).toBeLessThanOrEqual(pauseEnd + 1000 + 100);
    expect(Math.max(...wakeUps) - Math.min(...wakeUps)).toBeGreaterThan(400);
    expect(new Set(wakeUps.map((t) => Math.round(t / 50))).size).toBeGreaterThan(8);
  });

  it('lets another process see a pause within a second, even for a webhook without a limit', async () => {
    const id = webhook();
    expect(await limiters[0].acquire(id, null)).toEqual({ allowed: true });
    await limiters[1].pause(id, Date.now() + 5000);
    await new Promise((r) => setTimeout(r, UNPAUSED_CACHE_MS + 50));
    expect(await limiters[0].acquire(id, null)).toMatchObject({ allowed: false, reason: 'paused' });
  });

  it('never refuses a webhook without a limit', async () => {
    const id = webhook();
    for (let i = 0; i < 50; i++) expect(await limiters[i % 2].acquire(id, null)).toEqual({ allowed: true });
    for (let i = 0; i < 10; i++) expect(await limiters[i % 2].acquire(id, [])).toEqual({ allowed: true });
  });
});
