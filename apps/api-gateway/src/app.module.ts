import { Module, type DynamicModule } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { DoraModule } from '@herald/dora';
import { ManagementModule } from '@herald/management';
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
import { QueueModule, RedisProbe } from '@herald/queue';

/** The public edge: management API, auth, OpenAPI; intake paths are forwarded to ingestion. */
@Module({})
export class GatewayModule {
  static forRoot(config: HeraldConfig): DynamicModule {
    return {
      module: GatewayModule,
      imports: [
        ConfigModule.forRoot(config, 'api-gateway'),
        loggingModule(config, 'api-gateway'),
        MetricsModule,
        AuthDefenseModule,
        PersistenceModule,
        QueueModule,
        ManagementModule,
        DoraModule,
        HealthModule.forRoot({ imports: [PersistenceModule, QueueModule], probes: [PostgresProbe, RedisProbe] }),
      ],
      providers: [
        { provide: PROJECT_KEY_RESOLVER, useExisting: ApiKeyRepository },
        { provide: APP_GUARD, useClass: AuthGuard },
      ],
    };
  }
}
