import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { ImIntegrationEntity } from '../entities';

/** Workspace-wide IM credentials, stored encrypted; the caller encrypts and decrypts. */
@Injectable()
export class ImIntegrationRepository {
  constructor(private readonly db: DataSource) {}

  get(provider: string): Promise<ImIntegrationEntity | null> {
    return this.db.getRepository(ImIntegrationEntity).findOneBy({ provider });
  }

  async findEncrypted(provider: string): Promise<string | null> {
    return (await this.get(provider))?.credentialsEncrypted ?? null;
  }

  async upsert(provider: string, credentialsEncrypted: string): Promise<ImIntegrationEntity> {
    await this.db.query(
      `INSERT INTO im_integrations (provider, credentials_encrypted) VALUES ($1, $2)
       ON CONFLICT (provider) DO UPDATE SET credentials_encrypted = EXCLUDED.credentials_encrypted, updated_at = now()`,
      [provider, credentialsEncrypted],
    );
    return (await this.get(provider)) as ImIntegrationEntity;
  }

  /** True when something was removed. */
  async delete(provider: string): Promise<boolean> {
    const result = await this.db.getRepository(ImIntegrationEntity).delete({ provider });
    return (result.affected ?? 0) > 0;
  }
}
