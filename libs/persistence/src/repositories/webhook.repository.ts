import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import type { QueryDeepPartialEntity } from 'typeorm/query-builder/QueryPartialEntity';
import { Conflict, NotFound, isUuid } from '@herald/domain';
import { WebhookEntity } from '../entities';
import { decodeCursor, toPage, type Page, type PageRequest } from '../pagination';
import { PG_UNIQUE_VIOLATION, pgCode } from '../pg-errors';

/** What a webhook PATCH may change; `enabled` is `true`, or the reason a user disables it with. */
export type WebhookChanges = Partial<
  Pick<
    WebhookEntity,
    | 'name'
    | 'urlEncrypted'
    | 'urlMasked'
    | 'events'
    | 'directMessage'
    | 'secretEncrypted'
    | 'rateLimitCount'
    | 'rateLimitPerSeconds'
    | 'locale'
    | 'filter'
    | 'templates'
    | 'ordering'
    | 'digest'
  >
> & { enabled?: true | { disabledReason: string } };

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
    const qb = this.repo
      .createQueryBuilder('w')
      .where('w.project_id = :projectId', { projectId })
      .orderBy('w.id', 'ASC')
      .limit(page.limit + 1);
    if (after) qb.andWhere('w.id > :after', { after });
    return toPage(await qb.getMany(), page.limit, (w) => w.id);
  }

  async get(projectId: number, id: string): Promise<WebhookEntity> {
    const found = isUuid(id) ? await this.repo.findOneBy({ projectId, id }) : null;
    if (!found) throw new NotFound(`webhook ${id} not found`);
    return found;
  }

  /**
   * One UPDATE of exactly the columns in `changes` (issue 10, item 9): no read-modify-write, so a
   * concurrent change of other columns (an auto-disable, a rotation) is never written over.
   */
  async update(projectId: number, id: string, changes: WebhookChanges): Promise<WebhookEntity> {
    // Nothing to change: no write, so `updated_at` (which restarts auto-disable streaks) stays.
    if (Object.keys(changes).length === 0) return this.get(projectId, id);
    const { enabled, ...columns } = changes;
    const set = { ...columns } as QueryDeepPartialEntity<WebhookEntity>;
    if (enabled === true) Object.assign(set, { enabled: true, disabledReason: null, disabledAt: null });
    // Disabling an already disabled webhook keeps the reason and time it was disabled with.
    else if (enabled)
      Object.assign(set, {
        enabled: false,
        disabledReason: () => 'CASE WHEN enabled THEN :reason ELSE disabled_reason END',
        disabledAt: () => 'CASE WHEN enabled THEN now() ELSE disabled_at END',
      });
    const statement = this.db
      .createQueryBuilder()
      .update(WebhookEntity)
      .set(set)
      .where('project_id = :projectId AND id = :id', { projectId, id, reason: enabled && enabled !== true ? enabled.disabledReason : null });
    try {
      const result = isUuid(id) ? await statement.execute() : { affected: 0 };
      if (!result.affected) throw new NotFound(`webhook ${id} not found`);
    } catch (err) {
      throw this.translate(err, changes.name);
    }
    return this.get(projectId, id);
  }

  /**
   * Makes `secretEncrypted` the signing secret and the current one the previous secret (signing
   * for `overlapMs` more), in one statement: two concurrent rotations are applied one after the
   * other on the row, so the second's previous secret is the first's new one.
   */
  async rotateSecret(projectId: number, id: string, secretEncrypted: string, overlapMs: number): Promise<void> {
    // TypeORM answers an UPDATE … RETURNING with [rows, affected].
    const [rows]: [Array<{ id: string }>, number] = isUuid(id)
      ? await this.db.query(
          `UPDATE webhooks SET previous_secret_encrypted = secret_encrypted, secret_encrypted = $3,
                  previous_secret_expires_at = now() + make_interval(secs => $4::double precision / 1000), updated_at = now()
            WHERE project_id = $1 AND id = $2 AND secret_encrypted IS NOT NULL
           RETURNING id`,
          [projectId, id, secretEncrypted, overlapMs],
        )
      : [[], 0];
    if (rows.length === 0) throw new NotFound(`webhook ${id} not found`);
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
