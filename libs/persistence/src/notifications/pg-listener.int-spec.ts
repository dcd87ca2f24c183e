import { Client } from 'pg';
import { TEST_PG_URL, TcpProxy, eventually } from '@herald/testing';
import { PgListener } from './pg-listener';

/**
 * The LISTEN connection (cache invalidation, the outbox relay's wake-up) is idle by nature: when
 * its network path dies without a reset, nothing but a probe can tell.
 */
describe('PgListener on a connection that dies silently', () => {
  let proxy: TcpProxy;
  const listeners: PgListener[] = [];

  beforeAll(async () => {
    const target = new URL(TEST_PG_URL);
    proxy = await TcpProxy.start(target.hostname, Number(target.port || 5432));
  });
  afterAll(async () => {
    proxy.thaw();
    await Promise.all(listeners.map((l) => l.stop()));
    await proxy.down();
  });

  const notify = async (payload: string) => {
    const c = new Client({ connectionString: TEST_PG_URL });
    await c.connect();
    try {
      await c.query(`SELECT pg_notify('herald_test_keepalive', $1)`, [payload]);
    } finally {
      await c.end();
    }
  };

  it('notices within its heartbeat, says so, and listens again once the path is back', async () => {
    const events: string[] = [];
    const received: string[] = [];
    const listener = new PgListener(
      proxy.url(TEST_PG_URL),
      ['herald_test_keepalive'],
      { notification: (_c, payload) => received.push(payload), listening: () => events.push('listening'), lost: (reason) => events.push(`lost: ${reason}`) },
      'pg-listener-int-spec',
      { heartbeatMs: 300, heartbeatTimeoutMs: 300 },
    );
    listeners.push(listener);
    await listener.start();
    expect(events).toEqual(['listening']);
    await notify('before');
    await eventually(() => received.includes('before'), 3000, 'notification before the freeze');

    proxy.freeze();
    const frozenAt = Date.now();
    await eventually(() => events.some((e) => e.includes('heartbeat')), 3000, 'heartbeat noticed the dead connection');
    expect(Date.now() - frozenAt).toBeLessThan(1500);

    proxy.thaw();
    await eventually(() => events.filter((e) => e === 'listening').length === 2, 10_000, 'listening again');
    await notify('after');
    await eventually(() => received.includes('after'), 3000, 'notification after the path came back');
  }, 20_000);
});
