import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Logger } from '@nestjs/common';

/**
 * What tracing costs while it is off: the hot path's own code (intake service and its group
 * insert, the relay's pass, the delivery processor's attempt) of this build against the same code
 * of an earlier build, in one process, with every I/O edge replaced by an instant stub, so the
 * JavaScript is all that is measured (with real I/O around it, any difference is smaller still).
 * Postgres does the same work either way: with tracing off the statements are those of before
 * (the insert's text is unchanged; the lease's is built from one template with the traced columns
 * left out, and outbox-trace.int-spec.ts checks that it then reads neither).
 *
 *   git archive <earlier commit> | tar -x -C /tmp/base && ln -s $PWD/node_modules /tmp/base/ && (cd /tmp/base && node tools/build.mjs)
 *   node tools/build.mjs && node dist/tools/bench/tracing-off.js --base=/tmp/base
 *
 * Prints CPU microseconds per call for each build, each measured in several alternating rounds (the
 * median is kept). A benchmark, not a test: nothing asserts.
 */
const BASE = process.argv.find((a) => a.startsWith('--base='))?.slice('--base='.length);
const ROUNDS = Number(process.env.ROUNDS ?? 11);
const CALLS = Number(process.env.CALLS ?? 20_000);

type Load = ((path: string) => Record<string, any>) & { root: string }; // eslint-disable-line @typescript-eslint/no-explicit-any

function loader(root: string): Load {
  return Object.assign((path: string) => require(join(root, 'dist', path)), { root });
}

const instant =
  <T>(value: T) =>
  () =>
    Promise.resolve(value);

/** The metrics a build's code takes: one feature's class on the registry (issue 15 on), or the one `Metrics` of earlier builds. */
function metricsFor(load: Load, file: string, name: string): unknown {
  const platform = load('libs/platform/src/metrics.js');
  if (platform.Metrics) return new platform.Metrics();
  return new (load(file)[name])(new platform.MetricsRegistry());
}

/** One intake request after authentication: resolve the project, build the event, the group insert (pool stubbed). */
function intake(load: Load): () => Promise<unknown> {
  const { EventsIntakeService } = load('libs/intake/src/events/events-intake.service.js');
  const { EventRepository } = load('libs/persistence/src/repositories/event.repository.js');
  const db = { driver: { master: { query: instant({ rows: [] }) } }, manager: {}, options: {} };
  const service = new EventsIntakeService(
    { resolve: instant({ id: 1, key: 'bench' }) },
    new EventRepository(db),
    metricsFor(load, 'libs/intake/src/intake-metrics.js', 'IntakeMetrics'),
  );
  const principal = { kind: 'admin' };
  return () => service.accept(principal, 'bench', [{ type: 'bb.issue.create', title: 'bench' }], undefined, 'single');
}

/** One relay pass of 500 rows fanned out to 500 deliveries (lease, enqueue and delete stubbed). */
function relay(load: Load): () => Promise<unknown> {
  // The relay moved from libs/queue to libs/delivery in issue 15 (with its metrics).
  const moved = existsSync(join(load.root, 'dist', 'libs/delivery/src/outbox-relay.js'));
  const { OutboxRelay } = load(moved ? 'libs/delivery/src/outbox-relay.js' : 'libs/queue/src/outbox-relay.js');
  const work = {
    outboxIds: Array.from({ length: 500 }, (_, i) => String(i + 1)),
    events: 500,
    deliveries: Array.from({ length: 500 }, (_, i) => ({ deliveryId: `0190d5b0-0000-7000-8000-${String(i).padStart(12, '0')}`, replay: 0 })),
    lastId: '500',
  };
  const outbox = { leaseAndFanOut: instant(work), delete: instant(undefined), release: instant(undefined), backlog: instant(0) };
  const queues = { connection: { status: 'ready' }, redisReady: true, enqueueDeliveries: instant(undefined) };
  const metrics = metricsFor(load, moved ? 'libs/delivery/src/outbox-metrics.js' : 'libs/queue/src/outbox-metrics.js', 'OutboxMetrics');
  const relayer = new OutboxRelay(outbox, queues, { databaseUrl: 'postgres://127.0.0.1:1/none', outboxSweepMs: 1000 }, metrics) as { pass(): Promise<unknown> };
  return () => relayer.pass();
}

