import { FREE_RATE_LIMITED_ANSWERS, settleAttempt } from './attempt-settlement';

const SCHEDULE = [0, 1000, 60_000, 3_600_000];
const NOW = 1_700_000_000_000;
const noJitter = (ms: number) => ms;
const fresh = { chainAttempts: 0, rateLimitedStreak: 0 };

describe('settleAttempt', () => {
  it('completes a delivered attempt and fails a rejected one for good', () => {
    expect(settleAttempt({ kind: 'delivered' }, fresh, SCHEDULE, NOW)).toEqual({
      status: 'succeeded',
      nextAttemptAtMs: null,
      usesAttempt: true,
      then: 'complete',
      pauseUntilMs: null,
    });
    expect(settleAttempt({ kind: 'rejected' }, { chainAttempts: 3, rateLimitedStreak: 0 }, SCHEDULE, NOW)).toMatchObject({
      status: 'failed',
      then: 'fail',
      usesAttempt: true,
    });
  });

  it("retries a retryable answer after the schedule's next delay, taken from the delivery's own position", () => {
    expect(settleAttempt({ kind: 'retryable' }, fresh, SCHEDULE, NOW, noJitter)).toEqual({
      status: 'pending',
      nextAttemptAtMs: NOW + 1000,
      usesAttempt: true,
      then: 'retry',
      delayMs: 1000,
      pauseUntilMs: null,
    });
    // A chain re-queued by the reconciler after two attempts goes on with the third delay.
    expect(settleAttempt({ kind: 'retryable' }, { chainAttempts: 2, rateLimitedStreak: 0 }, SCHEDULE, NOW, noJitter)).toMatchObject({ delayMs: 3_600_000 });
  });

  it('applies the jitter to the delay', () => {
    expect(settleAttempt({ kind: 'retryable' }, fresh, SCHEDULE, NOW, (ms) => ms / 2)).toMatchObject({ delayMs: 500, nextAttemptAtMs: NOW + 500 });
  });

  it("ends dead when the chain's last attempt was retryable", () => {
    expect(settleAttempt({ kind: 'retryable' }, { chainAttempts: SCHEDULE.length - 1, rateLimitedStreak: 0 }, SCHEDULE, NOW)).toEqual({
      status: 'dead',
      nextAttemptAtMs: null,
      usesAttempt: true,
      then: 'fail',
      pauseUntilMs: null,
    });
    expect(settleAttempt({ kind: 'retryable' }, fresh, [0], NOW)).toMatchObject({ status: 'dead' });
  });

  it('holds a rate-limited delivery without using an attempt for the first answers in a row, pausing the webhook', () => {
    for (let streak = 0; streak < FREE_RATE_LIMITED_ANSWERS; streak++) {
      expect(settleAttempt({ kind: 'rate_limited', retryAfterMs: 30_000 }, { chainAttempts: 3, rateLimitedStreak: streak }, SCHEDULE, NOW)).toEqual({
        status: 'pending',
        nextAttemptAtMs: NOW + 30_000,
        usesAttempt: false,
        then: 'hold',
        pauseUntilMs: NOW + 30_000,
      });
    }
  });

  it('counts later rate-limited answers as retryable, waiting at least their Retry-After, and dead after the schedule', () => {
    const past = { chainAttempts: 0, rateLimitedStreak: FREE_RATE_LIMITED_ANSWERS };
    expect(settleAttempt({ kind: 'rate_limited', retryAfterMs: 30_000 }, past, SCHEDULE, NOW, noJitter)).toMatchObject({
      status: 'pending',
      then: 'retry',
      usesAttempt: true,
      delayMs: 30_000,
      pauseUntilMs: NOW + 30_000,
    });
    expect(settleAttempt({ kind: 'rate_limited', retryAfterMs: 10 }, { ...past, chainAttempts: 1 }, SCHEDULE, NOW, noJitter)).toMatchObject({
      delayMs: 60_000,
    });
    expect(settleAttempt({ kind: 'rate_limited', retryAfterMs: 10 }, { ...past, chainAttempts: 3 }, SCHEDULE, NOW)).toMatchObject({
      status: 'dead',
      then: 'fail',
      pauseUntilMs: NOW + 10,
    });
  });
});
