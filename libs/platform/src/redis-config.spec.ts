import { ConfigError, loadConfig } from './config';
import { hashTag } from './redis-config';

const KEY = Buffer.alloc(32, 7).toString('base64');
const base = { HERALD_ADMIN_TOKEN: 'x'.repeat(20), HERALD_ENCRYPTION_KEY: KEY };

function problems(env: Record<string, string>): string {
  try {
    loadConfig({ ...base, ...env });
  } catch (err) {
    if (err instanceof ConfigError) return err.problems.join('\n');
    throw err;
  }
  return '';
}

describe('Redis settings (docs/contract.md §1.3: REDIS_URL, HERALD_REDIS_CLUSTER_NODES, HERALD_REDIS_SENTINELS)', () => {
  it('defaults to one server at REDIS_URL with the prefix "herald", so existing deployments keep their queued jobs', () => {
    const config = loadConfig(base);
    expect(config.redis).toEqual({ mode: 'single', url: 'redis://127.0.0.1:6379', username: null, password: null, sentinelPassword: null, tls: false });
    expect(config.queuePrefix).toBe('herald');
  });

  it('reads a cluster, whose default prefix carries the hash tag {herald}', () => {
    const config = loadConfig({
      ...base,
      HERALD_REDIS_CLUSTER_NODES: '10.0.0.1:7000, redis-1.redis:7001,[::1]:7002',
      HERALD_REDIS_PASSWORD: 'pw-0123456789',
      HERALD_REDIS_TLS: 'true',
    });
    expect(config.redis).toEqual({
      mode: 'cluster',
      nodes: [
        { host: '10.0.0.1', port: 7000 },
        { host: 'redis-1.redis', port: 7001 },
        { host: '::1', port: 7002 },
      ],
      username: null,
      password: 'pw-0123456789',
      sentinelPassword: null,
      tls: true,
    });
    expect(config.queuePrefix).toBe('{herald}');
  });

  it('refuses at boot a cluster prefix without a hash tag, and says which one to use', () => {
    const text = problems({ HERALD_REDIS_CLUSTER_NODES: '127.0.0.1:7000', HERALD_QUEUE_PREFIX: 'herald' });
    expect(text).toContain('HERALD_QUEUE_PREFIX');
    expect(text).toContain('hash tag');
    expect(text).toContain('"{herald}"');
    // An empty tag ("{}") is no tag for Redis: the whole key is hashed.
    expect(problems({ HERALD_REDIS_CLUSTER_NODES: '127.0.0.1:7000', HERALD_QUEUE_PREFIX: 'a{}b' })).toContain('HERALD_QUEUE_PREFIX');
    expect(loadConfig({ ...base, HERALD_REDIS_CLUSTER_NODES: '127.0.0.1:7000', HERALD_QUEUE_PREFIX: 'prod:{herald}' }).queuePrefix).toBe('prod:{herald}');
  });

  it('accepts a hash-tagged prefix on one server too (ready for a later move to a cluster), but no stray braces', () => {
    expect(loadConfig({ ...base, HERALD_QUEUE_PREFIX: '{herald}' }).queuePrefix).toBe('{herald}');
    for (const bad of ['her{ald', '{a}{b}', 'a}b', 'x y']) expect(problems({ HERALD_QUEUE_PREFIX: bad })).toContain('HERALD_QUEUE_PREFIX');
  });

  it('reads Sentinel: the sentinels, the master name and both passwords', () => {
    const config = loadConfig({
      ...base,
      HERALD_REDIS_SENTINELS: '10.0.0.1:26379,10.0.0.2:26379,10.0.0.3:26379',
      HERALD_REDIS_SENTINEL_MASTER: 'mymaster',
      HERALD_REDIS_USERNAME: 'herald',
      HERALD_REDIS_PASSWORD: 'data-pw-0123456789',
      HERALD_REDIS_SENTINEL_PASSWORD: 'sentinel-pw-0123456789',
    });
    expect(config.redis).toMatchObject({
      mode: 'sentinel',
      master: 'mymaster',
      username: 'herald',
      password: 'data-pw-0123456789',
      sentinelPassword: 'sentinel-pw-0123456789',
    });
    expect(config.redis.mode === 'sentinel' && config.redis.sentinels).toHaveLength(3);
    expect(config.queuePrefix).toBe('herald');
  });

  it('names every inconsistent combination, without echoing a password', () => {
    expect(problems({ HERALD_REDIS_SENTINELS: '127.0.0.1:26379' })).toMatch(/HERALD_REDIS_SENTINEL_MASTER is required/);
    expect(problems({ HERALD_REDIS_SENTINEL_MASTER: 'mymaster' })).toMatch(/without HERALD_REDIS_SENTINELS/);
    expect(problems({ HERALD_REDIS_CLUSTER_NODES: '127.0.0.1:7000', HERALD_REDIS_SENTINELS: '127.0.0.1:26379', HERALD_REDIS_SENTINEL_MASTER: 'm' })).toMatch(
      /both set/,
    );
    expect(problems({ HERALD_REDIS_CLUSTER_NODES: '127.0.0.1:7000', REDIS_URL: 'redis://127.0.0.1:6379' })).toMatch(
      /REDIS_URL and HERALD_REDIS_CLUSTER_NODES are both set/,
    );
    expect(problems({ HERALD_REDIS_CLUSTER_NODES: 'redis://127.0.0.1:7000' })).toMatch(
      /HERALD_REDIS_CLUSTER_NODES is invalid: "redis:\/\/127.0.0.1:7000" is not host:port/,
    );
    expect(problems({ HERALD_REDIS_CLUSTER_NODES: '127.0.0.1:70000' })).toMatch(/is not host:port/);
    expect(problems({ HERALD_REDIS_TLS: 'maybe' })).toMatch(/HERALD_REDIS_TLS/);
    const twice = problems({ REDIS_URL: 'redis://:url-secret-123@127.0.0.1:6379', HERALD_REDIS_PASSWORD: 'env-secret-456' });
    expect(twice).toMatch(/keep one of them/);
    expect(twice).not.toContain('url-secret-123');
    expect(twice).not.toContain('env-secret-456');
  });

  it('treats an empty REDIS_URL as unset (a manifest that blanks it), so a cluster can replace it', () => {
    expect(loadConfig({ ...base, REDIS_URL: '', HERALD_REDIS_CLUSTER_NODES: '127.0.0.1:7000' }).redis.mode).toBe('cluster');
  });

  it('finds the hash tag the way Redis Cluster does: the first {…} that is not empty', () => {
    expect(hashTag('{herald}:herald.deliver:wait')).toBe('herald');
    expect(hashTag('herald:rl:{0190-abc}:log')).toBe('0190-abc');
    expect(hashTag('{}{x}')).toBeNull();
    expect(hashTag('a{b')).toBeNull();
    expect(hashTag('plain')).toBeNull();
  });
});
