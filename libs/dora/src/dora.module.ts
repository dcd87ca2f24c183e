import { Module } from '@nestjs/common';
import { PersistenceModule } from '@herald/persistence';
import { DoraController } from './dora.controller';
import { DoraDetailsController } from './details/dora-details.controller';
import { DoraDetailsService } from './details/dora-details.service';
import { DoraQueries } from './dora.queries';
import { DoraService } from './dora.service';

/** `GET /v1/projects/{key}/dora` on the gateway (docs/contract.md §8). */
@Module({
  imports: [PersistenceModule],
  controllers: [DoraController, DoraDetailsController],
  providers: [DoraQueries, DoraService, DoraDetailsService],
  exports: [DoraService],
})
export class DoraModule {}
