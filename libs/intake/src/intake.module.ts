import { Module } from '@nestjs/common';
import { PersistenceModule } from '@herald/persistence';
import { MetricsModule } from '@herald/platform';
import { IntakeMetrics } from './intake-metrics';
import { EventsIntakeController } from './events/events-intake.controller';
import { EventsIntakeService } from './events/events-intake.service';

@Module({
  imports: [PersistenceModule, MetricsModule],
  controllers: [EventsIntakeController],
  providers: [EventsIntakeService, IntakeMetrics],
  exports: [EventsIntakeService],
})
export class IntakeModule {}
