import { Column, Entity, Index, PrimaryColumn } from 'typeorm';

/** The first answer to a request with an `Idempotency-Key`, replayed for repeats within 24 h. */
@Entity({ name: 'idempotency_keys' })
@Index('idempotency_keys_created', ['createdAt'])
export class IdempotencyKeyEntity {
  @PrimaryColumn({ name: 'project_id', type: 'integer' })
  projectId: number;

  @PrimaryColumn({ type: 'text' })
  key: string;

  @Column({ type: 'jsonb' })
  response: unknown;

  @Column({ name: 'created_at', type: 'timestamptz', default: () => 'now()' })
  createdAt: Date;
}
