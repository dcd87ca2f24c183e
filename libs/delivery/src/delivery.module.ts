import { Module } from '@nestjs/common';
import { ChannelsModule, DirectMessagesModule } from '@herald/channels';
import { DmRecipientRepository, ImIntegrationRepository, PersistenceModule } from '@herald/persistence';
import { MetricsModule, SecretBox } from '@herald/platform';
import { QueueModule } from '@herald/queue';
import { DeliveryAttempt } from './deliver.attempt';
import { DeliveryGate } from './deliver.gate';
import { DeliveryLanes } from './deliver.lanes';
import { DeliverProcessor } from './deliver.processor';
import { DeliverySettle } from './deliver.settle';
import { DeliveryMetrics, RetentionMetrics } from './delivery-metrics';
import { OutboxMetrics } from './outbox-metrics';
import { OutboxRelay } from './outbox-relay';
import { DeliveryWorkerService } from './delivery-worker.service';
import { Reconciler } from './reconciler';
import { ScheduledPurge } from './retention';

@Module({
  imports: [
    PersistenceModule,
    QueueModule,
    ChannelsModule,
    MetricsModule,
    DirectMessagesModule.forRoot({ imports: [PersistenceModule], integrations: ImIntegrationRepository, ledger: DmRecipientRepository }),
  ],
  providers: [
    SecretBox,
    DeliveryMetrics,
    RetentionMetrics,
    OutboxMetrics,
    OutboxRelay,
    DeliveryLanes,
    DeliveryGate,
    DeliveryAttempt,
    DeliverySettle,
    DeliverProcessor,
    DeliveryWorkerService,
    Reconciler,
    ScheduledPurge,
  ],
  // The watchdog (HealthModule's liveness) follows the relay's passes and the jobs in progress.
  exports: [OutboxRelay, DeliverProcessor],
})
export class DeliveryModule {}
