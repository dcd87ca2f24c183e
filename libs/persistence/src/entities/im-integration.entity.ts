import { Column, CreateDateColumn, Entity, PrimaryColumn, UpdateDateColumn } from 'typeorm';

/** One IM app's credentials (docs/contract.md §3.8), as encrypted JSON (SecretBox). */
@Entity({ name: 'im_integrations' })
export class ImIntegrationEntity {
  @PrimaryColumn({ type: 'text' })
  provider: string;

  @Column({ name: 'credentials_encrypted', type: 'text' })
  credentialsEncrypted: string;

  /** The integration's own API base (a self-hosted platform, a proxy); null: the provider's default. */
  @Column({ name: 'api_base_url', type: 'text', nullable: true })
  apiBaseUrl: string | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt: Date;
}
