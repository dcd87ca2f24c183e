import { Module, type DynamicModule } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { DevLakeIntakeModule, IntakeModule } from '@herald/intake';
import { ApiKeyRepository, PersistenceModule, PostgresProbe } from '@herald/persistence';
import {
  AuthDefenseModule,
  AuthGuard,
  ConfigModule,
  HealthModule,
  MetricsModule,
  PROJECT_KEY_RESOLVER,
  loggingModule,
  type HeraldConfig,
} from '@herald/platform';

/**
 * Intake: the events API (and the DevLake-compatible routes); validate, then commit the event and
 * its outbox row to Postgres. Intake never talks to Redis (the worker's relay moves committed work
 * there), so it loads no queue module and `/readyz` asks Postgres alone: a Redis outage leaves
 * intake ready and accepting.
 */
@Module({})
export class IngestionModule {
  static forRoot(config: HeraldConfig): DynamicModule {
    return {
      module: IngestionModule,
      imports: [
        ConfigModule.forRoot(config, 'ingestion'),
        loggingModule(config, 'ingestion'),
        MetricsModule,
        AuthDefenseModule,
        PersistenceModule,
        IntakeModule,
        DevLakeIntakeModule,
        HealthModule.forRoot({ imports: [PersistenceModule], probes: [PostgresProbe] }),
      ],
      providers: [
        { provide: PROJECT_KEY_RESOLVER, useExisting: ApiKeyRepository },
        { provide: APP_GUARD, useClass: AuthGuard },
      ],
    };
  }
}
