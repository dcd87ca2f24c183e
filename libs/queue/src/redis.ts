import IORedis, { type Redis, type RedisOptions } from 'ioredis';

/**
 * Two kinds of Redis connection. Producers fail fast when Redis is down (no offline queue, few
 * retries), so intake can fall back on the outbox and the gateway can answer 503. Workers wait
 * for Redis to come back (`maxRetriesPerRequest: null`, as BullMQ requires for blocking calls).
 */
export function producerConnection(url: string, name: string): Redis {
  return new IORedis(url, {
    connectionName: name,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    retryStrategy: reconnectDelay,
    lazyConnect: false,
  } satisfies RedisOptions);
}

export function workerConnection(url: string, name: string): Redis {
  return new IORedis(url, {
    connectionName: name,
    maxRetriesPerRequest: null,
    enableReadyCheck: true,
    retryStrategy: reconnectDelay,
  } satisfies RedisOptions);
}

/** Reconnect forever, backing off to 2 s, so a Redis restart never leaves a process wedged. */
function reconnectDelay(times: number): number {
  return Math.min(50 * 2 ** times, 2000);
}
