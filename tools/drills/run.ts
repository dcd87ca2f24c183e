import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { chainDrill, killWorkerDrill, postgresStopDrill, receiverDownDrill, redisRestartDrill, type DrillReport } from './drills';
import { fuzzDrill } from './fuzz';
import { mergeSections } from './record';
import { sentinelFailoverDrill } from './redis-failover';
import { fanOutDrill, killTwoWorkersDrill, onFreshReplicaSet, rateLimitDrill, rollingRestartDrill, scaleOutDrill } from './replicas';

/**
 * `npm run drills`: the fault drills at full size. Prints each result and writes
 * docs/reliability.md. Exits 1 if any drill failed. `npm run drills -- <name> [<name>…]` runs
 * those only and leaves the file alone; add `--record` to replace (or add) their sections in it,
 * keeping the other drills' figures.
 */
const DRILLS: Record<string, () => Promise<DrillReport>> = {
  'kill-worker': () => killWorkerDrill({ events: 5000, kills: 3 }),
  'redis-restart': () => redisRestartDrill({ events: 3000, downMs: 5000, persistent: true }),
  'redis-data-loss': () => redisRestartDrill({ events: 3000, downMs: 5000, persistent: false }),
  'postgres-stop': () => postgresStopDrill({ events: 3000, downMs: 5000 }),
  'receiver-down': () => receiverDownDrill({ events: 200, downMs: 60_000, schedule: '0s,5s,10s,20s,40s,80s' }),
  fuzz: () => fuzzDrill({ runs: 10_000 }),
  chain: () => chainDrill({ malformed: 300, outageMs: 5000, burst: 3000, single: 10_000, batches: 5 }),
  'sentinel-failover': () => sentinelFailoverDrill({ events: 5000, lagMs: 1000 }),
  // Issue 13 item 4: 2 gateways, 2 ingestion processes and 4 workers, each a process on its own
  // port, on a fresh Postgres and Redis each (tools/drills/replicas.ts).
  'replicas-rolling-restart': () => onFreshReplicaSet(rollingRestartDrill)({ rate: 100, pauseMs: 3000 }),
  'replicas-kill-workers': () => onFreshReplicaSet(killTwoWorkersDrill, { receiverDelayMs: 50 })({ events: 5000 }),
  'replicas-scale-out': () => onFreshReplicaSet(scaleOutDrill, { receiverDelayMs: 50 })({ events: 6000 }),
  'replicas-rate-limit': () => onFreshReplicaSet(rateLimitDrill)({ events: 300, limit: 10, steadyRate: 100 }),
  'replicas-fan-out': () => onFreshReplicaSet(fanOutDrill)({ singles: 3000, batches: 20, batchSize: 100 }),
};

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const record = args.includes('--record');
  const only = args.filter((a) => a !== '--record');
  const names = only.length ? only : Object.keys(DRILLS);
  const reports: Array<DrillReport & { key: string; seconds: number }> = [];
  for (const key of names) {
    const drill = DRILLS[key];
    if (!drill) throw new Error(`unknown drill ${key}; known: ${Object.keys(DRILLS).join(', ')}`);
    process.stdout.write(`\n▶ ${key}\n`);
    const started = Date.now();
    let report: DrillReport;
    try {
      report = await drill();
    } catch (err) {
      report = { name: key, facts: [], failures: [`the drill itself failed: ${(err as Error).stack ?? err}`] };
    }
    const seconds = Math.round((Date.now() - started) / 1000);
    reports.push({ ...report, key, seconds });
    for (const [k, v] of report.facts) process.stdout.write(`  ${k}: ${v}\n`);
    process.stdout.write(report.failures.length ? report.failures.map((f) => `  ✖ ${f}\n`).join('') : `  ✔ passed (${seconds} s)\n`);
  }
  const file = join(__dirname, '..', '..', '..', 'docs', 'reliability.md');
  if (!only.length) writeFileSync(file, render(reports));
  else if (record) writeFileSync(file, mergeSections(readFileSync(file, 'utf8'), render(reports), `run alone on ${new Date().toISOString()}`));
  process.exit(reports.some((r) => r.failures.length) ? 1 : 0);
}

function render(reports: Array<DrillReport & { key: string; seconds: number }>): string {
  const lines = [
    '# Reliability drills',
    '',
    'Fault drills that break things on purpose and check that nothing accepted is lost. Each drill',
    'starts its own Postgres (`initdb` in a temporary folder) and Redis (`redis-server` on a free',
    'port), the three apps as processes, and a local receiver; then it breaks one thing. The',
    '`replicas-*` drills run 2 gateways (each forwarding to both ingestion processes), 2 ingestion',
    'processes and up to 4 workers, each a process on its own port, under load from a client that',
    'spreads its requests over both gateways (tools/drills/replicas.ts).',
    '',
    'Reproduce: `npm run drills` (all, and rewrites this file), or `npm run drills -- <drill>`.',
    'A short form of each drill runs inside `npm test` (`tools/drills/drills.e2e-spec.ts`).',
    '',
    `Last full run: ${new Date().toISOString()} on ${require('node:os').cpus().length} cores.`,
    '',
  ];
  for (const r of reports) {
    lines.push(`## ${r.key}: ${r.name}`, '', `Result: **${r.failures.length ? 'FAILED' : 'passed'}** (${r.seconds} s)`, '', '| fact | value |', '|---|---|');
    for (const [k, v] of r.facts) lines.push(`| ${k} | ${v} |`);
    for (const f of r.failures) lines.push('', `- ✖ ${f}`);
    lines.push('');
  }
  return lines.join('\n');
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack ?? err}\n`);
  process.exit(1);
});
