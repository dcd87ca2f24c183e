import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';

export type OutboxKind = 'event' | 'delivery';

/**
 * Work committed in Postgres that still has to reach the queue. A row is written in the same
 * transaction as what it refers to, and deleted by the relay once its
 * delivery jobs are in Redis (for an event: once it is fanned out and its deliveries are queued).
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

  /** Set while a relay works on the row; a row whose lease ended is free again (its relay died). */
  @Column({ name: 'leased_until', type: 'timestamptz', nullable: true })
  leasedUntil: Date | null;

  /** The W3C traceparent of the span that wrote the row (tracing on), which the relay's span continues. */
  @Column({ type: 'text', nullable: true })
  traceparent: string | null;

  @Column({ name: 'created_at', type: 'timestamptz', default: () => 'now()' })
  createdAt: Date;
}
