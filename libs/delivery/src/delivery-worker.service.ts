import { Injectable, Logger, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import type { Worker } from 'bullmq';
import { QUEUES, deliverJobChain, type DeliverJobV1 } from '@herald/contracts';
import { DeliveryRepository } from '@herald/persistence';
import { HeraldConfig } from '@herald/platform';
import { QueueDepthReporter, createWorker } from '@herald/queue';
import { DeliverProcessor } from './deliver.processor';
import { Reconciler } from './reconciler';
import { ScheduledPurge } from './retention';

/** Runs the delivery worker (the outbox relay feeds it and starts by itself), the reconciler and the retention purge. */
@Injectable()
export class DeliveryWorkerService implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('DeliveryWorker');
  private workers: Worker[] = [];

  constructor(
    private readonly config: HeraldConfig,
    private readonly deliver: DeliverProcessor,
    private readonly deliveries: DeliveryRepository,
    private readonly depth: QueueDepthReporter,
    private readonly reconciler: Reconciler,
    private readonly purge: ScheduledPurge,
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
    this.reconciler.start();
    this.purge.start();
    this.logger.log(`workers started (concurrency ${this.config.workerConcurrency}, queue prefix "${this.config.queuePrefix}")`);
  }

  /** Stops taking jobs and waits for the ones in flight (each bounded by the delivery timeout). */
  async onModuleDestroy(): Promise<void> {
    await Promise.allSettled(this.workers.map((w) => w.close()));
  }
}
