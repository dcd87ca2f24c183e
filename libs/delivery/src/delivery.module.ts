import { Module } from '@nestjs/common';
import { ChannelsModule } from '@herald/channels';
import { PersistenceModule } from '@herald/persistence';
import { MetricsModule, SecretBox } from '@herald/platform';
import { QueueModule } from '@herald/queue';
import { DeliverProcessor } from './deliver.processor';
import { DeliveryWorkerService } from './delivery-worker.service';
import { FanoutProcessor } from './fanout.processor';
import { Reconciler } from './reconciler';

@Module({
  imports: [PersistenceModule, QueueModule, ChannelsModule, MetricsModule],
  providers: [SecretBox, FanoutProcessor, DeliverProcessor, DeliveryWorkerService, Reconciler],
})
export class DeliveryModule {}
