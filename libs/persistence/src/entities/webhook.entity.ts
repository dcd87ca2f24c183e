import { Column, CreateDateColumn, Entity, Index, PrimaryColumn, UpdateDateColumn } from 'typeorm';
import type { ChannelType, DigestPolicy, OrderingMode } from '@herald/domain';

/** An outgoing webhook. The URL and secrets are stored encrypted (AES-256-GCM, see SecretBox). */
@Entity({ name: 'webhooks' })
@Index('webhooks_project_name', ['projectId', 'name'], { unique: true })
export class WebhookEntity {
  @PrimaryColumn({ type: 'uuid', default: () => 'herald_uuid_v7()' })
  id: string;

  @Column({ name: 'project_id', type: 'integer' })
  projectId: number;

  @Column({ type: 'text' })
  name: string;

  @Column({ type: 'text' })
  type: ChannelType;

  @Column({ name: 'url_encrypted', type: 'text' })
  urlEncrypted: string;

  @Column({ name: 'url_masked', type: 'text' })
  urlMasked: string;

  @Column({ type: 'text', array: true })
  events: string[];

  @Column({ name: 'direct_message', type: 'boolean', default: false })
  directMessage: boolean;

  /** `en` or `zh`; null means the channel's default (zh for DingTalk, en elsewhere). */
  @Column({ type: 'text', nullable: true })
  locale: string | null;

  @Column({ name: 'secret_encrypted', type: 'text', nullable: true })
  secretEncrypted: string | null;

  /** After a rotation the old secret keeps signing (a second signature) until this time. */
  @Column({ name: 'previous_secret_encrypted', type: 'text', nullable: true })
  previousSecretEncrypted: string | null;

  @Column({ name: 'previous_secret_expires_at', type: 'timestamptz', nullable: true })
  previousSecretExpiresAt: Date | null;

  @Column({ name: 'rate_limit_count', type: 'integer', nullable: true })
  rateLimitCount: number | null;

  @Column({ name: 'rate_limit_per_seconds', type: 'integer', nullable: true })
  rateLimitPerSeconds: number | null;

  /** `subject`: deliveries about one subject reach the receiver in acceptance order (issue 16); `none` by default. */
  @Column({ type: 'text', default: 'none' })
  ordering: OrderingMode;

  /** Merge a backlog into one message (issue 16); null: every delivery is its own message. */
  @Column({ type: 'jsonb', nullable: true })
  digest: DigestPolicy | null;

  /** A JSON filter over the event (issue 16; `@herald/domain` event-filter); null: every event of its types. */
  @Column({ type: 'jsonb', nullable: true })
  filter: Record<string, unknown> | null;

  /** Chat message text per event type (Liquid, issue 16); null: the built-in message for every type. */
  @Column({ type: 'jsonb', nullable: true })
  templates: Record<string, string> | null;

  @Column({ type: 'boolean', default: true })
  enabled: boolean;

  @Column({ name: 'disabled_reason', type: 'text', nullable: true })
  disabledReason: string | null;

  @Column({ name: 'disabled_at', type: 'timestamptz', nullable: true })
  disabledAt: Date | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt: Date;
}
