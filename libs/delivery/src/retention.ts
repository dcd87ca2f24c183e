import { Injectable, Logger, type OnModuleDestroy } from '@nestjs/common';
import { RetentionPurge, RetentionRepository, retentionSettings, type PurgeReport, type RetentionTable } from '@herald/persistence';
import { HeraldConfig } from '@herald/platform';
import { RetentionMetrics } from './delivery-metrics';

/**
 * The retention purge on the workers' schedule (docs/operations.md#retention): every
 * `HERALD_RETENTION_EVERY_MS` each worker tries, and the one that takes the purge lease (a row in
 * Postgres, so no Redis and no session are needed) removes what is past its retention, batch by
 * batch with a pause between, until nothing is left; the others find the lease taken and wait for
 * the next tick. A worker stopping ends its purge between batches and gives the lease back.
 */
@Injectable()
export class ScheduledPurge implements OnModuleDestroy {
  private readonly logger = new Logger('Retention');
  private readonly purge: RetentionPurge;
  private readonly stopping = new AbortController();
  private timer?: NodeJS.Timeout;
  private running?: Promise<unknown>;

  constructor(
    repository: RetentionRepository,
    private readonly config: HeraldConfig,
    private readonly metrics: RetentionMetrics,
  ) {
    this.purge = new RetentionPurge(repository, retentionSettings(config));
  }

  start(): void {
    // 0: purging is left to `npm run purge` (a CronJob, say).
    if (!this.config.retentionEveryMs) return;
    this.timer = setInterval(() => {
      this.running ??= this.run()
        .catch((err: unknown) => {
          this.metrics.retentionRuns.inc({ outcome: 'failed' });
          this.logger.warn(
            `retention purge stopped: ${(err as Error).message}; the next one (in ${this.config.retentionEveryMs} ms) goes on from what is left`,
          );
        })
        .finally(() => (this.running = undefined));
    }, this.config.retentionEveryMs);
    this.timer.unref();
  }

  /** One purge, until nothing past its retention is left (or the worker stops). */
  async run(): Promise<PurgeReport> {
    const report = await this.purge.run({
      signal: this.stopping.signal,
      onBatch: (phase, removed, ms) => {
        this.metrics.retentionBatchDuration.observe({ phase }, ms / 1000);
        for (const [table, n] of Object.entries(removed) as Array<[RetentionTable, number]>) if (n) this.metrics.retentionRemoved.inc({ table }, n);
      },
      onRetry: (phase, err, next) => this.logger.warn(`retention batch of ${phase} cancelled (${err.message}); retrying with ${next} rows`),
    });
    this.metrics.retentionRuns.inc({ outcome: report.outcome });
    const removed = Object.fromEntries(Object.entries(report.removed).filter(([, n]) => n > 0));
    if (Object.keys(removed).length || report.outcome === 'lease-lost') {
      this.logger.log(
        {
          removed,
          batches: report.batches,
          retries: report.retries,
          ms: report.ms,
          cutoff: report.cutoff,
          devLakeCutoff: report.devLakeCutoff,
          outcome: report.outcome,
        },
        `retention purge ${report.outcome}`,
      );
    }
    return report;
  }

  /** Before the pool closes (onApplicationShutdown), so the batch in flight ends and the lease is given back. */
  async onModuleDestroy(): Promise<void> {
    clearInterval(this.timer);
    this.stopping.abort();
    await this.running;
  }
}
