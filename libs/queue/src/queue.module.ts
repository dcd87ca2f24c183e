import { Module } from '@nestjs/common';
import { PersistenceModule } from '@herald/persistence';
import { MetricsModule } from '@herald/platform';
import { HeraldQueues, QueueDepthReporter, RedisProbe } from './herald-queues';
import { WebhookRateLimiter } from './rate-limiter';
import { OutboxRelay } from './outbox-relay';

@Module({
  imports: [PersistenceModule, MetricsModule],
  providers: [HeraldQueues, RedisProbe, OutboxRelay, QueueDepthReporter, WebhookRateLimiter],
  exports: [HeraldQueues, RedisProbe, OutboxRelay, QueueDepthReporter, WebhookRateLimiter],
})
export class QueueModule {}
