import { Module } from '@nestjs/common';
import { PersistenceModule } from '@herald/persistence';
import { MetricsModule } from '@herald/platform';
import { QueueModule } from '@herald/queue';
import { EventsIntakeController } from './events/events-intake.controller';
import { EventsIntakeService } from './events/events-intake.service';

@Module({
  imports: [PersistenceModule, QueueModule, MetricsModule],
  controllers: [EventsIntakeController],
  providers: [EventsIntakeService],
  exports: [EventsIntakeService],
})
export class IntakeModule {}
