import { DataSource } from 'typeorm';
import { EventRepository, OutboxRepository, dataSourceOptions } from '@herald/persistence';
import { Metrics } from '@herald/platform';
import { TcpProxy, createTestDatabase, deleteQueueKeys, eventually, testConfig, uniqueQueuePrefix } from '@herald/testing';
import { HeraldQueues } from './herald-queues';
import { OutboxRelay } from './outbox-relay';

describe('outbox relay against Postgres and Redis', () => {
  let db: DataSource;
  let redis: TcpProxy;
  let queues: HeraldQueues;
  let relay: OutboxRelay;
  let outbox: OutboxRepository;
  let events: EventRepository;
  let projectId: number;
  const prefix = uniqueQueuePrefix();

  beforeAll(async () => {
    const url = await createTestDatabase();
    db = new DataSource(dataSourceOptions({ url, poolSize: 4, applicationName: 'int-spec' }));
    await db.initialize();
    [{ id: projectId }] = await db.query(`INSERT INTO projects (key, name) VALUES ('p', 'P') RETURNING id`);
    redis = await TcpProxy.start('127.0.0.1', 6379);
    const config = testConfig(url, prefix, { REDIS_URL: redis.url('redis://127.0.0.1:6379'), HERALD_OUTBOX_SWEEP_MS: '100' });
    queues = new HeraldQueues(config);
    outbox = new OutboxRepository(db);
    events = new EventRepository(db);
    relay = new OutboxRelay(outbox, queues, config, new Metrics());
    relay.onApplicationBootstrap();
  });

  afterAll(async () => {
    await relay.onModuleDestroy();
    await queues.onApplicationShutdown();
    await redis.down();
    await db.destroy();
    await deleteQueueKeys(prefix);
  });

  const queuedEventIds = async () => {
    const jobs = await queues.fanout.getJobs(['wait', 'delayed', 'prioritized']);
    return jobs.flatMap((j) => j.data.eventIds);
  };

  const newEvent = (title: string) => ({ type: 'bb.issue.create', level: 'INFO', title, source: 'api' as const, body: {}, occurredAt: new Date().toISOString() });

  it('publishes rows the writer just committed, then deletes them', async () => {
    const { events: accepted, outbox: rows } = await events.accept(projectId, [newEvent('fast')]);
    relay.publishCommitted(rows);
    await eventually(async () => (await queuedEventIds()).includes(accepted[0].id), 5000, 'event queued');
    await eventually(async () => (await outbox.backlog()) === 0, 5000, 'outbox row deleted');
  });

  it('moves committed events to the fan-out queue right after a kick', async () => {
    const { events: accepted } = await events.accept(projectId, [newEvent('kick')]);
    relay.kick();
    await eventually(async () => (await queuedEventIds()).includes(accepted[0].id), 5000, 'event queued');
    expect(await outbox.backlog()).toBe(0);
  });

  it('keeps rows while Redis is down and the sweeper moves them once it is back', async () => {
    await redis.down();
    const { events: accepted, outbox: rows } = await events.accept(projectId, [newEvent('outage')]);
    relay.publishCommitted(rows);
    await new Promise((r) => setTimeout(r, 3000));
    expect(await outbox.backlog()).toBe(1);
    await redis.up();
    await eventually(async () => (await queuedEventIds()).includes(accepted[0].id), 15_000, 'event queued after Redis returned');
    expect(await outbox.backlog()).toBe(0);
  }, 30_000);
});
