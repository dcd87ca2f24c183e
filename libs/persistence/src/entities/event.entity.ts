import { Column, Entity, Index, PrimaryColumn } from 'typeorm';

/**
 * An accepted event. The fields the API filters on are columns; the rest of the docs/contract.md §4.1 body
 * (description, link, actor, issue, mentions, ...) is kept as JSON in `body`.
 */
@Entity({ name: 'events' })
@Index('events_project', ['projectId', 'id'])
@Index('events_project_type', ['projectId', 'type', 'id'])
export class EventEntity {
  @PrimaryColumn({ type: 'uuid', default: () => 'herald_uuid_v7()' })
  id: string;

  @Column({ name: 'project_id', type: 'integer' })
  projectId: number;

  @Column({ type: 'text' })
  type: string;

  @Column({ type: 'text' })
  level: string;

  @Column({ type: 'text' })
  title: string;

  @Column({ type: 'text' })
  source: string;

  @Column({ type: 'jsonb' })
  body: Record<string, unknown>;

  @Column({ name: 'occurred_at', type: 'timestamptz' })
  occurredAt: Date;

  @Column({ name: 'received_at', type: 'timestamptz', default: () => 'now()' })
  receivedAt: Date;
}
