import { Injectable, Logger, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import { HeraldConfig } from '@herald/platform';
import { PgListener } from '../notifications/pg-listener';
import { TtlCache } from './ttl-cache';

export const INVALIDATION_CHANNEL = 'herald_invalidate';

/**
 * How long an entry is kept when no invalidation can reach this process (behind a transaction
 * pooler without HERALD_DATABASE_LISTEN_URL): the longest a key revoked, or a project renamed or
 * deleted, by another process is still honoured here.
 */
export const UNCOORDINATED_CACHE_TTL_MS = 5000;
/** With invalidation, entries also expire, as a backstop; invalidation is what keeps them right. */
const COHERENT_CACHE_TTL_MS = 60_000;

/** What a cache entry can be invalidated by: a single key, or everything (`*`). */
export type Invalidation = { cache: string; key: string } | { cache: '*'; key: '*' };

/**
 * Read-through caches that every process keeps coherent through Postgres LISTEN/NOTIFY.
 *
 * A change that must be seen at once everywhere (an API key revoked, a project renamed or deleted)
 * sends a NOTIFY in the same transaction; every process evicts the entry when the commit is
 * delivered. While the LISTEN connection is down, caches are bypassed (every read goes to
 * Postgres), so a missed notification can never leave a stale entry in use. A generation counter
 * keeps a read that raced with an invalidation from caching what it read.
 *
 * Without a connection that can LISTEN (a transaction pooler and no HERALD_DATABASE_LISTEN_URL),
 * entries live {@link UNCOORDINATED_CACHE_TTL_MS} instead: a change made elsewhere is seen within
 * that time, and a key is looked up at most once per lifetime per process (reading through on
 * every request would put an extra statement on every authenticated call, on the pooler).
 */
@Injectable()
export class CoherentCaches implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger(CoherentCaches.name);
  private readonly caches = new Map<string, TtlCache<unknown>>();
  private readonly listener: PgListener;
  private listening = false;
  private generation = 0;
  /** No notifications can arrive: entries are trusted for their short lifetime instead. */
  private readonly uncoordinated: boolean;

  constructor(config: HeraldConfig) {
    this.uncoordinated = config.databaseListenUrl === null;
    this.listener = new PgListener(
      config.databaseListenUrl,
      [INVALIDATION_CHANNEL],
      {
        notification: (_channel, payload) => this.evict(payload),
        listening: () => {
          this.generation++;
          this.listening = true;
        },
        lost: (reason) => this.unsafe(reason),
      },
      'herald-invalidation',
    );
  }

  async onModuleInit(): Promise<void> {
    if (this.uncoordinated) {
      this.logger.warn(
        `HERALD_DATABASE_LISTEN_URL is not set behind a transaction pooler, so no cache invalidation reaches this process: API keys and projects are cached ` +
          `for ${UNCOORDINATED_CACHE_TTL_MS / 1000} s, and a key revoked (or a project renamed or deleted) elsewhere works here for up to that long. ` +
          'Set HERALD_DATABASE_LISTEN_URL to a direct Postgres URL for invalidation within milliseconds (docs/operations.md)',
      );
    }
    await this.listener.start();
  }

  /** Reads through the named cache: `load` runs on a miss, or always while caches are unsafe. */
  async read<V>(cacheName: string, key: string, load: () => Promise<V | null>): Promise<V | null> {
    const cache = this.cache<V>(cacheName);
    const usable = this.listening || this.uncoordinated;
    if (usable) {
      const hit = cache.get(key);
      if (hit !== undefined) return hit;
    }
    const generation = this.generation;
    const value = await load();
    // Only positive answers are kept: a new key or project must work at once.
    if (value !== null && usable && generation === this.generation) cache.set(key, value);
    return value;
  }

  /**
   * Sends the invalidation inside the caller's transaction, so other processes get it only if it
   * commits (within milliseconds of the commit). Call `evictLocally` after the commit so this
   * process does not wait for its own notification.
   */
  async notify(manager: EntityManager | DataSource, invalidation: Invalidation): Promise<void> {
    await manager.query('SELECT pg_notify($1, $2)', [INVALIDATION_CHANNEL, `${invalidation.cache}:${invalidation.key}`]);
  }

  evictLocally(invalidation: Invalidation): void {
    this.evict(`${invalidation.cache}:${invalidation.key}`);
  }

  private cache<V>(name: string): TtlCache<V> {
    let cache = this.caches.get(name);
    if (!cache) {
      cache = new TtlCache<unknown>(this.uncoordinated ? UNCOORDINATED_CACHE_TTL_MS : COHERENT_CACHE_TTL_MS);
      this.caches.set(name, cache);
    }
    return cache as TtlCache<V>;
  }

  private evict(payload: string): void {
    if (!payload) return;
    this.generation++;
    const i = payload.indexOf(':');
    const [name, key] = [payload.slice(0, i), payload.slice(i + 1)];
    if (name === '*') for (const cache of this.caches.values()) cache.clear();
    else this.caches.get(name)?.delete(key);
  }

  private unsafe(reason: string): void {
    if (this.listening) this.logger.warn(`cache invalidation feed lost (${reason}); reading through to Postgres until it is back`);
    this.listening = false;
    this.generation++;
    for (const cache of this.caches.values()) cache.clear();
  }

  async onApplicationShutdown(): Promise<void> {
    this.listening = false;
    await this.listener.stop();
  }
}
