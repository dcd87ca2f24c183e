import { Logger } from '@nestjs/common';
import { DelayedError } from 'bullmq';
import { DEPENDENCY_RETRY_MS } from './deliver.run';
import { fakeRun, postgresDown } from './deliver.fixtures';

beforeAll(() => Logger.overrideLogger(false));

describe('JobRun', () => {
  it('puts the job back until a time without using an attempt, and says so to BullMQ', async () => {
    const run = fakeRun();
    await expect(run.deferUntil(12345)).rejects.toBeInstanceOf(DelayedError);
    expect(run.moves).toEqual([12345]);
    expect(run.step).toBe('requeue');
  });

  it('passes a database step through, and defers the job when Postgres is unreachable', async () => {
    const run = fakeRun();
    await expect(run.orDelay(async () => 42)).resolves.toBe(42);
    const before = Date.now();
    await expect(run.orDelay(() => Promise.reject(postgresDown()))).rejects.toBeInstanceOf(DelayedError);
    expect(run.moves).toHaveLength(1);
    expect(run.moves[0]).toBeGreaterThanOrEqual(before + DEPENDENCY_RETRY_MS);
  });

  it('lets any other error through (BullMQ then counts the attempt)', async () => {
    const run = fakeRun();
    await expect(run.orDelay(() => Promise.reject(new Error('syntax error at or near')))).rejects.toThrow('syntax error');
    expect(run.moves).toEqual([]);
  });

  it('tracks its step and host for the watchdog, and holds one claim token for the whole attempt', () => {
    const run = fakeRun();
    expect(run.step).toBe('claim');
    run.at('send', 'hooks.example.com');
    expect([run.step, run.host]).toEqual(['send', 'hooks.example.com']);
    expect(run.claimToken).toMatch(/^[0-9a-f-]{36}$/);
    expect(fakeRun().claimToken).not.toBe(run.claimToken);
  });
});
