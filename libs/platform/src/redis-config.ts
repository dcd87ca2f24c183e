/**
 * Where Herald's Redis is (docs/contract.md §1.3): one server (`REDIS_URL`), a Redis Cluster
 * (`HERALD_REDIS_CLUSTER_NODES`) or a primary watched by Sentinel (`HERALD_REDIS_SENTINELS` +
 * `HERALD_REDIS_SENTINEL_MASTER`), plus the credentials and TLS a managed service needs.
 */
export interface RedisEndpoint {
  host: string;
  port: number;
}

export type RedisTopology =
  { mode: 'single'; url: string } | { mode: 'cluster'; nodes: RedisEndpoint[] } | { mode: 'sentinel'; sentinels: RedisEndpoint[]; master: string };

export type RedisSettings = RedisTopology & {
  /** ACL user of the data nodes (cluster, sentinel; a single server takes it from its URL when absent). */
  username: string | null;
  password: string | null;
  /** Password of the sentinels themselves (their `requirepass`), when they have one. */
  sentinelPassword: string | null;
  /** TLS to every node (and to the sentinels); with a single server, the same as `rediss://`. */
  tls: boolean;
};

/**
 * The queue prefix when HERALD_QUEUE_PREFIX is unset. A single server (or a Sentinel-watched
 * primary) keeps `herald`, so existing deployments keep their queued jobs; a cluster needs every
 * key of a queue in one hash slot, so its default carries the hash tag.
 */
export const DEFAULT_QUEUE_PREFIX = { single: 'herald', sentinel: 'herald', cluster: '{herald}' } as const;

/**
 * The hash tag Redis Cluster would hash a key by: the text between the first `{` and the first
 * `}` after it, if not empty (the cluster specification's rule); null when the key has none.
 */
export function hashTag(key: string): string | null {
  const open = key.indexOf('{');
  if (open < 0) return null;
  const close = key.indexOf('}', open + 1);
  return close > open + 1 ? key.slice(open + 1, close) : null;
}

type Env = Record<string, string | undefined>;

function value(env: Env, name: string): string | null {
  const raw = env[name]?.trim();
  return raw === undefined || raw === '' ? null : raw;
}

/** `host:port,host:port,…` (IPv6 hosts in brackets). */
function endpoints(raw: string): RedisEndpoint[] {
  const list = raw
    .split(',')
    .map((e) => e.trim())
    .filter((e) => e !== '');
  if (list.length === 0) throw new Error('expected host:port,host:port,…');
  return list.map((entry) => {
    const m = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9_.-]+):(\d{1,5})$/.exec(entry);
    const port = Number(m?.[2]);
    if (!m || port < 1 || port > 65535) throw new Error(`"${entry}" is not host:port (e.g. 10.0.0.5:6379, redis-0.redis:6379, [::1]:6379)`);
    return { host: m[1].replace(/^\[|\]$/g, ''), port };
  });
}

/**
 * Reads the Redis variables; problems go to `problems`, named by variable and never echoing a
 * password. `redisUrl` is REDIS_URL already validated (or its default).
 */
export function readRedisSettings(env: Env, redisUrl: string | undefined, problems: string[]): RedisSettings {
  const clusterRaw = value(env, 'HERALD_REDIS_CLUSTER_NODES');
  const sentinelsRaw = value(env, 'HERALD_REDIS_SENTINELS');
  const master = value(env, 'HERALD_REDIS_SENTINEL_MASTER');
  const explicitUrl = value(env, 'REDIS_URL') !== null;
  const credentials = {
    username: value(env, 'HERALD_REDIS_USERNAME'),
    password: value(env, 'HERALD_REDIS_PASSWORD'),
    sentinelPassword: value(env, 'HERALD_REDIS_SENTINEL_PASSWORD'),
    tls: false,
  };
  const tlsRaw = value(env, 'HERALD_REDIS_TLS') ?? 'false';
  if (/^(true|1|yes)$/i.test(tlsRaw)) credentials.tls = true;
  else if (!/^(false|0|no)$/i.test(tlsRaw)) problems.push(`HERALD_REDIS_TLS=${JSON.stringify(tlsRaw)} is invalid: expected true or false`);

  const parse = (name: string, raw: string): RedisEndpoint[] => {
    try {
      return endpoints(raw);
    } catch (err) {
      problems.push(`${name} is invalid: ${(err as Error).message}`);
      return [];
    }
  };

  if (clusterRaw !== null && sentinelsRaw !== null) {
    problems.push(
      'HERALD_REDIS_CLUSTER_NODES and HERALD_REDIS_SENTINELS are both set: Herald talks to a Redis Cluster or to a Sentinel-watched primary, set only one',
    );
  }
  if ((clusterRaw !== null || sentinelsRaw !== null) && explicitUrl) {
    const which = clusterRaw !== null ? 'HERALD_REDIS_CLUSTER_NODES' : 'HERALD_REDIS_SENTINELS';
    problems.push(`REDIS_URL and ${which} are both set: ${which} replaces REDIS_URL, remove REDIS_URL (put the password in HERALD_REDIS_PASSWORD)`);
  }
  if (master !== null && sentinelsRaw === null)
    problems.push('HERALD_REDIS_SENTINEL_MASTER is set without HERALD_REDIS_SENTINELS: list the sentinels as host:port,host:port,…');
  if (credentials.sentinelPassword !== null && sentinelsRaw === null) problems.push('HERALD_REDIS_SENTINEL_PASSWORD is set without HERALD_REDIS_SENTINELS');

  if (clusterRaw !== null) return { mode: 'cluster', nodes: parse('HERALD_REDIS_CLUSTER_NODES', clusterRaw), ...credentials };
  if (sentinelsRaw !== null) {
    if (master === null)
      problems.push(
        'HERALD_REDIS_SENTINEL_MASTER is required with HERALD_REDIS_SENTINELS: the name the sentinels monitor the primary under (`sentinel monitor <name> …`)',
      );
    return { mode: 'sentinel', sentinels: parse('HERALD_REDIS_SENTINELS', sentinelsRaw), master: master ?? '', ...credentials };
  }
  if (redisUrl !== undefined) {
    const url = new URL(redisUrl);
    // Two places for one password would leave the reader guessing which one is used.
    if (credentials.password !== null && url.password !== '')
      problems.push('REDIS_URL carries a password and HERALD_REDIS_PASSWORD is set too: keep one of them');
    if (credentials.username !== null && url.username !== '' && url.username !== 'default')
      problems.push('REDIS_URL names a user and HERALD_REDIS_USERNAME is set too: keep one of them');
  }
  return { mode: 'single', url: redisUrl ?? '', ...credentials };
}

/**
 * Why `prefix` cannot be used with these settings, or null (for "HERALD_QUEUE_PREFIX=… is invalid: <this>").
 * A cluster needs every key of a queue in one hash slot.
 */
export function queuePrefixProblem(prefix: string, mode: RedisTopology['mode']): string | null {
  if (mode !== 'cluster' || hashTag(prefix) !== null) return null;
  return (
    'it has no hash tag, and on a Redis Cluster (HERALD_REDIS_CLUSTER_NODES) BullMQ needs every key of a queue in one hash slot: ' +
    `use "{${prefix.replace(/[{}]/g, '')}}", or leave HERALD_QUEUE_PREFIX unset for "${DEFAULT_QUEUE_PREFIX.cluster}". ` +
    'A new prefix starts with empty queues; the reconciler re-queues unfinished deliveries after HERALD_RECONCILE_AFTER_MS (docs/operations.md, "Redis Cluster")'
  );
}
