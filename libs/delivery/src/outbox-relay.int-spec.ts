import { DataSource } from 'typeorm';
import { DeliveryRepository, EventRepository, OutboxRepository, dataSourceOptions } from '@herald/persistence';
import { MetricsRegistry, Watchdog, type HeraldConfig } from '@herald/platform';
import { OutboxMetrics } from './outbox-metrics';
import { TcpProxy, createTestDatabase, deleteQueueKeys, eventually, testConfig, uniqueQueuePrefix } from '@herald/testing';
import { HeraldQueues } from '@herald/queue';
import { OutboxRelay } from './outbox-relay';

describe('outbox relay against Postgres and Redis', () => {
  let db: DataSource;
  let redis: TcpProxy;
  let config: HeraldConfig;
  let queues: HeraldQueues;
  let relays: OutboxRelay[] = [];
  let outbox: OutboxRepository;
  let events: EventRepository;
  let projectId: number;
  const prefix = uniqueQueuePrefix();

  beforeAll(async () => {
    const url = await createTestDatabase();
    db = new DataSource(dataSourceOptions({ url, poolSize: 6, applicationName: 'int-spec' }));
    await db.initialize();
    [{ id: projectId }] = await db.query(`INSERT INTO projects (key, name) VALUES ('p', 'P') RETURNING id`);
    await db.query(
      `INSERT INTO webhooks (project_id, name, type, url_encrypted, url_masked, events) VALUES ($1, 'h', 'custom', 'x', 'x', '{bb.issue.create}')`,
      [projectId],
    );
    redis = await TcpProxy.start('127.0.0.1', 6379);
    // A long sweep interval: the relay must react to the commit's notification, not to a poll.
    config = testConfig(url, prefix, { REDIS_URL: redis.url('redis://127.0.0.1:6379'), HERALD_OUTBOX_SWEEP_MS: '60000' });
    queues = new HeraldQueues(config);
    outbox = new OutboxRepository(db);
    events = new EventRepository(db);
  });

  const startRelay = async (options: { config?: HeraldConfig; outbox?: OutboxRepository; statementTimeoutMs?: number } = {}) => {
    const relay = new OutboxRelay(options.outbox ?? outbox, queues, options.config ?? config, new OutboxMetrics(new MetricsRegistry()));
    if (options.statementTimeoutMs) relay.statementTimeoutMs = options.statementTimeoutMs;
    await relay.start();
    relays.push(relay);
    return relay;
  };

  afterEach(async () => {
    await Promise.all(relays.map((r) => r.onModuleDestroy()));
    relays = [];
  });

  afterAll(async () => {
    await queues.onApplicationShutdown();
    await redis.down();
    await db.destroy();
    await deleteQueueKeys(prefix);
  });

  const jobIds = async () => (await queues.deliver.getJobs(['wait', 'delayed', 'prioritized'])).map((j) => j.id);
  const deliveryOf = async (eventId: string) => (await db.query(`SELECT id FROM deliveries WHERE event_id = $1`, [eventId]))[0]?.id as string | undefined;
  const newEvent = (title: string) => ({
    type: 'bb.issue.create',
    level: 'INFO',
    title,
    source: 'api' as const,
    body: {},
    occurredAt: new Date().toISOString(),
  });

  it('fans a committed event out and queues its delivery on the commit notification, then deletes the row', async () => {
    await startRelay();
    const [accepted] = await events.accept(projectId, [newEvent('notified')]);
    const deliveryId = await eventually(() => deliveryOf(accepted.id), 3000, 'delivery created');
    await eventually(async () => (await jobIds()).includes(deliveryId), 3000, 'delivery job queued under the delivery id');
    await eventually(async () => (await outbox.backlog()) === 0, 3000, 'outbox row deleted');
  });

  it('keeps rows while Redis is down and queues them once it is back', async () => {
    await startRelay();
    await redis.down();
    const [accepted] = await events.accept(projectId, [newEvent('outage')]);
    await new Promise((r) => setTimeout(r, 2500));
    expect(await outbox.backlog()).toBe(1);
    await redis.up();
    await eventually(
      async () => {
        const id = await deliveryOf(accepted.id);
        return id !== undefined && (await jobIds()).includes(id);
      },
      15_000,
      'delivery queued after Redis returned',
    );
    await eventually(async () => (await outbox.backlog()) === 0, 5000, 'outbox row deleted');
  }, 30_000);

  it('lets two relays share a burst: every event gets exactly one delivery and one job', async () => {
    await Promise.all([startRelay(), startRelay()]);
    const accepted = (
      await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          events.accept(
            projectId,
            Array.from({ length: 10 }, (__, j) => newEvent(`burst ${i}.${j}`)),
          ),
        ),
      )
    ).flat();
    await eventually(async () => (await outbox.backlog()) === 0, 10_000, 'outbox drained');
    const rows: Array<{ event_id: string; id: string }> = await db.query(`SELECT event_id, id FROM deliveries WHERE event_id = ANY ($1)`, [
      accepted.map((a) => a.id),
    ]);
    expect(rows).toHaveLength(accepted.length);
    const queued = new Set(await jobIds());
    expect(rows.filter((r) => !queued.has(r.id))).toEqual([]);
  }, 20_000);

  it('queues a replay as a new attempt chain of the same delivery', async () => {
    const relay = await startRelay();
    const [accepted] = await events.accept(projectId, [newEvent('replayed')]);
    const deliveryId = await eventually(() => deliveryOf(accepted.id), 3000, 'delivery created');
    await db.query(`UPDATE deliveries SET status = 'dead' WHERE id = $1`, [deliveryId]);
    expect(await new DeliveryRepository(db).replay(projectId, deliveryId)).toEqual({ replay: 1 });
    await relay.flush();
    await eventually(async () => (await jobIds()).includes(`${deliveryId}.r1`), 3000, 'replay job queued');
  });

  /** Holds an exclusive lock on `table` in an open transaction until `release` is called: any relay statement waits on it. */
  const lock = async (table: 'outbox' | 'webhooks') => {
    const runner = db.createQueryRunner();
    await runner.connect();
    await runner.startTransaction();
    await runner.query(`LOCK TABLE ${table} IN ACCESS EXCLUSIVE MODE`);
    return async () => {
      await runner.commitTransaction();
      await runner.release();
    };
  };

  it('bounds every pass with statement_timeout: a lease stuck on a lock is cancelled, and the relay goes on once it can', async () => {
    const fastSweep = testConfig(config.databaseUrl, prefix, { REDIS_URL: config.redisUrl, HERALD_OUTBOX_SWEEP_MS: '100' });
    const relay = await startRelay({ config: fastSweep, statementTimeoutMs: 400 });
    await relay.flush();
    const release = await lock('outbox');
    const accepted = events.accept(projectId, [newEvent('behind a lock')]);
    // For two seconds every pass waits on the lock: none may last much past its statement_timeout.
    let longest = 0;
    for (const until = Date.now() + 2000; Date.now() < until;) {
      for (const work of relay.inProgress()) longest = Math.max(longest, Date.now() - work.since);
      await new Promise((r) => setTimeout(r, 25));
    }
    expect(longest).toBeGreaterThan(0);
    expect(longest).toBeLessThan(400 + 300);
    await release();
    const [event] = await accepted;
    const deliveryId = await eventually(() => deliveryOf(event.id), 5000, 'delivery created after the lock went');
    await eventually(async () => (await jobIds()).includes(deliveryId), 5000, 'delivery queued');
    await eventually(async () => (await outbox.backlog()) === 0, 5000, 'outbox drained');
  }, 20_000);

  it('cuts off a Postgres connection that stops answering altogether, and recovers when the path is back', async () => {
    const pgProxy = await TcpProxy.start('127.0.0.1', Number(new URL(config.databaseUrl).port || 5432));
    const viaProxy = new DataSource(dataSourceOptions({ url: pgProxy.url(config.databaseUrl), poolSize: 2, applicationName: 'int-spec-frozen' }));
    await viaProxy.initialize();
    try {
      const fastSweep = testConfig(config.databaseUrl, prefix, { REDIS_URL: config.redisUrl, HERALD_OUTBOX_SWEEP_MS: '100' });
      const relay = await startRelay({ config: fastSweep, outbox: new OutboxRepository(viaProxy), statementTimeoutMs: 300 });
      await relay.flush();
      pgProxy.freeze();
      const [event] = await events.accept(projectId, [newEvent('silent network')]);
      await eventually(() => relay.inProgress().length > 0, 3000, 'a pass waiting on the silent connection');
      const stuckSince = relay.inProgress()[0].since;
      // The statement_timeout cannot help (the server never hears back): the connection is cut
      // 5 s past it, and the pass ends.
      await eventually(() => relay.inProgress().every((w) => w.since !== stuckSince), 8000, 'the stuck pass ended');
      expect(Date.now() - stuckSince).toBeLessThan(300 + 5000 + 1500);
      pgProxy.thaw();
      const deliveryId = await eventually(() => deliveryOf(event.id), 15_000, 'delivery created once the path was back');
      await eventually(async () => (await jobIds()).includes(deliveryId), 5000, 'delivery queued');
    } finally {
      await Promise.all(relays.map((r) => r.onModuleDestroy()));
      relays = [];
      pgProxy.thaw();
      await viaProxy.destroy();
      await pgProxy.down();
    }
  }, 30_000);

  it('tells the watchdog what a stuck pass waits on, and recovers when the pass moves', async () => {
    const relay = await startRelay({ statementTimeoutMs: 60_000 });
    await relay.flush();
    const watchdog = new Watchdog([relay], 300);
    // The fan-out reads webhooks: the lease waits, while intake (events, outbox) goes on.
    const release = await lock('webhooks');
    try {
      await events.accept(projectId, [newEvent('stuck')]);
      const verdict = await eventually(
        () => {
          const v = watchdog.check();
          return v.healthy ? undefined : v;
        },
        5000,
        'the watchdog saw the stuck pass',
      );
      expect(verdict.stalls).toEqual([expect.objectContaining({ source: 'outbox relay', waitingOn: expect.stringContaining('lease statement') })]);
    } finally {
      await release();
    }
    await eventually(() => watchdog.check().healthy, 5000, 'healthy again once the pass moved');
    await eventually(async () => (await outbox.backlog()) === 0, 5000, 'outbox drained');
  }, 20_000);

  it('leases a long backlog from its position: each pass starts after the last row it leased, and rows behind it are still found', async () => {
    await db.query(`DELETE FROM outbox`);
    await events.accept(
      projectId,
      Array.from({ length: 1200 }, (_, i) => newEvent(`backlog ${i}`)),
    );
    const first = await outbox.leaseAndFanOut(500, 30_000);
    const second = await outbox.leaseAndFanOut(500, 30_000, { after: first.lastId });
    expect(second.outboxIds.every((id) => BigInt(id) > BigInt(first.lastId ?? '0'))).toBe(true);
    // The first pass' rows go back (say its Redis enqueue failed): a pass from the start finds them.
    await outbox.release(first.outboxIds, 0);
    const third = await outbox.leaseAndFanOut(500, 30_000, { after: second.lastId });
    expect(third.outboxIds).toHaveLength(200);
    const again = await outbox.leaseAndFanOut(500, 30_000);
    expect(again.outboxIds.sort()).toEqual([...first.outboxIds].sort());
    await outbox.delete([...first.outboxIds, ...second.outboxIds, ...third.outboxIds]);
  });
});
