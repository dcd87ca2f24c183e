import { Injectable, Logger, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import { HeraldConfig } from '@herald/platform';
import { PgListener } from '../notifications/pg-listener';
import { TtlCache } from './ttl-cache';

export const INVALIDATION_CHANNEL = 'herald_invalidate';

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
 */
@Injectable()
export class CoherentCaches implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger(CoherentCaches.name);
  private readonly caches = new Map<string, TtlCache<unknown>>();
  private readonly listener: PgListener;
  private listening = false;
  private generation = 0;

  constructor(config: HeraldConfig) {
    this.listener = new PgListener(
      config.databaseUrl,
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
    await this.listener.start();
  }

  /** Reads through the named cache: `load` runs on a miss, or always while caches are unsafe. */
  async read<V>(cacheName: string, key: string, load: () => Promise<V | null>): Promise<V | null> {
    const cache = this.cache<V>(cacheName);
    if (this.listening) {
      const hit = cache.get(key);
      if (hit !== undefined) return hit;
    }
    const generation = this.generation;
    const value = await load();
    // Only positive answers are kept: a new key or project must work at once.
    if (value !== null && this.listening && generation === this.generation) cache.set(key, value);
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
      // Entries also expire, as a backstop; invalidation is what keeps them right.
      cache = new TtlCache<unknown>(60_000);
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
