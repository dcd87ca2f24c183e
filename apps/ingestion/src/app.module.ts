import { Module, type DynamicModule } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { DevLakeIntakeModule, IntakeModule } from '@herald/intake';
import { ApiKeyRepository, PersistenceModule, PostgresProbe } from '@herald/persistence';
import { AuthDefenseModule, AuthGuard, ConfigModule, HealthModule, MetricsModule, PROJECT_KEY_RESOLVER, loggingModule, type HeraldConfig } from '@herald/platform';
import { QueueModule, RedisProbe } from '@herald/queue';

/** Intake: the events API (and the DevLake-compatible routes); validate, persist, enqueue. */
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
        QueueModule,
        IntakeModule,
        DevLakeIntakeModule,
        HealthModule.forRoot({ imports: [PersistenceModule, QueueModule], probes: [PostgresProbe, RedisProbe] }),
      ],
      providers: [{ provide: PROJECT_KEY_RESOLVER, useExisting: ApiKeyRepository }, { provide: APP_GUARD, useClass: AuthGuard }],
    };
  }
}
