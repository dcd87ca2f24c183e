import { ApiKeyEntity } from './api-key.entity';
import { DeliveryAttemptEntity } from './delivery-attempt.entity';
import { DeliveryEntity } from './delivery.entity';
import { DmRecipientEntity } from './dm-recipient.entity';
import { ImIntegrationEntity } from './im-integration.entity';
import {
  DevLakeConnectionEntity,
  DevLakeDeploymentCommitEntity,
  DevLakeDeploymentEntity,
  DevLakeIssueEntity,
  DevLakePullRequestEntity,
} from './devlake.entities';
import { EventEntity } from './event.entity';
import { IdempotencyKeyEntity } from './idempotency-key.entity';
import { OutboxEntity } from './outbox.entity';
import { ProjectEntity } from './project.entity';
import { WebhookEntity } from './webhook.entity';

export type { OutboxKind } from './outbox.entity';
export { deliveryStatus } from './delivery.entity';
export { DmRecipientEntity, ImIntegrationEntity };
export { ApiKeyEntity, DeliveryAttemptEntity, DeliveryEntity, EventEntity, IdempotencyKeyEntity, OutboxEntity, ProjectEntity, WebhookEntity };

export { DevLakeConnectionEntity, DevLakeDeploymentCommitEntity, DevLakeDeploymentEntity, DevLakeIssueEntity, DevLakePullRequestEntity };

export const ENTITIES = [
  ProjectEntity,
  ApiKeyEntity,
  WebhookEntity,
  EventEntity,
  IdempotencyKeyEntity,
  OutboxEntity,
  DeliveryEntity,
  DeliveryAttemptEntity,
  DevLakeConnectionEntity,
  DevLakeDeploymentEntity,
  DevLakeDeploymentCommitEntity,
  DevLakeIssueEntity,
  DevLakePullRequestEntity,
  ImIntegrationEntity,
  DmRecipientEntity,
];
