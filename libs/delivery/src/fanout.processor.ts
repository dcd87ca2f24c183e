import { Injectable, Logger } from '@nestjs/common';
import type { Job } from 'bullmq';
import { parseFanoutJob, type FanoutJobV1 } from '@herald/contracts';
import { DeliveryRepository } from '@herald/persistence';
import { HeraldQueues } from '@herald/queue';

/**
 * Turns accepted events into deliveries: one per (event, subscribed enabled webhook) pair, then
 * one delivery job each. Safe to run twice for the same events (the pair is unique, and only
 * never-queued deliveries are enqueued again, under their stable job ids).
 */
@Injectable()
export class FanoutProcessor {
  private readonly logger = new Logger('Fanout');

  constructor(private readonly deliveries: DeliveryRepository, private readonly queues: HeraldQueues) {}

  readonly process = async (job: Job<FanoutJobV1>): Promise<number> => {
    const { eventIds } = parseFanoutJob(job.data);
    const ids = await this.deliveries.fanOut(eventIds);
    await this.queues.enqueueDeliveries(ids.map((deliveryId) => ({ deliveryId, replay: 0 })));
    this.logger.debug({ events: eventIds.length, deliveries: ids.length }, 'fanned out');
    return ids.length;
  };
}
