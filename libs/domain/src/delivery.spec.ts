import { effectiveRateLimit, rateWindows } from './delivery';

describe('rate limits', () => {
  const feishu = {
    defaultRateLimit: [
      { count: 5, perSeconds: 1 },
      { count: 100, perSeconds: 60 },
    ],
  };
  const custom = { defaultRateLimit: null };

  it("uses a webhook's own limit when it sets count and period", () => {
    expect(effectiveRateLimit({ rateLimitCount: 2, rateLimitPerSeconds: 0.5 }, feishu)).toEqual({ count: 2, perSeconds: 0.5 });
  });

  it("falls back to the channel's default (or none) when the webhook sets none or half of one", () => {
    expect(effectiveRateLimit({ rateLimitCount: null, rateLimitPerSeconds: null }, feishu)).toBe(feishu.defaultRateLimit);
    expect(effectiveRateLimit({ rateLimitCount: 3, rateLimitPerSeconds: null }, feishu)).toBe(feishu.defaultRateLimit);
    expect(effectiveRateLimit({ rateLimitCount: null, rateLimitPerSeconds: null }, custom)).toBeNull();
  });

  it('lists the windows of a limit', () => {
    expect(rateWindows(null)).toEqual([]);
    expect(rateWindows({ count: 1, perSeconds: 1 })).toEqual([{ count: 1, perSeconds: 1 }]);
    expect(rateWindows(feishu.defaultRateLimit)).toHaveLength(2);
  });
});
