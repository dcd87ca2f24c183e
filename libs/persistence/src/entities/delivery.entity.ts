import { Column, Entity, Index, PrimaryColumn, Unique } from 'typeorm';
import type { DeliveryStatus } from '@herald/domain';

/** One (event, webhook) pair. Its id is the `webhook-id` receivers see on every attempt. */
@Entity({ name: 'deliveries' })
@Unique('deliveries_event_webhook', ['eventId', 'webhookId'])
@Index('deliveries_project', ['projectId', 'id'])
@Index('deliveries_webhook', ['webhookId', 'id'])
@Index('deliveries_finished_badly', ['projectId', 'status', 'id'], { where: "status IN ('failed', 'dead')" })
@Index('deliveries_unfinished', ['projectId', 'id'], { where: "status = 'pending'" })
export class DeliveryEntity {
  @PrimaryColumn({ type: 'uuid', default: () => 'herald_uuid_v7()' })
  id: string;

  @Column({ name: 'project_id', type: 'integer' })
  projectId: number;

  @Column({ name: 'event_id', type: 'uuid' })
  eventId: string;

  @Column({ name: 'webhook_id', type: 'uuid' })
  webhookId: string;

  @Column({ name: 'event_type', type: 'text' })
  eventType: string;

  /**
   * As stored: `delivering` is not stored here but derived (see `deliveryStatus`), so that starting
   * an attempt changes no indexed column.
   */
  @Column({ type: 'text', default: 'pending' })
  status: Exclude<DeliveryStatus, 'delivering'>;

  /** When the attempt in progress started; null when none is. */
  @Column({ name: 'attempt_started_at', type: 'timestamptz', nullable: true })
  attemptStartedAt: Date | null;

  @Column({ name: 'attempt_count', type: 'integer', default: 0 })
  attemptCount: number;

  /** The attempt chain in progress: 0 for the first, n after the n-th replay. */
  @Column({ type: 'integer', default: 0 })
  replay: number;

  @Column({ name: 'next_attempt_at', type: 'timestamptz', nullable: true })
  nextAttemptAt: Date | null;

  @Column({ name: 'last_error', type: 'text', nullable: true })
  lastError: string | null;

  @Column({ name: 'created_at', type: 'timestamptz', default: () => 'now()' })
  createdAt: Date;

  @Column({ name: 'updated_at', type: 'timestamptz', default: () => 'now()' })
  updatedAt: Date;

  @Column({ name: 'delivered_at', type: 'timestamptz', nullable: true })
  deliveredAt: Date | null;

  /**
   * What the delivery is about (`issue:<id>`, `deployment:<id>`, `rollout:<id>`), set at fan-out
   * for webhooks with `ordering: subject` (a trigger; migration 1733700000000); null otherwise.
   */
  @Column({ type: 'text', nullable: true })
  subject: string | null;

  /** Whether a digest may carry it (its webhook has one; not a direct-message event of a DM webhook). */
  @Column({ type: 'boolean', default: false })
  digestible: boolean;
}

/** docs/contract.md §6.2's status: a pending delivery whose attempt has started is `delivering`. */
export function deliveryStatus(d: Pick<DeliveryEntity, 'status' | 'attemptStartedAt'>): DeliveryStatus {
  return d.status === 'pending' && d.attemptStartedAt ? 'delivering' : d.status;
}
