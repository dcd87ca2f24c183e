import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { Conflict, NotFound } from '@herald/domain';
import type { Principal } from '@herald/platform';
import { CoherentCaches } from '../cache/invalidation';
import { ProjectEntity } from '../entities';
import { decodeCursor, toPage, type Page, type PageRequest } from '../pagination';
import { PG_UNIQUE_VIOLATION, pgCode } from '../pg-errors';

@Injectable()
export class ProjectRepository {
  constructor(
    private readonly db: DataSource,
    private readonly caches: CoherentCaches,
  ) {}

  private get repo() {
    return this.db.getRepository(ProjectEntity);
  }

  async create(key: string, name: string): Promise<ProjectEntity> {
    try {
      return await this.repo.save(this.repo.create({ key, name }));
    } catch (err) {
      if (pgCode(err) === PG_UNIQUE_VIOLATION) throw new Conflict(`a project with key "${key}" already exists`);
      throw err;
    }
  }

  /** Admins see every project; a project key sees only its own. */
  async list(principal: Principal, page: PageRequest & { limit: number }): Promise<Page<ProjectEntity>> {
    const after = decodeCursor(page.cursor, 'int');
    const qb = this.repo
      .createQueryBuilder('p')
      .orderBy('p.id', 'ASC')
      .limit(page.limit + 1);
    if (after) qb.andWhere('p.id > :after', { after: Number(after) });
    if (principal.kind === 'project') qb.andWhere('p.id = :id', { id: principal.projectId });
    return toPage(await qb.getMany(), page.limit, (p) => p.id);
  }

  /** Every project-scoped request asks this; cached, and evicted everywhere on rename or delete. */
  findByKey(key: string): Promise<ProjectEntity | null> {
    return this.caches.read('project', key, () => this.repo.findOneBy({ key }));
  }

  /**
   * The project `key` as `principal` may see it. Another tenant's project answers 404, exactly
   * like a missing one, so keys cannot be used to probe for other projects.
   */
  async resolve(principal: Principal, key: string): Promise<ProjectEntity> {
    const project = await this.findByKey(key);
    if (!project || (principal.kind === 'project' && principal.projectId !== project.id)) {
      throw new NotFound(`project "${key}" not found`);
    }
    return project;
  }

  async rename(projectId: number, name: string): Promise<ProjectEntity> {
    const project = await this.db.transaction(async (tx) => {
      await tx.getRepository(ProjectEntity).update({ id: projectId }, { name });
      const updated = await tx.getRepository(ProjectEntity).findOneBy({ id: projectId });
      if (!updated) throw new NotFound('project not found');
      await this.caches.notify(tx, { cache: 'project', key: updated.key });
      return updated;
    });
    this.caches.evictLocally({ cache: 'project', key: project.key });
    return project;
  }

  /** Deleting a project removes its keys too, so every cache is flushed. */
  async delete(projectId: number): Promise<void> {
    await this.db.transaction(async (tx) => {
      await tx.getRepository(ProjectEntity).delete({ id: projectId });
      await this.caches.notify(tx, { cache: '*', key: '*' });
    });
    this.caches.evictLocally({ cache: '*', key: '*' });
  }
}
