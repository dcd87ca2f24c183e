import { DataSource } from 'typeorm';
import { DeliveryRepository, EventRepository, OutboxRepository, dataSourceOptions } from '@herald/persistence';
import { Metrics, type HeraldConfig } from '@herald/platform';
import { TcpProxy, createTestDatabase, deleteQueueKeys, eventually, testConfig, uniqueQueuePrefix } from '@herald/testing';
import { HeraldQueues } from './herald-queues';
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

  const startRelay = async () => {
    const relay = new OutboxRelay(outbox, queues, config, new Metrics());
    await relay.onApplicationBootstrap();
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
  const newEvent = (title: string) => ({ type: 'bb.issue.create', level: 'INFO', title, source: 'api' as const, body: {}, occurredAt: new Date().toISOString() });

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
    await eventually(async () => {
      const id = await deliveryOf(accepted.id);
      return id !== undefined && (await jobIds()).includes(id);
    }, 15_000, 'delivery queued after Redis returned');
    await eventually(async () => (await outbox.backlog()) === 0, 5000, 'outbox row deleted');
  }, 30_000);

  it('lets two relays share a burst: every event gets exactly one delivery and one job', async () => {
    await Promise.all([startRelay(), startRelay()]);
    const accepted = (await Promise.all(Array.from({ length: 20 }, (_, i) => events.accept(projectId, Array.from({ length: 10 }, (__, j) => newEvent(`burst ${i}.${j}`)))))).flat();
    await eventually(async () => (await outbox.backlog()) === 0, 10_000, 'outbox drained');
    const rows: Array<{ event_id: string; id: string }> = await db.query(`SELECT event_id, id FROM deliveries WHERE event_id = ANY ($1)`, [accepted.map((a) => a.id)]);
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
});
