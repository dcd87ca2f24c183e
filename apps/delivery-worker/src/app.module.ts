import { Module, type DynamicModule } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { DeliveryModule } from '@herald/delivery';
import { DirectMessagesModule } from '@herald/channels';
import { ApiKeyRepository, DmRecipientRepository, ImIntegrationRepository, PersistenceModule, PostgresProbe } from '@herald/persistence';
import { AuthGuard, ConfigModule, HealthModule, MetricsModule, PROJECT_KEY_RESOLVER, loggingModule, type HeraldConfig } from '@herald/platform';
import { QueueModule, RedisProbe } from '@herald/queue';

/** The delivery worker: BullMQ processors; its HTTP port serves health and metrics only. */
@Module({})
export class DeliveryWorkerModule {
  static forRoot(config: HeraldConfig): DynamicModule {
    return {
      module: DeliveryWorkerModule,
      imports: [
        ConfigModule.forRoot(config),
        loggingModule(config, 'delivery-worker'),
        MetricsModule,
        PersistenceModule,
        QueueModule,
        DeliveryModule,
        // Direct messages (issue 5); the delivery processor injects DirectMessenger from here.
        DirectMessagesModule.forRoot({ imports: [PersistenceModule], integrations: ImIntegrationRepository, ledger: DmRecipientRepository }),
        HealthModule.forRoot({ imports: [PersistenceModule, QueueModule], probes: [PostgresProbe, RedisProbe] }),
      ],
      providers: [{ provide: PROJECT_KEY_RESOLVER, useExisting: ApiKeyRepository }, { provide: APP_GUARD, useClass: AuthGuard }],
    };
  }
}
