import { Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import type { HeraldConfig } from './config';

/** One piece of work in progress: what it waits on, since when it has made no progress. */
export interface WorkInProgress {
  waitingOn: string;
  /** When this piece last made progress (ms since epoch). */
  since: number;
  /** It waits on a dependency that is down: readiness reports that, a restart would not help. */
  dependencyDown?: boolean;
}

/** Something whose work the watchdog follows (the outbox relay, the delivery jobs). */
export interface LivenessSource {
  readonly name: string;
  inProgress(): WorkInProgress[];
}
export const LIVENESS_SOURCES = Symbol('LIVENESS_SOURCES');

export interface Stall {
  source: string;
  waitingOn: string;
  forMs: number;
}

/**
 * How long work may go without progress before the process counts as wedged: several delivery
 * timeouts. Every step Herald takes is bounded well below that (an attempt by two deadlines, a
 * relay statement by its statement_timeout), so only a process that is really stuck reaches it.
 */
export function watchdogStallMs(config: Pick<HeraldConfig, 'deliveryTimeoutMs'>): number {
  return Math.max(5 * config.deliveryTimeoutMs, 30_000);
}

/** How often the watchdog looks, and how often it repeats its log line while stalled. */
const CHECK_EVERY_MS = 5000;
const REPEAT_LOG_MS = 60_000;

/**
 * Turns "no progress" into a liveness failure: when any followed work has waited longer than
 * `stallAfterMs` (and not on a dependency that is down, which readiness reports), the watchdog
 * logs what it waits on and `/healthz` answers 503, so the orchestrator restarts the process.
 * Jobs and outbox rows a restarted worker held are picked up again (lock and lease expiry).
 */
export class Watchdog implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('Watchdog');
  private timer?: NodeJS.Timeout;
  private stalledSince: number | null = null;
  private lastLog = 0;

  constructor(
    private readonly sources: LivenessSource[],
    readonly stallAfterMs: number,
    private readonly clock: () => number = Date.now,
  ) {}

  onApplicationBootstrap(): void {
    if (this.sources.length === 0) return;
    this.timer = setInterval(() => this.check(), CHECK_EVERY_MS);
    this.timer.unref();
  }

  onApplicationShutdown(): void {
    clearInterval(this.timer);
  }

  /** The current verdict; logs when the process becomes stalled, every minute while it stays so, and when it recovers. */
  check(): { healthy: boolean; stalls: Stall[] } {
    const now = this.clock();
    const stalls: Stall[] = [];
    for (const source of this.sources) {
      for (const work of source.inProgress()) {
        const forMs = now - work.since;
        if (forMs > this.stallAfterMs && !work.dependencyDown) stalls.push({ source: source.name, waitingOn: work.waitingOn, forMs });
      }
    }
    stalls.sort((a, b) => b.forMs - a.forMs);
    if (stalls.length) {
      if (this.stalledSince === null || now - this.lastLog >= REPEAT_LOG_MS) {
        this.stalledSince ??= now;
        this.lastLog = now;
        const shown = stalls.slice(0, 5).map((s) => `${s.waitingOn} (${Math.round(s.forMs / 1000)} s)`);
        this.logger.error(
          { stalls: stalls.length, stallAfterMs: this.stallAfterMs },
          `no progress for more than ${Math.round(this.stallAfterMs / 1000)} s, waiting on: ${shown.join('; ')}${stalls.length > 5 ? `; and ${stalls.length - 5} more` : ''}. ` +
            '/healthz answers 503 so the orchestrator restarts this process; its jobs and outbox rows are picked up again by the other workers',
        );
      }
    } else if (this.stalledSince !== null) {
      this.logger.warn(`progress again after ${Math.round((now - this.stalledSince) / 1000)} s stalled; /healthz answers 200`);
      this.stalledSince = null;
    }
    return { healthy: stalls.length === 0, stalls };
  }
}
