import 'reflect-metadata';
import { DataSource } from 'typeorm';
import { PURGE_LEASE, RetentionPurge, RetentionRepository, dataSourceOptions, retentionSettings } from '@herald/persistence';
import { loadConfigOrExit } from '@herald/platform';

/**
 * `npm run purge` (in any image: `node dist/tools/purge.js`): one retention purge now, with the
 * apps' settings (HERALD_RETENTION_DAYS, HERALD_DEVLAKE_RETENTION_DAYS, HERALD_RETENTION_BATCH,
 * HERALD_RETENTION_PAUSE_MS), until nothing past its retention is left. It takes the same lease as
 * the workers' scheduled purge, so it never runs beside one; safe to stop (SIGINT/SIGTERM end it
 * between batches) and to run again. Usable as a CronJob with HERALD_RETENTION_EVERY_MS=0 on the
 * workers. docs/operations.md#retention.
 */
async function main(): Promise<number> {
  const config = loadConfigOrExit({ require: [] });
  const db = new DataSource(dataSourceOptions({ url: config.databaseUrl, poolSize: 2, applicationName: 'herald-purge' }));
  await db.initialize();
  const stop = new AbortController();
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => stop.abort());
  try {
    const repository = new RetentionRepository(db);
    const purge = new RetentionPurge(repository, retentionSettings(config));
    const days = (n: number | null) => (n === null ? 'forever' : `${n} days`);
    process.stdout.write(
      `purging: events, deliveries and attempts kept ${days(config.retentionDays)}, DevLake rows ${days(config.devLakeRetentionDays)}, idempotency keys 24 h\n`,
    );
    let shown = 0;
    const total: Record<string, number> = {};
    const report = await purge.run({
      signal: stop.signal,
      onBatch: (_phase, removed) => {
        for (const [table, n] of Object.entries(removed)) total[table] = (total[table] ?? 0) + (n ?? 0);
        if (Date.now() - shown < 2000) return;
        shown = Date.now();
        process.stdout.write(`  removed so far: ${summary(total)}\n`);
      },
      onRetry: (phase, err, next) => process.stdout.write(`  a batch of ${phase} was cancelled (${err.message}); retrying with ${next} rows\n`),
    });
    if (report.outcome === 'busy') {
      const holder = await repository.leaseHolder(PURGE_LEASE);
      process.stdout.write(
        `another purge is running (a worker or another purge holds the lease${holder ? ` until ${holder.until.toISOString()}` : ''}); nothing done\n`,
      );
      return 0;
    }
    const cutoffs = [
      report.cutoff && `events before ${report.cutoff.toISOString()}`,
      report.devLakeCutoff && `DevLake rows before ${report.devLakeCutoff.toISOString()}`,
    ]
      .filter(Boolean)
      .join(', ');
    process.stdout.write(
      `${report.outcome === 'done' ? 'done' : `stopped (${report.outcome})`} in ${(report.ms / 1000).toFixed(1)} s, ${report.batches} batches${cutoffs ? ` (${cutoffs})` : ''}: removed ${summary(report.removed)}\n`,
    );
    return report.outcome === 'done' || report.outcome === 'stopped' ? 0 : 1;
  } finally {
    await db.destroy();
  }
}

function summary(removed: Record<string, number>): string {
  const parts = Object.entries(removed)
    .filter(([, n]) => n > 0)
    .map(([table, n]) => `${n} ${table}`);
  return parts.length ? parts.join(', ') : 'nothing';
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`purge failed: ${(err as Error).message}; what it removed stays removed, run it again to go on\n`);
    process.exit(1);
  },
);
