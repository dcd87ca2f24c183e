import { Module } from '@nestjs/common';
import { PersistenceModule } from '@herald/persistence';
import { AuthDefenseModule, MetricsModule } from '@herald/platform';
import { IntakeMetrics } from '../intake-metrics';
import { DevLakeAuth } from './devlake-auth';
import { DevLakeController } from './devlake.controller';
import { DevLakeIntakeService } from './devlake-intake.service';

/** DevLake-compatible incoming webhooks (docs/contract.md §5.2), served by ingestion. */
@Module({
  imports: [PersistenceModule, MetricsModule, AuthDefenseModule],
  controllers: [DevLakeController],
  providers: [DevLakeAuth, DevLakeIntakeService, IntakeMetrics],
})
export class DevLakeIntakeModule {}
