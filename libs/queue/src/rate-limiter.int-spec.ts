import { deleteQueueKeys, testConfig, uniqueQueuePrefix } from '@herald/testing';
import { HeraldQueues } from './herald-queues';
import { UNPAUSED_CACHE_MS, WebhookRateLimiter, safetyMarginMs } from './rate-limiter';

/** The shared limiter against the machine's real Redis (two limiter instances = two processes). */
describe('webhook rate limiter against Redis', () => {
  const prefix = uniqueQueuePrefix();
  const config = testConfig('postgres://unused/none', prefix);
  const queues = [new HeraldQueues(config), new HeraldQueues(config)];
  const limiters = queues.map((q) => new WebhookRateLimiter(q, config));
  let n = 0;
  const webhook = () => `00000000-0000-7000-8000-${String(++n).padStart(12, '0')}`;

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

  it('never lets more than `count` sends into any window, across two processes', async () => {
    const id = webhook();
    const limit = { count: 5, perSeconds: 1 };
    const sent: number[] = [];
    const deadline = Date.now() + 3200;
    const run = async (limiter: WebhookRateLimiter) => {
      while (Date.now() < deadline) {
        const d = await limiter.acquire(id, limit);
        if (d.allowed) sent.push(Date.now());
        else await new Promise((r) => setTimeout(r, Math.min(d.waitMs, 50)));
      }
    };
    await Promise.all([run(limiters[0]), run(limiters[1]), run(limiters[0]), run(limiters[1])]);
    sent.sort((a, b) => a - b);
    // Every run of count + 1 consecutive sends spans more than the window.
    for (let i = limit.count; i < sent.length; i++) expect(sent[i] - sent[i - limit.count]).toBeGreaterThan(1000);
    // And the limit is used, not starved: about 5 per second over 3.2 s.
    expect(sent.length).toBeGreaterThanOrEqual(15);
    expect(sent.length).toBeLessThanOrEqual(20);
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
  });
});
