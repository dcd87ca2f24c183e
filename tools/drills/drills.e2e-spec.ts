import { chainDrill, killWorkerDrill, postgresStopDrill, receiverDownDrill, redisRestartDrill, type DrillReport } from './drills';
import { fuzzDrill } from './fuzz';
import { sentinelFailoverDrill } from './redis-failover';

/**
 * The short form of every fault drill (the full ones: `npm run drills`, docs/reliability.md).
 * Each starts its own Postgres and Redis, so these can break them freely.
 */
describe('fault drills (short form)', () => {
  const passes = (report: DrillReport) => expect(report.failures).toEqual([]);

  it('loses nothing when the worker is killed with SIGKILL during a burst', async () => {
    passes(await killWorkerDrill({ events: 300, kills: 1, concurrency: 10 }));
  }, 180_000);

  it('keeps accepting while Redis restarts and delivers everything afterwards', async () => {
    passes(await redisRestartDrill({ events: 300, downMs: 1500, persistent: true, concurrency: 10 }));
  }, 180_000);

  it('recovers every accepted event when Redis restarts with all its data lost (the reconciler)', async () => {
    passes(await redisRestartDrill({ events: 300, downMs: 1500, persistent: false, concurrency: 10 }));
  }, 180_000);

  it('answers 503 while Postgres is down, never 2xx-then-lost, and recovers without restarts', async () => {
    passes(await postgresStopDrill({ events: 400, downMs: 2500, concurrency: 10 }));
  }, 180_000);

  it('delivers everything once a receiver that was down comes back, within the schedule', async () => {
    passes(await receiverDownDrill({ events: 20, downMs: 3000, schedule: '0s,1s,2s,4s' }));
  }, 180_000);

  it('delivers everything after a chain of faults ending in a burst, and the new worker stays healthy', async () => {
    passes(await chainDrill({ malformed: 30, outageMs: 1000, burst: 200, single: 300, batches: 1, concurrency: 10 }));
  }, 180_000);

  it('follows a Sentinel failover (primary killed mid-burst, replica behind) without a restart: nothing lost, no worker wedged', async () => {
    // The drill reports what is missing after 90 s, well inside the test's own timeout.
    passes(await sentinelFailoverDrill({ events: 500, lagMs: 1000, concurrency: 10, deliveryWaitMs: 90_000 }));
  }, 240_000);

  it('answers every fuzzed body below 500 and stores nothing malformed', async () => {
    passes(await fuzzDrill({ runs: 400 }));
  }, 180_000);
});
