import { Module } from '@nestjs/common';
import { PersistenceModule } from '@herald/persistence';
import { MetricsModule } from '@herald/platform';
import { WorkerCoordination } from './coordination';
import { QueueMetrics } from './queue-metrics';
import { HeraldQueues, QueueDepthReporter, RedisProbe } from './herald-queues';
import { WebhookRateLimiter } from './rate-limiter';

/** Redis and BullMQ plumbing: the queues, the rate limiter, the Redis probe and the queue metrics. What runs on them (relay, reconciler, processor) is libs/delivery. */
@Module({
  imports: [PersistenceModule, MetricsModule],
  providers: [HeraldQueues, RedisProbe, QueueDepthReporter, WebhookRateLimiter, QueueMetrics, WorkerCoordination],
  exports: [HeraldQueues, RedisProbe, QueueDepthReporter, WebhookRateLimiter, QueueMetrics, WorkerCoordination],
})
export class QueueModule {}
