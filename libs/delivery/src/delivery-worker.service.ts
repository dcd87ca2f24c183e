import { Injectable, Logger, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import type { Worker } from 'bullmq';
import { DataSource } from 'typeorm';
import { QUEUES, deliverJobChain, type DeliverJobV1 } from '@herald/contracts';
import { DeliveryRepository, pendingMigrations } from '@herald/persistence';
import { HeraldConfig } from '@herald/platform';
import { QueueDepthReporter, createWorker } from '@herald/queue';
import { DeliverProcessor } from './deliver.processor';
import { OutboxRelay } from './outbox-relay';
import { Reconciler } from './reconciler';
import { ScheduledPurge } from './retention';

/** How often a worker whose schema is behind looks again (the migrations Job usually takes seconds). */
export const SCHEMA_POLL_MS = 2000;
/** A wait that goes on is logged again this often (and whenever what is missing changes). */
const SCHEMA_LOG_EVERY_MS = 60_000;

/**
 * Runs the delivery worker: the outbox relay, the reconciler, the BullMQ workers, and the
 * retention purge. With HERALD_MIGRATE_ON_START=false (migrations run by the Kubernetes Job) none of
 * them starts until the database has every migration this release knows: a worker of a new release
 * started before its Job ran would otherwise take jobs and relay rows with statements the old
 * schema cannot run (or, worse, half-run). Meanwhile the app listens, `/readyz` names what is
 * missing, and the log says what it waits for.
 */
@Injectable()
export class DeliveryWorkerService implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('DeliveryWorker');
  private workers: Worker[] = [];
  private stopped = false;
  private starting: Promise<void> = Promise.resolve();
  private wake?: () => void;

  constructor(
    private readonly config: HeraldConfig,
    private readonly db: DataSource,
    private readonly deliver: DeliverProcessor,
    private readonly deliveries: DeliveryRepository,
    private readonly depth: QueueDepthReporter,
    private readonly reconciler: Reconciler,
    private readonly relay: OutboxRelay,
    private readonly purge: ScheduledPurge,
  ) {}

  onApplicationBootstrap(): void {
    // Not awaited: the app listens (health, metrics, readiness) while it waits for the schema.
    this.starting = this.startWhenSchemaCurrent().catch((err: unknown) => {
      this.logger.error(`the delivery worker could not start: ${(err as Error).message}; exiting so the orchestrator restarts it`);
      process.exit(1);
    });
  }

  private async startWhenSchemaCurrent(): Promise<void> {
    // With migrations at start they ran before the app was built (PersistenceModule).
    if (!this.config.migrateOnStart) await this.waitForSchema();
    if (this.stopped) return;
    await this.relay.start();
    if (this.stopped) return;
    const deliver = createWorker<DeliverJobV1>(QUEUES.deliver, this.deliver.process, this.config);
    deliver.on('failed', (job, err) => {
      // A job that stalled too often (its worker kept dying) fails without reaching the processor.
      // Only its own chain ends: a replay started meanwhile, or a delivery that finished, stays.
      const replay = job ? deliverJobChain(job.id, job.data.deliveryId) : null;
      if (job && replay !== null && /stalled/i.test(err.message)) {
        void this.deliveries
          .markDeadAfterStalls(job.data.deliveryId, replay, `worker died during the attempt too many times: ${err.message}`)
          .catch(() => undefined);
      }
    });
    this.workers = [deliver];
    for (const worker of this.workers) void worker.run();
    this.depth.start();
    void this.reconciler.start();
    this.purge.start();
    this.logger.log(`workers started (concurrency ${this.config.workerConcurrency}, queue prefix "${this.config.queuePrefix}")`);
  }

  /** Returns once the schema has every migration this release knows (or the app is stopping). */
  private async waitForSchema(): Promise<void> {
    let reported: string | null = null;
    let loggedAt = 0;
    while (!this.stopped) {
      let problem: string | null;
      try {
        const missing = await pendingMigrations(this.db);
        if (missing.length === 0) {
          if (reported !== null) this.logger.log('the database schema is current now: starting the relay and the workers');
          return;
        }
        problem =
          `not taking jobs: the database schema lacks migration${missing.length > 1 ? 's' : ''} ${missing.join(', ')}, which this release needs. ` +
          'HERALD_MIGRATE_ON_START=false leaves migrating to the migrations Job (docs/kubernetes.md) or `npm run migrate`; ' +
          `the worker starts by itself once they are applied (checking every ${SCHEMA_POLL_MS / 1000} s)`;
      } catch (err) {
        problem = `not taking jobs: cannot read the database schema's migrations (${(err as Error).message}); trying again every ${SCHEMA_POLL_MS / 1000} s`;
      }
      if (problem !== reported || Date.now() - loggedAt >= SCHEMA_LOG_EVERY_MS) {
        this.logger.warn(problem);
        reported = problem;
        loggedAt = Date.now();
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, SCHEMA_POLL_MS);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  }

  /** Stops taking jobs and waits for the ones in flight (each bounded by the delivery timeout). */
  async onModuleDestroy(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    await this.starting;
    await Promise.allSettled(this.workers.map((w) => w.close()));
  }
}
