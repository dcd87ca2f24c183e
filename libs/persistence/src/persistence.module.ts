import { Injectable, Module, type OnApplicationShutdown } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { APP_NAME, HeraldConfig, type ReadinessProbe } from '@herald/platform';
import { CoherentCaches } from './cache/invalidation';
import { openDatabase } from './data-source';
import { ApiKeyRepository } from './repositories/api-key.repository';
import { ConnectionRepository } from './repositories/connection.repository';
import { DeliveryRepository } from './repositories/delivery.repository';
import { DmRecipientRepository } from './repositories/dm-recipient.repository';
import { ImIntegrationRepository } from './repositories/im-integration.repository';
import { DevLakeRepository } from './repositories/devlake.repository';
import { EventRepository } from './repositories/event.repository';
import { OutboxRepository } from './repositories/outbox.repository';
import { ProjectRepository } from './repositories/project.repository';
import { WebhookRepository } from './repositories/webhook.repository';

/** `/readyz` probe: one round trip to Postgres. */
@Injectable()
export class PostgresProbe implements ReadinessProbe {
  readonly name = 'postgres';
  constructor(private readonly db: DataSource) {}
  async check(): Promise<void> {
    await this.db.query('SELECT 1');
  }
}

@Injectable()
class DataSourceCloser implements OnApplicationShutdown {
  private closing: Promise<void> | null = null;
  constructor(private readonly db: DataSource) {}
  /** Once, however often it is called (pg refuses to end a pool twice). */
  onApplicationShutdown(): Promise<void> {
    this.closing ??= this.db.isInitialized ? this.db.destroy() : Promise.resolve();
    return this.closing;
  }
}

const REPOSITORIES = [
  ProjectRepository,
  ApiKeyRepository,
  WebhookRepository,
  EventRepository,
  DeliveryRepository,
  OutboxRepository,
  ConnectionRepository,
  DevLakeRepository,
  ImIntegrationRepository,
  DmRecipientRepository,
];

/** Opens Postgres (creating the database and running migrations) and provides the repositories. */
@Module({
  providers: [
    {
      provide: DataSource,
      inject: [HeraldConfig, APP_NAME],
      useFactory: async (config: HeraldConfig, appName: string) => {
        try {
          return await openDatabase({ url: config.databaseUrl, poolSize: config.dbPoolSize, applicationName: `herald-${appName}` });
        } catch (err) {
          // Thrown with the hint, not logged beside the bare error: whatever reports the failed boot shows one message saying what to do.
          throw new Error(
            `cannot open Postgres at ${config.databaseUrl.replace(/\/\/[^/@]*@/, '//***@')}: ${(err as Error).message}. ` +
              'Start it (Debian: apt-get install -y postgresql && pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start, ' +
              'or docker compose -f docker/compose.yml up -d postgres) or set DATABASE_URL.',
            { cause: err },
          );
        }
      },
    },
    DataSourceCloser,
    PostgresProbe,
    CoherentCaches,
    ...REPOSITORIES,
  ],
  exports: [DataSource, PostgresProbe, CoherentCaches, ...REPOSITORIES],
})
export class PersistenceModule {}
