import { Injectable, Logger, Module, type OnApplicationShutdown } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { APP_NAME, HeraldConfig, PublicProbeFailure, type ReadinessProbe } from '@herald/platform';
import { CoherentCaches } from './cache/invalidation';
import { openDatabase, pendingMigrations, sessionSettingProblem } from './data-source';
import { PG_UNDEFINED_DATABASE, pgCode } from './pg-errors';
import { ApiKeyRepository } from './repositories/api-key.repository';
import { ConnectionRepository } from './repositories/connection.repository';
import { DeliveryRepository } from './repositories/delivery.repository';
import { DeliveryLanesRepository } from './repositories/delivery-lanes.repository';
import { DmRecipientRepository } from './repositories/dm-recipient.repository';
import { ImIntegrationRepository } from './repositories/im-integration.repository';
import { DevLakeRepository } from './repositories/devlake.repository';
import { EventRepository } from './repositories/event.repository';
import { OutboxRepository } from './repositories/outbox.repository';
import { ProjectRepository } from './repositories/project.repository';
import { WebhookRepository } from './repositories/webhook.repository';
import { RetentionRepository } from './retention/retention.repository';

/**
 * `/readyz` probe: one round trip to Postgres. An app that does not migrate at start
 * (HERALD_MIGRATE_ON_START=false) is also not ready until the schema has every migration it knows,
 * and says which are missing; once they are there it stops looking (a schema never goes back).
 */
@Injectable()
export class PostgresProbe implements ReadinessProbe {
  readonly name = 'postgres';
  private schemaCurrent: boolean;
  constructor(
    private readonly db: DataSource,
    config: HeraldConfig,
  ) {
    this.schemaCurrent = config.migrateOnStart;
  }
  async check(): Promise<void> {
    await this.db.query('SELECT 1');
    if (this.schemaCurrent) return;
    const missing = await pendingMigrations(this.db);
    if (missing.length > 0) {
      throw new PublicProbeFailure(
        `the database schema is behind this version: migration${missing.length > 1 ? 's' : ''} ${missing.join(', ')} not applied. ` +
          'HERALD_MIGRATE_ON_START=false leaves migrating to the migrations Job (docs/kubernetes.md) or `npm run migrate`; run it',
      );
    }
    this.schemaCurrent = true;
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
  RetentionRepository,
  DeliveryLanesRepository,
];

/** Opens Postgres (creating the database and running migrations) and provides the repositories. */
@Module({
  providers: [
    {
      provide: DataSource,
      inject: [HeraldConfig, APP_NAME],
      useFactory: async (config: HeraldConfig, appName: string) => {
        let db: DataSource;
        try {
          db = await openDatabase(
            {
              url: config.databaseUrl,
              poolSize: config.dbPoolSize,
              applicationName: `herald-${appName}`,
              poolMode: config.databasePoolMode,
              statementTimeoutMs: config.statementTimeoutMs,
              idleInTransactionTimeoutMs: config.idleInTransactionTimeoutMs,
            },
            { migrate: config.migrateOnStart },
          );
        } catch (err) {
          if (!config.migrateOnStart && pgCode(err) === PG_UNDEFINED_DATABASE) {
            throw new Error(
              `${(err as Error).message} at ${config.databaseUrl.replace(/\/\/[^/@]*@/, '//***@')}: with HERALD_MIGRATE_ON_START=false the migrations ` +
                '(the migrations Job, or `npm run migrate`) create it; run them first',
              { cause: err },
            );
          }
          // Thrown with the hint, not logged beside the bare error: whatever reports the failed boot shows one message saying what to do.
          throw new Error(
            `cannot open Postgres at ${config.databaseUrl.replace(/\/\/[^/@]*@/, '//***@')}: ${(err as Error).message}. ` +
              'Start it (Debian: apt-get install -y postgresql && pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start, ' +
              'or docker compose -f docker/compose.yml up -d postgres) or set DATABASE_URL.',
            { cause: err },
          );
        }
        if (config.databasePoolMode === 'transaction') {
          const problem = await sessionSettingProblem(db, config);
          if (problem) new Logger('PersistenceModule').warn(problem);
        }
        return db;
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
