import { Module, type DynamicModule } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { DeliverProcessor, DeliveryModule, OutboxRelay } from '@herald/delivery';
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
import { QueueBacklogReporter, QueueModule, RedisProbe } from '@herald/queue';

/** The delivery worker: BullMQ processors; its HTTP port serves health and metrics only. */
@Module({})
export class DeliveryWorkerModule {
  static forRoot(config: HeraldConfig): DynamicModule {
    return {
      module: DeliveryWorkerModule,
      imports: [
        ConfigModule.forRoot(config, 'delivery-worker'),
        loggingModule(config, 'delivery-worker'),
        MetricsModule,
        AuthDefenseModule,
        PersistenceModule,
        QueueModule,
        DeliveryModule,
        // /healthz turns 503 when the relay or a job makes no progress for several delivery timeouts.
        HealthModule.forRoot({
          imports: [PersistenceModule, QueueModule, DeliveryModule],
          probes: [PostgresProbe, RedisProbe],
          liveness: [OutboxRelay, DeliverProcessor],
        }),
      ],
      // The backlog KEDA scales the workers on (docs/kubernetes.md).
      providers: [{ provide: PROJECT_KEY_RESOLVER, useExisting: ApiKeyRepository }, { provide: APP_GUARD, useClass: AuthGuard }, QueueBacklogReporter],
    };
  }
}
