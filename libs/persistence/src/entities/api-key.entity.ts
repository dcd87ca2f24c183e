import { Column, CreateDateColumn, Entity, Index, PrimaryColumn } from 'typeorm';

/** A project API key. Only the SHA-256 of the key is stored; the key is shown once at creation. */
@Entity({ name: 'api_keys' })
@Index('api_keys_project', ['projectId'])
export class ApiKeyEntity {
  @PrimaryColumn({ type: 'uuid', default: () => 'herald_uuid_v7()' })
  id: string;

  @Column({ name: 'project_id', type: 'integer' })
  projectId: number;

  @Column({ type: 'text' })
  name: string;

  @Column({ name: 'key_hash', type: 'text', unique: true })
  keyHash: string;

  /** The last four characters, so people can tell their keys apart. */
  @Column({ name: 'key_hint', type: 'text' })
  keyHint: string;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;
}
