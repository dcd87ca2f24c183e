import { loadConfig } from '@herald/platform';
import { RedisUnavailable, connectionOptions, isRedisUnavailable } from './redis';

const base = { HERALD_ADMIN_TOKEN: 'x'.repeat(20), HERALD_ENCRYPTION_KEY: Buffer.alloc(32, 7).toString('base64') };
const settings = (env: Record<string, string>) => loadConfig({ ...base, ...env }).redis;
const worker = { maxRetriesPerRequest: null };
const producer = { maxRetriesPerRequest: 1, enableOfflineQueue: false };

describe('connectionOptions', () => {
  it('gives a cluster worker maxRetriesPerRequest null in the node options, where BullMQ checks it, and the credentials to every node', () => {
    const options = connectionOptions(
      settings({ HERALD_REDIS_CLUSTER_NODES: '10.0.0.1:7000,10.0.0.2:7000', HERALD_REDIS_PASSWORD: 'pw-0123456789' }),
      'w',
      worker,
    );
    expect(options.nodes).toEqual([
      { host: '10.0.0.1', port: 7000 },
      { host: '10.0.0.2', port: 7000 },
    ]);
    expect(options.redis).toMatchObject({ maxRetriesPerRequest: null, password: 'pw-0123456789', connectionName: 'w' });
    expect(options.cluster).toMatchObject({ enableOfflineQueue: true, enableReadyCheck: true });
    expect(options.cluster?.dnsLookup).toBeUndefined();
  });

  it('makes a cluster producer fail fast, and keeps host names for TLS certificates', () => {
    const options = connectionOptions(
      settings({ HERALD_REDIS_CLUSTER_NODES: 'clustercfg.example.cache.amazonaws.com:6379', HERALD_REDIS_TLS: 'true' }),
      'p',
      producer,
    );
    expect(options.redis).toMatchObject({ maxRetriesPerRequest: 1, tls: {} });
    expect(options.cluster?.enableOfflineQueue).toBe(false);
    const resolved = jest.fn();
    options.cluster?.dnsLookup?.('clustercfg.example.cache.amazonaws.com', resolved);
    expect(resolved).toHaveBeenCalledWith(null, 'clustercfg.example.cache.amazonaws.com');
  });

  it('asks the sentinels for the primary, forever, follows +switch-master, and sends each password where it belongs', () => {
    const options = connectionOptions(
      settings({
        HERALD_REDIS_SENTINELS: '10.0.0.1:26379,10.0.0.2:26379',
        HERALD_REDIS_SENTINEL_MASTER: 'mymaster',
        HERALD_REDIS_PASSWORD: 'data-0123456789',
        HERALD_REDIS_SENTINEL_PASSWORD: 'sent-0123456789',
      }),
      'w',
      worker,
    );
    expect(options.url).toBeUndefined();
    expect(options.redis).toMatchObject({
      sentinels: [
        { host: '10.0.0.1', port: 26379 },
        { host: '10.0.0.2', port: 26379 },
      ],
      name: 'mymaster',
      password: 'data-0123456789',
      sentinelPassword: 'sent-0123456789',
      failoverDetector: true,
      maxRetriesPerRequest: null,
    });
    expect(options.redis.sentinelRetryStrategy?.(1000)).toBe(2000);
    expect(options.redis.retryStrategy?.(1000)).toBe(2000);
  });

  it('reconnects a connection to a demoted primary (READONLY) and resends the command', () => {
    const options = connectionOptions(settings({}), 'p', producer);
    expect(options.url).toBe('redis://127.0.0.1:6379');
    expect(options.redis.reconnectOnError?.(new Error("READONLY You can't write against a read only replica."))).toBe(2);
    expect(options.redis.reconnectOnError?.(new Error('WRONGTYPE Operation against a key holding the wrong kind of value'))).toBe(false);
  });
});

describe('isRedisUnavailable', () => {
  it('tells "not now" (down, reconnecting, failing over, loading) from a command that is wrong', () => {
    for (const err of [
      new RedisUnavailable('Redis is unavailable (connection reconnecting)'),
      Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:6379'), { code: 'ECONNREFUSED' }),
      new Error("Stream isn't writeable and enableOfflineQueue options is false"),
      new Error('Reached the max retries per request limit (which is 1). Refer to "maxRetriesPerRequest" option for details.'),
      new Error('LOADING Redis is loading the dataset in memory'),
      new Error('CLUSTERDOWN The cluster is down'),
      new Error('TRYAGAIN Multiple keys request during rehashing of slot'),
    ]) {
      expect(isRedisUnavailable(err)).toBe(true);
    }
    expect(isRedisUnavailable(new Error('WRONGTYPE Operation against a key holding the wrong kind of value'))).toBe(false);
    expect(isRedisUnavailable(new Error('ERR Error running script'))).toBe(false);
  });
});
