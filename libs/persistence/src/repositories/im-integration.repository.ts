import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { ImIntegrationEntity } from '../entities';

/**
 * Workspace-wide IM integrations: credentials stored encrypted (the caller encrypts and decrypts)
 * and the integration's own API base. Which providers exist is not checked here: the API asks the
 * channel registry before any write.
 */
@Injectable()
export class ImIntegrationRepository {
  constructor(private readonly db: DataSource) {}

  get(provider: string): Promise<ImIntegrationEntity | null> {
    return this.db.getRepository(ImIntegrationEntity).findOneBy({ provider });
  }

  /** What the worker needs to message a provider's users, or null when not configured. */
  async find(provider: string): Promise<{ credentialsEncrypted: string; apiBaseUrl: string | null } | null> {
    const found = await this.get(provider);
    return found ? { credentialsEncrypted: found.credentialsEncrypted, apiBaseUrl: found.apiBaseUrl } : null;
  }

  async upsert(provider: string, credentialsEncrypted: string, apiBaseUrl: string | null): Promise<ImIntegrationEntity> {
    await this.db.query(
      `INSERT INTO im_integrations (provider, credentials_encrypted, api_base_url) VALUES ($1, $2, $3)
       ON CONFLICT (provider) DO UPDATE SET credentials_encrypted = EXCLUDED.credentials_encrypted, api_base_url = EXCLUDED.api_base_url, updated_at = now()`,
      [provider, credentialsEncrypted, apiBaseUrl],
    );
    return (await this.get(provider)) as ImIntegrationEntity;
  }

  /** True when something was removed. */
  async delete(provider: string): Promise<boolean> {
    const result = await this.db.getRepository(ImIntegrationEntity).delete({ provider });
    return (result.affected ?? 0) > 0;
  }
}
