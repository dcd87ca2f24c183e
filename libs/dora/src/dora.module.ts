import { Module } from '@nestjs/common';
import { PersistenceModule } from '@herald/persistence';
import { DoraController } from './dora.controller';
import { DoraQueries } from './dora.queries';
import { DoraService } from './dora.service';

/** `GET /v1/projects/{key}/dora` on the gateway (SPEC §8). */
@Module({
  imports: [PersistenceModule],
  controllers: [DoraController],
  providers: [DoraQueries, DoraService],
  exports: [DoraService],
})
export class DoraModule {}
