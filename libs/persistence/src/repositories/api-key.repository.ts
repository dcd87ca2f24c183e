import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { NotFound, isUuid } from '@herald/domain';
import { hashApiKey, newApiKey, type ProjectKeyResolver } from '@herald/platform';
import { CoherentCaches } from '../cache/invalidation';
import { ApiKeyEntity } from '../entities';
import { decodeCursor, toPage, type Page, type PageRequest } from '../pagination';

@Injectable()
export class ApiKeyRepository implements ProjectKeyResolver {
  constructor(
    private readonly db: DataSource,
    private readonly caches: CoherentCaches,
  ) {}

  private get repo() {
    return this.db.getRepository(ApiKeyEntity);
  }

  /** Creates a key and returns it in clear text: the only time it is ever visible. */
  async create(projectId: number, name: string): Promise<{ entity: ApiKeyEntity; key: string }> {
    const key = newApiKey('hk');
    const entity = await this.repo.save(this.repo.create({ projectId, name, keyHash: hashApiKey(key), keyHint: key.slice(-4) }));
    return { entity, key };
  }

  /** Oldest first: ids are UUIDv7, so id order is creation order and the keyset cursor. */
  async list(projectId: number, page: PageRequest & { limit: number }): Promise<Page<ApiKeyEntity>> {
    const after = decodeCursor(page.cursor, 'uuid');
    const qb = this.repo
      .createQueryBuilder('k')
      .where('k.project_id = :projectId', { projectId })
      .orderBy('k.id', 'ASC')
      .limit(page.limit + 1);
    if (after) qb.andWhere('k.id > :after', { after });
    return toPage(await qb.getMany(), page.limit, (k) => k.id);
  }

  /** Revokes at once: the delete and the cache invalidation every process listens to commit together. */
  async delete(projectId: number, id: string): Promise<void> {
    if (!isUuid(id)) throw new NotFound(`API key ${id} not found`);
    const revoked = await this.db.transaction(async (tx) => {
      // TypeORM answers a DELETE … RETURNING with [rows, affected].
      const [rows]: [Array<{ key_hash: string }>, number] = await tx.query('DELETE FROM api_keys WHERE project_id = $1 AND id = $2 RETURNING key_hash', [
        projectId,
        id,
      ]);
      if (rows.length === 0) throw new NotFound(`API key ${id} not found`);
      const invalidation = { cache: 'apikey', key: rows[0].key_hash };
      await this.caches.notify(tx, invalidation);
      return invalidation;
    });
    this.caches.evictLocally(revoked);
  }

  /** Every authenticated request asks this; answers are cached and evicted when a key is revoked. */
  resolve(keyHash: string): Promise<{ projectId: number; apiKeyId: string } | null> {
    return this.caches.read('apikey', keyHash, async () => {
      const rows: Array<{ id: string; project_id: number }> = await this.db.query('SELECT id, project_id FROM api_keys WHERE key_hash = $1', [keyHash]);
      return rows.length ? { projectId: rows[0].project_id, apiKeyId: rows[0].id } : null;
    });
  }
}
