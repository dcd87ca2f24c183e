import { Module } from '@nestjs/common';
import { ChannelsModule } from '@herald/channels';
import { PersistenceModule } from '@herald/persistence';
import { SecretBox } from '@herald/platform';
import { QueueModule } from '@herald/queue';
import { ConnectionSamplesController } from './connection-samples/connection-samples.controller';
import { DeliveryRequestsController } from './delivery-requests/delivery-requests.controller';
import { ImStatusController } from './im-status/im-status.controller';
import { ImTester } from './im-status/im-test';
import { SessionController } from './session/session.controller';
import { StatsController } from './stats/stats.controller';
import { StatsQueries } from './stats/stats.queries';
import { TestSender } from './webhook-trial/test-sender';
import { WebhookTrialController } from './webhook-trial/webhook-trial.controller';

/**
 * Routes the web console needs beyond the core management API (issue 14; docs/contract.md §3.12): who am I, figures next to resources,
 * a test of an unsaved webhook, connection samples, attempt request headers, IM status. Every
 * one is in the OpenAPI description and follows the tenancy rule of the others.
 */
@Module({
  imports: [PersistenceModule, ChannelsModule, QueueModule],
  controllers: [SessionController, StatsController, WebhookTrialController, ConnectionSamplesController, DeliveryRequestsController, ImStatusController],
  providers: [SecretBox, StatsQueries, TestSender, ImTester],
  exports: [TestSender],
})
export class ConsoleApiModule {}
