import { chainDrill, killWorkerDrill, postgresStopDrill, receiverDownDrill, redisRestartDrill, type DrillReport } from './drills';
import { fuzzDrill } from './fuzz';
import { sentinelFailoverDrill } from './redis-failover';
import { ReplicaSet, fanOutDrill, killTwoWorkersDrill, rateLimitDrill, rollingRestartDrill, scaleOutDrill } from './replicas';
import { PrivatePostgres, PrivateRedis } from '../support/services';

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

/**
 * The replica drills (issue 13 item 4) in short form, on one set of 2 gateways, 2 ingestion
 * processes and 4 workers, each a process on its own port (the full ones: `npm run drills --
 * replicas-…`, each on a fresh set). They run in order and each leaves the set as it found it.
 */
describe('replica drills (short form)', () => {
  let pg: PrivatePostgres;
  let redis: PrivateRedis;
  let set: ReplicaSet;
  const passes = (report: DrillReport) => expect(report.failures).toEqual([]);

  beforeAll(async () => {
    pg = await PrivatePostgres.create();
    redis = await PrivateRedis.create(true);
    set = await ReplicaSet.start({ databaseUrl: pg.url, redisUrl: redis.url, workers: 4, concurrency: 10 });
  }, 240_000);

  afterAll(async () => {
    await set?.stop();
    await redis?.destroy();
    await pg?.destroy();
  }, 60_000);

  it('restarts an ingestion process, a gateway and a worker one at a time under load: nothing lost, no error the client did not retry', async () => {
    passes(await rollingRestartDrill(set, { rate: 20, pauseMs: 500, apps: ['ingestion-1', 'gateway-0', 'worker-3'] }));
  }, 120_000);

  it('repeats only what two workers killed at once had in flight, with the same webhook-id', async () => {
    set.setReceiverDelay(50);
    try {
      passes(await killTwoWorkersDrill(set, { events: 300 }));
    } finally {
      set.setReceiverDelay(20);
    }
  }, 120_000);

  it('scales out from 1 to 4 workers in the middle of a burst: every new worker delivers, nothing twice', async () => {
    // A slow receiver (one worker: 10 jobs / 200 ms = 50 a second), so the burst outlasts the new workers' start.
    set.setReceiverDelay(200);
    try {
      passes(await scaleOutDrill(set, { events: 600 }));
    } finally {
      set.setReceiverDelay(20);
    }
  }, 120_000);

  it('holds a 10/s limit across 4 workers at the receiver', async () => {
    // The tolerance absorbs what happens between a yes and the send on a machine shared with other
    // work (a first send's connection; see docs/decisions.md); a limit the workers did not share
    // would put about 40 in the first second.
    passes(await rateLimitDrill(set, { events: 40, limit: 10, steadyRate: 20, toleranceMs: 150 }));
  }, 120_000);

  it('fans each event out once with 4 relays racing', async () => {
    passes(await fanOutDrill(set, { singles: 200, batches: 2, batchSize: 100 }));
  }, 120_000);
});
