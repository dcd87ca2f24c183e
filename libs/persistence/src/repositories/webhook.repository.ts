import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { Conflict, NotFound } from '@herald/domain';
import { WebhookEntity } from '../entities';
import { decodeCursor, toPage, type Page, type PageRequest } from '../pagination';
import { PG_UNIQUE_VIOLATION, pgCode } from '../pg-errors';

@Injectable()
export class WebhookRepository {
  constructor(private readonly db: DataSource) {}

  private get repo() {
    return this.db.getRepository(WebhookEntity);
  }

  async create(projectId: number, values: Omit<Partial<WebhookEntity>, 'projectId'>): Promise<WebhookEntity> {
    try {
      return await this.repo.save(this.repo.create({ ...values, projectId }));
    } catch (err) {
      throw this.translate(err, values.name);
    }
  }

  async list(projectId: number, page: PageRequest & { limit: number }): Promise<Page<WebhookEntity>> {
    const after = decodeCursor(page.cursor, 'uuid');
    const qb = this.repo.createQueryBuilder('w').where('w.project_id = :projectId', { projectId }).orderBy('w.id', 'ASC').limit(page.limit + 1);
    if (after) qb.andWhere('w.id > :after', { after });
    return toPage(await qb.getMany(), page.limit, (w) => w.id);
  }

  async get(projectId: number, id: string): Promise<WebhookEntity> {
    const found = isUuid(id) ? await this.repo.findOneBy({ projectId, id }) : null;
    if (!found) throw new NotFound(`webhook ${id} not found`);
    return found;
  }

  async update(projectId: number, id: string, values: Partial<WebhookEntity>): Promise<WebhookEntity> {
    const current = await this.get(projectId, id);
    try {
      return await this.repo.save(this.repo.merge(current, values));
    } catch (err) {
      throw this.translate(err, values.name);
    }
  }

  async delete(projectId: number, id: string): Promise<void> {
    const result = isUuid(id) ? await this.repo.delete({ projectId, id }) : { affected: 0 };
    if (!result.affected) throw new NotFound(`webhook ${id} not found`);
  }

  private translate(err: unknown, name: string | undefined): unknown {
    if (pgCode(err) === PG_UNIQUE_VIOLATION) return new Conflict(`a webhook named "${name}" already exists in this project`);
    return err;
  }
}

export function isUuid(value: string): boolean {
  return /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(value);
}
