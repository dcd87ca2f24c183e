import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { Conflict, NotFound } from '@herald/domain';
import { hashApiKey, newApiKey } from '@herald/platform';
import { DevLakeConnectionEntity } from '../entities';
import { PG_INT_MAX, decodeCursor, toPage, type Page, type PageRequest } from '../pagination';
import { PG_UNIQUE_VIOLATION, pgCode } from '../pg-errors';

/** Connection ids are positive integers that fit a Postgres integer. */
export function isConnectionId(value: number): boolean {
  return Number.isSafeInteger(value) && value >= 1 && value <= PG_INT_MAX;
}

/**
 * DevLake-compatible incoming connections (docs/contract.md §3.7). Keys are `hc_` + 32 random bytes; only their
 * SHA-256 is stored. Lookups by key are not cached, so a rotation takes effect at once everywhere.
 */
@Injectable()
export class ConnectionRepository {
  constructor(private readonly db: DataSource) {}

  private get repo() {
    return this.db.getRepository(DevLakeConnectionEntity);
  }

  /** Creates a connection and returns its key in clear text: the only time (with rotation) it is visible. */
  async create(projectId: number, name: string): Promise<{ entity: DevLakeConnectionEntity; key: string }> {
    const key = newApiKey('hc');
    try {
      const entity = await this.repo.save(this.repo.create({ projectId, name, keyHash: hashApiKey(key), keyHint: key.slice(-4) }));
      return { entity, key };
    } catch (err) {
      throw translate(err, name);
    }
  }

  /** Oldest first, keyset-paginated by id. */
  async list(projectId: number, page: PageRequest & { limit: number }): Promise<Page<DevLakeConnectionEntity>> {
    const after = decodeCursor(page.cursor, 'int');
    const qb = this.repo
      .createQueryBuilder('c')
      .where('c.project_id = :projectId', { projectId })
      .orderBy('c.id', 'ASC')
      .limit(page.limit + 1);
    if (after) qb.andWhere('c.id > :after', { after: Number(after) });
    return toPage(await qb.getMany(), page.limit, (c) => c.id);
  }

  /** A connection of the project; another project's connection answers 404 like a missing one. */
  async get(projectId: number, id: number): Promise<DevLakeConnectionEntity> {
    const found = isConnectionId(id) ? await this.repo.findOneBy({ projectId, id }) : null;
    if (!found) throw new NotFound(`connection ${id} not found`);
    return found;
  }

  async rename(projectId: number, id: number, name: string): Promise<DevLakeConnectionEntity> {
    const connection = await this.get(projectId, id);
    try {
      await this.repo.update({ projectId, id: connection.id }, { name });
    } catch (err) {
      throw translate(err, name);
    }
    return this.get(projectId, id);
  }

  /** Deletes the connection and, with it, what was posted through it (see docs/decisions.md). */
  async delete(projectId: number, id: number): Promise<void> {
    const result = isConnectionId(id) ? await this.repo.delete({ projectId, id }) : { affected: 0 };
    if (!result.affected) throw new NotFound(`connection ${id} not found`);
  }

  /** Replaces the key: the old one stops working at once. */
  async rotateKey(projectId: number, id: number): Promise<{ entity: DevLakeConnectionEntity; key: string }> {
    const connection = await this.get(projectId, id);
    const key = newApiKey('hc');
    await this.repo.update({ projectId, id: connection.id }, { keyHash: hashApiKey(key), keyHint: key.slice(-4) });
    return { entity: await this.get(projectId, id), key };
  }

  findById(id: number): Promise<DevLakeConnectionEntity | null> {
    return isConnectionId(id) ? this.repo.findOneBy({ id }) : Promise.resolve(null);
  }

  /** The project's connection named `name` (names are unique within a project). */
  findByName(projectId: number, name: string): Promise<DevLakeConnectionEntity | null> {
    return this.repo.findOneBy({ projectId, name });
  }

  /** Connections of any project named `name`, at most `limit` (the admin token and Basic auth carry no project). */
  findAllByName(name: string, limit: number): Promise<DevLakeConnectionEntity[]> {
    return this.repo.find({ where: { name }, order: { id: 'ASC' }, take: limit });
  }

  findByKeyHash(keyHash: string): Promise<DevLakeConnectionEntity | null> {
    return this.repo.findOneBy({ keyHash });
  }

  /**
   * The project's connection named `name`, created (with a key nobody has seen yet; rotate it to
   * get one) on first use. Concurrent first uses create it once.
   */
  async findOrCreate(projectId: number, name: string): Promise<DevLakeConnectionEntity> {
    for (let attempt = 0; attempt < 2; attempt++) {
      const found = await this.findByName(projectId, name);
      if (found) return found;
      const key = newApiKey('hc');
      const inserted: Array<{ id: number }> = await this.db.query(
        `INSERT INTO devlake_connections (project_id, name, key_hash, key_hint) VALUES ($1, $2, $3, $4)
         ON CONFLICT DO NOTHING RETURNING id`,
        [projectId, name, hashApiKey(key), key.slice(-4)],
      );
      if (inserted.length) return (await this.findById(inserted[0].id)) as DevLakeConnectionEntity;
    }
    throw new Conflict(`the connection "${name}" could not be created; retry`);
  }
}

function translate(err: unknown, name: string): unknown {
  if (pgCode(err) === PG_UNIQUE_VIOLATION) return new Conflict(`a connection named "${name}" already exists in this project`);
  return err;
}