/** One delivery attempt that succeeds: claim, rate limit, render, send, classify, record (all stubbed but the processor). */
function attempt(load: Load): () => Promise<unknown> {
  const { DeliverProcessor } = load('libs/delivery/src/deliver.processor.js');
  const now = new Date();
  const deliveryId = '0190d5b0-0000-7000-8000-000000000001';
  const context = {
    delivery: { id: deliveryId, attemptCount: 0, replay: 0, createdAt: now, chainAttempts: 0, rateLimitedStreak: 0, claimToken: 't' },
    webhook: {
      id: 'w',
      name: 'w',
      type: 'custom',
      urlEncrypted: 'u',
      secretEncrypted: null,
      previousSecretEncrypted: null,
      previousSecretExpiresAt: null,
      rateLimitCount: null,
      rateLimitPerSeconds: null,
      directMessage: false,
      locale: null,
      enabled: true,
      disabledReason: null,
    },
    event: { id: 'e', type: 'bb.issue.create', level: 'INFO', title: 't', source: 'api', body: {}, occurredAt: now, receivedAt: now },
    project: { id: 1, key: 'bench', name: 'Bench' },
  };
  const adapter = {
    defaultRateLimit: null,
    defaultLocale: 'en',
    render: () => ({ url: 'http://127.0.0.1:1/hook', method: 'POST', headers: {}, body: '{}' }),
    classify: () => ({ kind: 'delivered' }),
  };
  const repository = { claim: instant({ kind: 'claimed', context }), recordAttempt: instant(1) };
  const config = { deliveryTimeoutMs: 10_000, retryScheduleMs: [0, 1000], autoDisableFailures: 20, autoDisableDays: 5 };
  const registry = { get: () => adapter };
  const http = { send: instant({ statusCode: 200, headers: {}, body: 'ok' }) };
  const secrets = { decrypt: () => 'http://127.0.0.1:1/hook' };
  const limiter = { acquire: instant({ allowed: true }) };
  const dms = { send: instant({ attempted: false, messaged: [], alreadyMessaged: [], fallback: [], postToChannel: true }) };
  const queues = { connection: { status: 'ready' }, redisReady: true };
  const metrics = metricsFor(load, 'libs/delivery/src/delivery-metrics.js', 'DeliveryMetrics');
  let processor: { process(job: unknown): Promise<unknown> };
  if (existsSync(join(load.root, 'dist', 'libs/delivery/src/deliver.gate.js'))) {
    // Since issue 15: gate, attempt and settle, with the send path in libs/channels.
    const { DeliveryGate } = load('libs/delivery/src/deliver.gate.js');
    const { DeliveryAttempt } = load('libs/delivery/src/deliver.attempt.js');
    const { DeliverySettle } = load('libs/delivery/src/deliver.settle.js');
    const { ChannelSender } = load('libs/channels/src/send/channel-sender.js');
    processor = new DeliverProcessor(
      new DeliveryGate(repository, registry, limiter, metrics, config),
      new DeliveryAttempt(new ChannelSender(registry, http, secrets), dms, metrics),
      new DeliverySettle(repository, limiter, metrics, config),
      queues,
    );
  } else {
    processor = new DeliverProcessor(repository, registry, http, secrets, config, metrics, limiter, dms, queues);
  }
  const job = { id: deliveryId, data: { v: 1, deliveryId }, attemptsMade: 0 };
  return () => processor.process(job);
}

/** CPU time of this process per call (less disturbed than wall time by other work on the machine). */
async function microseconds(call: () => Promise<unknown>): Promise<number> {
  const started = process.cpuUsage();
  for (let i = 0; i < CALLS; i++) await call();
  const used = process.cpuUsage(started);
  return (used.user + used.system) / CALLS;
}

async function main(): Promise<void> {
  if (!BASE) throw new Error('--base=<a built checkout of the earlier commit> is required (see the comment at the top of tools/bench/tracing-off.ts)');
  Logger.overrideLogger(false); // the processor's per-delivery debug line is not what is measured
  const builds = { base: loader(resolve(BASE)), this: loader(resolve(__dirname, '..', '..', '..')) };
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  for (const [name, make] of Object.entries({ intake, relay, attempt })) {
    const calls = { base: make(builds.base), this: make(builds.this) };
    const times: Record<string, number[]> = { base: [], this: [] };
    await microseconds(calls.base); // warm-up
    await microseconds(calls.this);
    for (let r = 0; r < ROUNDS; r++)
      for (const build of r % 2 ? (['this', 'base'] as const) : (['base', 'this'] as const)) times[build].push(await microseconds(calls[build]));
    const [b, t] = [median(times.base), median(times.this)];
    process.stdout.write(
      `${name.padEnd(8)} base ${b.toFixed(2)} µs CPU/call, this build (tracing off) ${t.toFixed(2)} µs CPU/call, ${t >= b ? '+' : ''}${(t - b).toFixed(2)} µs (${(((t - b) / b) * 100).toFixed(1)} %)\n`,
    );
  }
  process.exit(0);
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack ?? err}\n`);
  process.exit(1);
});
