/**
 * `HERALD_RETRY_SCHEDULE`: the delay before each attempt, e.g. `0s,5s,5m,30m,2h,5h,10h,10h`.
 * The number of entries is the number of attempts.
 */
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

export function parseRetrySchedule(text: string): number[] {
  const parts = text.split(',').map((p) => p.trim());
  if (parts.length === 0 || parts.some((p) => p === '')) {
    throw new Error('expected a comma-separated list of durations such as "0s,5s,5m,30m"');
  }
  return parts.map((part) => {
    const match = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/.exec(part);
    if (!match) throw new Error(`"${part}" is not a duration; use a number followed by ms, s, m, h or d`);
    return Math.round(Number(match[1]) * UNIT_MS[match[2]]);
  });
}

/** ±20 % jitter, so retries of many deliveries to one recovering endpoint do not arrive together. */
export function withJitter(delayMs: number, random: () => number = Math.random, spread = 0.2): number {
  if (delayMs <= 0) return 0;
  return Math.max(0, Math.round(delayMs * (1 - spread + 2 * spread * random())));
}
