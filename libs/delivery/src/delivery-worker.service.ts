import { Injectable, Logger, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import type { Worker } from 'bullmq';
import { QUEUES, deliverJobChain, type DeliverJobV1 } from '@herald/contracts';
import { DeliveryRepository, EventRepository } from '@herald/persistence';
import { HeraldConfig } from '@herald/platform';
import { QueueDepthReporter, createWorker } from '@herald/queue';
import { DeliverProcessor } from './deliver.processor';
import { Reconciler } from './reconciler';

const MAINTENANCE_INTERVAL_MS = 3600_000;

/** Runs the delivery worker (the outbox relay feeds it and starts by itself), and hourly housekeeping. */
@Injectable()
export class DeliveryWorkerService implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('DeliveryWorker');
  private workers: Worker[] = [];
  private maintenance?: NodeJS.Timeout;

  constructor(
    private readonly config: HeraldConfig,
    private readonly deliver: DeliverProcessor,
    private readonly deliveries: DeliveryRepository,
    private readonly events: EventRepository,
    private readonly depth: QueueDepthReporter,
    private readonly reconciler: Reconciler,
  ) {}

  onApplicationBootstrap(): void {
    const deliver = createWorker<DeliverJobV1>(QUEUES.deliver, this.deliver.process, this.config);
    deliver.on('failed', (job, err) => {
      // A job that stalled too often (its worker kept dying) fails without reaching the processor.
      // Only its own chain ends: a replay started meanwhile, or a delivery that finished, stays.
      const replay = job ? deliverJobChain(job.id, job.data.deliveryId) : null;
      if (job && replay !== null && /stalled/i.test(err.message)) {
        void this.deliveries.markDeadAfterStalls(job.data.deliveryId, replay, `worker died during the attempt too many times: ${err.message}`).catch(() => undefined);
      }
    });
    this.workers = [deliver];
    for (const worker of this.workers) void worker.run();
    this.depth.start();
    void this.reconciler.start();
    this.maintenance = setInterval(() => void this.housekeeping(), MAINTENANCE_INTERVAL_MS);
    this.maintenance.unref();
    this.logger.log(`workers started (concurrency ${this.config.workerConcurrency}, queue prefix "${this.config.queuePrefix}")`);
  }

  private async housekeeping(): Promise<void> {
    try {
      await this.events.purgeIdempotencyKeys();
    } catch (err) {
      this.logger.warn(`housekeeping skipped: ${(err as Error).message}`);
    }
  }

  /** Stops taking jobs and waits for the ones in flight (each bounded by the delivery timeout). */
  async onModuleDestroy(): Promise<void> {
    clearInterval(this.maintenance);
    await Promise.allSettled(this.workers.map((w) => w.close()));
  }
}
