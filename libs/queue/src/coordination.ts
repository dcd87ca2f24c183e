import { Injectable } from '@nestjs/common';
import { HeraldConfig } from '@herald/platform';
import { HeraldQueues } from './herald-queues';

/**
 * State the worker processes share in Redis, under the queue prefix (on a cluster, in the
 * queue's slot: the prefix's `{herald}` hash tag): a lease that elects one worker for a periodic
 * job until it runs out, and marks — small values such as a scan position — that whichever worker
 * is elected next reads. Callers name their keys (`reconciler:lock`, `reconciler:cursor`).
 */
@Injectable()
export class WorkerCoordination {
  constructor(
    private readonly queues: HeraldQueues,
    private readonly config: HeraldConfig,
  ) {}

  private key(name: string): string {
    return `${this.config.queuePrefix}:${name}`;
  }

  /** Takes the lease `name` for `ttlMs` unless someone holds it; true when `owner` took it. Never released early: it runs out. */
  async lease(name: string, owner: string, ttlMs: number): Promise<boolean> {
    await this.queues.ready();
    return (await this.queues.connection.set(this.key(name), owner, 'PX', Math.max(1, Math.round(ttlMs)), 'NX')) === 'OK';
  }

  /** The mark `name`, or null when it was never set, was cleared, ran out, or Redis lost it. */
  async mark(name: string): Promise<string | null> {
    await this.queues.ready();
    return this.queues.connection.get(this.key(name));
  }

  async setMark(name: string, value: string, ttlMs: number): Promise<void> {
    await this.queues.ready();
    await this.queues.connection.set(this.key(name), value, 'PX', Math.max(1, Math.round(ttlMs)));
  }

  async clearMark(name: string): Promise<void> {
    await this.queues.ready();
    await this.queues.connection.del(this.key(name));
  }
}
