import { loadConfig } from '@herald/platform';
import { CoherentCaches, UNCOORDINATED_CACHE_TTL_MS } from './invalidation';

/**
 * Behind a transaction pooler without HERALD_DATABASE_LISTEN_URL no invalidation can reach the
 * process (issue 13 item 3): the caches then keep an entry for a short lifetime instead of
 * skipping the cache altogether, which bounds how long a revoked key keeps working elsewhere.
 */
describe('CoherentCaches without a LISTEN connection', () => {
  const config = loadConfig({
    HERALD_DATABASE_POOL_MODE: 'transaction',
    HERALD_ADMIN_TOKEN: 'x'.repeat(16),
    HERALD_ENCRYPTION_KEY: Buffer.alloc(32, 1).toString('base64'),
  });
  let caches: CoherentCaches;
  let loads = 0;
  const load = async () => ({ projectId: ++loads });

  beforeEach(async () => {
    jest.useFakeTimers();
    loads = 0;
    caches = new CoherentCaches(config);
    await caches.onModuleInit();
  });
  afterEach(async () => {
    await caches.onApplicationShutdown();
    jest.useRealTimers();
  });

  it('keeps an entry for the short lifetime, then reads it again', async () => {
    expect(config.databaseListenUrl).toBeNull();
    expect(UNCOORDINATED_CACHE_TTL_MS).toBe(5000);
    expect(await caches.read('apikey', 'h', load)).toEqual({ projectId: 1 });
    jest.advanceTimersByTime(UNCOORDINATED_CACHE_TTL_MS - 100);
    expect(await caches.read('apikey', 'h', load)).toEqual({ projectId: 1 });
    jest.advanceTimersByTime(200);
    expect(await caches.read('apikey', 'h', load)).toEqual({ projectId: 2 });
  });

  it('still evicts at once what this process changed itself', async () => {
    await caches.read('project', 'p', load);
    caches.evictLocally({ cache: 'project', key: 'p' });
    expect(await caches.read('project', 'p', load)).toEqual({ projectId: 2 });
  });
});
