import { Module } from '@nestjs/common';
import { PersistenceModule } from '@herald/persistence';
import { MetricsModule } from '@herald/platform';
import { HeraldQueues, QueueDepthReporter, RedisProbe } from './herald-queues';
import { WebhookRateLimiter } from './rate-limiter';

/** Queues, the rate limiter and the Redis probe. The outbox relay is not here: only the worker runs it. */
@Module({
  imports: [PersistenceModule, MetricsModule],
  providers: [HeraldQueues, RedisProbe, QueueDepthReporter, WebhookRateLimiter],
  exports: [HeraldQueues, RedisProbe, QueueDepthReporter, WebhookRateLimiter],
})
export class QueueModule {}
