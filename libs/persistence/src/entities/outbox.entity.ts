import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';

export type OutboxKind = 'event' | 'delivery';

/**
 * Work committed in Postgres that still has to reach the queue. A row is written in the same
 * transaction as what it refers to, and deleted by the relay once the job is in Redis.
 */
@Entity({ name: 'outbox' })
export class OutboxEntity {
  @PrimaryGeneratedColumn('identity', { type: 'bigint', generatedIdentity: 'ALWAYS' })
  id: string;

  @Column({ type: 'text' })
  kind: OutboxKind;

  /** The event id (kind `event`) or delivery id (kind `delivery`). */
  @Column({ type: 'uuid' })
  ref: string;

  /** For deliveries: which attempt chain (0 = first, n = n-th replay). */
  @Column({ type: 'integer', default: 0 })
  replay: number;

  @Column({ name: 'created_at', type: 'timestamptz', default: () => 'now()' })
  createdAt: Date;
}
