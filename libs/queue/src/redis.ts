import IORedis, { Cluster, type ClusterOptions, type Redis, type RedisOptions } from 'ioredis';
import { isDependencyDown, type RedisSettings } from '@herald/platform';

/** A connection to Herald's Redis, whichever form it takes: one server, a Sentinel-watched primary, or a cluster. */
export type RedisClient = Redis | Cluster;

/**
 * Two kinds of Redis connection. Producers fail fast when Redis is down (no offline queue, few
 * retries), so intake can fall back on the outbox and the gateway can answer 503. Workers wait
 * for Redis to come back (`maxRetriesPerRequest: null`, as BullMQ requires for blocking calls;
 * on a cluster it goes into every node connection's options, where BullMQ looks for it).
 */
export function producerConnection(settings: RedisSettings, name: string): RedisClient {
  return connect(settings, name, { enableOfflineQueue: false, maxRetriesPerRequest: 1 });
}

export function workerConnection(settings: RedisSettings, name: string): RedisClient {
  return connect(settings, name, { maxRetriesPerRequest: null });
}

export interface RedisRole {
  maxRetriesPerRequest: number | null;
  enableOfflineQueue?: boolean;
}

/** Reconnect forever, backing off to 2 s, so a Redis restart or a failover never leaves a process wedged. */
function reconnectDelay(times: number): number {
  return Math.min(50 * 2 ** times, 2000);
}

/**
 * A primary that was demoted (a Sentinel failover while it stayed up, a managed service's DNS
 * switch) answers writes with READONLY: drop the connection and resend the command, so the next
 * connection finds the new primary (through Sentinel, or DNS).
 */
function reconnectOnReadonly(err: Error): 2 | false {
  return err.message.startsWith('READONLY') ? 2 : false;
}

/** The ioredis options for these settings and this role (exported for the spec; {@link connect} builds the client). */
export function connectionOptions(
  settings: RedisSettings,
  name: string,
  role: RedisRole,
): { url?: string; nodes?: Array<{ host: string; port: number }>; redis: RedisOptions; cluster?: ClusterOptions } {
  const node: RedisOptions = {
    connectionName: name,
    // A peer that vanished without a reset (a failed-over VM, a dropped NAT entry) is noticed by TCP keepalive.
    keepAlive: 10_000,
    ...(settings.username !== null && { username: settings.username }),
    ...(settings.password !== null && { password: settings.password }),
    ...(settings.tls && { tls: {} }),
  };
  const { enableOfflineQueue = true, maxRetriesPerRequest } = role;
  switch (settings.mode) {
    case 'single':
      return {
        url: settings.url,
        redis: { ...node, maxRetriesPerRequest, enableOfflineQueue, retryStrategy: reconnectDelay, reconnectOnError: reconnectOnReadonly },
      };
    case 'sentinel':
      return {
        redis: {
          ...node,
          sentinels: settings.sentinels,
          name: settings.master,
          ...(settings.sentinelPassword !== null && { sentinelPassword: settings.sentinelPassword }),
          ...(settings.tls && { enableTLSForSentinelMode: true, sentinelTLS: {} }),
          maxRetriesPerRequest,
          enableOfflineQueue,
          retryStrategy: reconnectDelay,
          // Ask the sentinels again and again while none answers: giving up would leave the connection closed for good.
          sentinelRetryStrategy: reconnectDelay,
          // Sentinel announces a new primary (+switch-master): reconnect at once, even if the old one still answers.
          failoverDetector: true,
          reconnectOnError: reconnectOnReadonly,
        },
      };
    case 'cluster':
      return {
        nodes: settings.nodes,
        redis: { ...node, maxRetriesPerRequest },
        cluster: {
          enableOfflineQueue,
          enableReadyCheck: true,
          clusterRetryStrategy: reconnectDelay,
          // A managed cluster's TLS certificate names the host, not its address: keep the name.
          ...(settings.tls && { dnsLookup: (address: string, callback: (err: Error | null, address: string) => void) => callback(null, address) }),
        },
      };
  }
}

function connect(settings: RedisSettings, name: string, role: RedisRole): RedisClient {
  const options = connectionOptions(settings, name, role);
  if (options.nodes) return new Cluster(options.nodes, { ...options.cluster, redisOptions: options.redis });
  return options.url ? new IORedis(options.url, options.redis) : new IORedis(options.redis);
}

/** Redis cannot take commands now (down, reconnecting, failing over): the work should wait, not fail. */
export class RedisUnavailable extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RedisUnavailable';
  }
}

/** Replies that mean "not now" rather than "wrong": data still loading, a slot without its master, a demoted primary. */
const NOT_NOW_REPLIES = /^(LOADING|CLUSTERDOWN|TRYAGAIN|MASTERDOWN|READONLY|NOREPLICAS)\b/;

/** True when `err` says Redis was unreachable or not ready for the command, not that the command was wrong. */
export function isRedisUnavailable(err: unknown): boolean {
  return err instanceof RedisUnavailable || isDependencyDown(err) || (err instanceof Error && NOT_NOW_REPLIES.test(err.message));
}
