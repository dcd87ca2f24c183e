import { InitialSchema1732300000000 } from './1732300000000-initial-schema';
import { DevLakeDora1732500000000 } from './1732500000000-devlake-dora';
import { ImIntegrations1732600000000 } from './1732600000000-im-integrations';
import { DeliveryEngine1732700000000 } from './1732700000000-delivery-engine';
import { OutboxFanout1732800000000 } from './1732800000000-outbox-fanout';
import { CheapAttempts1732900000000 } from './1732900000000-cheap-attempts';
import { AttemptOwnership1733000000000 } from './1733000000000-attempt-ownership';
import { ConnectionNamesPerProject1733100000000 } from './1733100000000-connection-names-per-project';
import { Retention1733200000000 } from './1733200000000-retention';
import { OutboxTraceContext1733400000000 } from './1733400000000-outbox-trace-context';
import { ImIntegrationApiBase1733500000000 } from './1733500000000-im-integration-api-base';
import { WebhookFiltersTemplates1733600000000 } from './1733600000000-webhook-filters-templates';
import { DigestsAndOrdering1733700000000 } from './1733700000000-digests-and-ordering';
import { CheaperDeliveryWrites1733800000000 } from './1733800000000-cheaper-delivery-writes';

/** Every migration, in order. A new migration is a new file plus one line here. */
export const MIGRATIONS = [
  InitialSchema1732300000000,
  DevLakeDora1732500000000,
  ImIntegrations1732600000000,
  DeliveryEngine1732700000000,
  OutboxFanout1732800000000,
  CheapAttempts1732900000000,
  AttemptOwnership1733000000000,
  ConnectionNamesPerProject1733100000000,
  Retention1733200000000,
  OutboxTraceContext1733400000000,
  ImIntegrationApiBase1733500000000,
  WebhookFiltersTemplates1733600000000,
  DigestsAndOrdering1733700000000,
  CheaperDeliveryWrites1733800000000,
];
