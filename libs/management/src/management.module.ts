import { Module } from '@nestjs/common';
import { ChannelsModule } from '@herald/channels';
import { PersistenceModule } from '@herald/persistence';
import { SecretBox } from '@herald/platform';
import { ConnectionsController } from './connections/connections.controller';
import { ProjectsController } from './projects/projects.controller';
import { QueriesController } from './queries/queries.controller';
import { WebhooksController } from './webhooks/webhooks.controller';
import { WebhooksService } from './webhooks/webhooks.service';

@Module({
  imports: [PersistenceModule, ChannelsModule],
  controllers: [ProjectsController, WebhooksController, QueriesController, ConnectionsController],
  providers: [SecretBox, WebhooksService],
})
export class ManagementModule {}
