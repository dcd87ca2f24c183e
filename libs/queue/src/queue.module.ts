import { Module } from '@nestjs/common';
import { PersistenceModule } from '@herald/persistence';
import { MetricsModule } from '@herald/platform';
import { OutboxMetrics } from './outbox-metrics';
import { QueueMetrics } from './queue-metrics';
import { HeraldQueues, QueueDepthReporter, RedisProbe } from './herald-queues';
import { WebhookRateLimiter } from './rate-limiter';

/** Queues, the rate limiter and the Redis probe. The outbox relay is not here: only the worker runs it. */
@Module({
  imports: [PersistenceModule, MetricsModule],
  providers: [HeraldQueues, RedisProbe, QueueDepthReporter, WebhookRateLimiter, QueueMetrics, OutboxMetrics],
  exports: [HeraldQueues, RedisProbe, QueueDepthReporter, WebhookRateLimiter, QueueMetrics, OutboxMetrics],
})
export class QueueModule {}
