import { Module } from '@nestjs/common';
import { ChannelsModule } from '@herald/channels';
import { PersistenceModule } from '@herald/persistence';
import { SecretBox } from '@herald/platform';
import { QueueModule } from '@herald/queue';
import { ConsoleApiModule } from './console-api.module';
import { ConnectionsController } from './connections/connections.controller';
import { DeliveryActionsController } from './delivery-actions/delivery-actions.controller';
import { DeliveryActionsService } from './delivery-actions/delivery-actions.service';
import { IntegrationsController } from './integrations/integrations.controller';
import { ProjectsController } from './projects/projects.controller';
import { QueriesController } from './queries/queries.controller';
import { WebhooksController } from './webhooks/webhooks.controller';
import { WebhooksService } from './webhooks/webhooks.service';
import { WebhookPreviewController } from './webhook-preview/webhook-preview.controller';
import { WebhookPreviewService } from './webhook-preview/webhook-preview.service';

@Module({
  imports: [PersistenceModule, ChannelsModule, QueueModule, ConsoleApiModule],
  controllers: [
    ProjectsController,
    WebhooksController,
    QueriesController,
    IntegrationsController,
    ConnectionsController,
    DeliveryActionsController,
    WebhookPreviewController,
  ],
  providers: [SecretBox, WebhooksService, DeliveryActionsService, WebhookPreviewService],
})
export class ManagementModule {}
