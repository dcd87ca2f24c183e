import { Column, Entity, PrimaryColumn } from 'typeorm';
import type { AttemptOutcome } from '@herald/domain';

/** One HTTP attempt of a delivery, kept for the delivery log; keyed by (delivery, number). */
@Entity({ name: 'delivery_attempts' })
export class DeliveryAttemptEntity {
  @PrimaryColumn({ name: 'delivery_id', type: 'uuid' })
  deliveryId: string;

  /** 1-based, counted over every attempt chain of the delivery (replays continue the count). */
  @PrimaryColumn({ type: 'integer' })
  number: number;

  @Column({ name: 'started_at', type: 'timestamptz' })
  startedAt: Date;

  @Column({ name: 'duration_ms', type: 'integer' })
  durationMs: number;

  @Column({ name: 'status_code', type: 'integer', nullable: true })
  statusCode: number | null;

  @Column({ type: 'text' })
  outcome: AttemptOutcome;

  @Column({ type: 'text', nullable: true })
  error: string | null;

  /**
   * How many consecutive answers this row stands for: consecutive 429s that used no attempt share
   * one row (the other columns describe the latest of them), so the log stays bounded.
   */
  @Column({ type: 'integer', default: 1 })
  repeats: number;

  /** When the latest of `repeats` started (null for a single answer). */
  @Column({ name: 'last_started_at', type: 'timestamptz', nullable: true })
  lastStartedAt: Date | null;

  /** The first 1 KiB of the response body. */
  @Column({ name: 'response_body', type: 'text', nullable: true })
  responseBody: string | null;

  /** A digest's message (issue 16): the delivery that led it (this one for the leader); null otherwise. */
  @Column({ name: 'digest_delivery_id', type: 'uuid', nullable: true })
  digestDeliveryId: string | null;

  /** The leading delivery's attempt number that sent the digest. */
  @Column({ name: 'digest_attempt', type: 'integer', nullable: true })
  digestAttempt: number | null;

  /** How many deliveries the digest's message carried. */
  @Column({ name: 'digest_items', type: 'integer', nullable: true })
  digestItems: number | null;
}
