import { Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import { NotFound, isUuid, newId, type EventSource } from '@herald/domain';
import { MicroBatcher, isDependencyDown } from '@herald/platform';
import { EventEntity } from '../entities';
import { preparedQuery } from '../prepared';
import { decodeCursor, toPage, type Page, type PageRequest } from '../pagination';
import { PG_FOREIGN_KEY_VIOLATION, pgCode } from '../pg-errors';

/** An event ready to store: the columns the API filters on, and the rest of its body. */
export interface NewEvent {
  type: string;
  level: string;
  title: string;
  source: EventSource;
  body: Record<string, unknown>;
  occurredAt: string;
  /** The W3C traceparent its outbox row carries to the relay (tracing on); the events of one request share it. */
  traceparent?: string;
}

export interface AcceptedEvent {
  id: string;
  type: string;
  duplicate: boolean;
}

export interface EventQuery extends PageRequest {
  limit: number;
  type?: string;
  since?: Date;
  until?: Date;
}

/**
 * Inserts events (of any projects) and their outbox rows in one statement: one round trip, atomic
 * without an explicit transaction. Ids are made by the caller, so answers keep request order. The
 * outbox trigger notifies the worker's relay at the commit.
 */
const INSERT_EVENTS_SQL = `
  WITH input AS (
    SELECT * FROM jsonb_to_recordset($1::jsonb)
      AS x(id uuid, project_id integer, type text, level text, title text, source text, body jsonb, occurred_at timestamptz)
  ), inserted AS (
    INSERT INTO events (id, project_id, type, level, title, source, body, occurred_at)
    SELECT id, project_id, type, level, title, source, body, occurred_at FROM input
    RETURNING id
  )
  INSERT INTO outbox (kind, ref) SELECT 'event', id FROM inserted`;

/**
 * The same with each outbox row's trace context (tracing on). A statement of its own, so that with
 * tracing off the insert is exactly the one above: no extra input column, no extra write.
 */
const INSERT_TRACED_EVENTS_SQL = `
  WITH input AS (
    SELECT * FROM jsonb_to_recordset($1::jsonb)
      AS x(id uuid, project_id integer, type text, level text, title text, source text, body jsonb, occurred_at timestamptz, traceparent text)
  ), inserted AS (
    INSERT INTO events (id, project_id, type, level, title, source, body, occurred_at)
    SELECT id, project_id, type, level, title, source, body, occurred_at FROM input
  )
  INSERT INTO outbox (kind, ref, traceparent) SELECT 'event', id, traceparent FROM input`;

interface Submission {
  projectId: number;
  events: Array<NewEvent & { id: string }>;
}

@Injectable()
export class EventRepository {
  /**
   * Requests arriving together share one INSERT and one commit ("group commit"); each is answered
   * only after that commit. A lone request is written at once, so latency does not grow.
   */
  private readonly writer = new MicroBatcher<Submission, void>((batch) => this.writeBatch(batch), { maxBatch: 200, maxConcurrent: 4 });

  constructor(private readonly db: DataSource) {}

  /**
   * Stores events with their outbox rows. With an idempotency key, a repeat within 24 h returns
   * the first answer marked `duplicate` and stores nothing; a concurrent repeat waits on the key's
   * row lock and then sees the first answer.
   */
  async accept(projectId: number, events: NewEvent[], idempotencyKey?: string): Promise<AcceptedEvent[]> {
    const withIds = events.map((e) => ({ ...e, id: newId() }));
    const answer = withIds.map((e) => ({ id: e.id, type: e.type, duplicate: false }));
    if (!idempotencyKey) {
      await this.writer.submit({ projectId, events: withIds });
      return answer;
    }
    return this.db.transaction(async (tx) => {
      const claimed: unknown[] = await tx.query(
        `INSERT INTO idempotency_keys (project_id, key, response) VALUES ($1, $2, $3)
         ON CONFLICT (project_id, key) DO UPDATE SET response = EXCLUDED.response, created_at = now()
           WHERE idempotency_keys.created_at < now() - interval '24 hours'
         RETURNING key`,
        [projectId, idempotencyKey, JSON.stringify(answer)],
      );
      if (claimed.length === 0) {
        const [first]: Array<{ response: AcceptedEvent[] }> = await tx.query('SELECT response FROM idempotency_keys WHERE project_id = $1 AND key = $2', [
          projectId,
          idempotencyKey,
        ]);
        return first.response.map((r) => ({ ...r, duplicate: true }));
      }
      await this.insert(tx, [{ projectId, events: withIds }]);
      return answer;
    });
  }

  /**
   * Stores events with their outbox rows inside the caller's transaction, so they commit (or roll
   * back) with whatever the caller wrote.
   */
  async insertWithin(manager: EntityManager, projectId: number, events: NewEvent[]): Promise<void> {
    if (events.length === 0) return;
    await this.insert(manager, [{ projectId, events: events.map((e) => ({ ...e, id: newId() })) }]);
  }

  private async insert(manager: EntityManager, submissions: Submission[]): Promise<void> {
    // Traced events (tracing on) carry their context into the outbox rows, by a statement of their own.
    const traced = submissions.some((s) => s.events[0]?.traceparent !== undefined);
    const rows = submissions.flatMap(({ projectId, events }) =>
      events.map((e) => {
        const row: Record<string, unknown> = {
          id: e.id,
          project_id: projectId,
          type: e.type,
          level: e.level,
          title: e.title,
          source: e.source,
          body: e.body,
          occurred_at: e.occurredAt,
        };
        if (traced) row.traceparent = e.traceparent;
        return row;
      }),
    );
    const values = [JSON.stringify(rows)];
    // Outside a caller's transaction the statement is a prepared one on the pool (planned once per connection).
    if (manager.queryRunner) await manager.query(traced ? INSERT_TRACED_EVENTS_SQL : INSERT_EVENTS_SQL, values);
    else if (traced) await preparedQuery(this.db, 'herald_insert_traced_events_v1', INSERT_TRACED_EVENTS_SQL, values);
    else await preparedQuery(this.db, 'herald_insert_events_v2', INSERT_EVENTS_SQL, values);
  }

  /**
   * Writes a batch of submissions in one statement. If it fails for a reason other than Postgres
   * being away (say, a project deleted a moment ago), each submission is retried alone so one
   * request's problem does not fail the others.
   */
  private async writeBatch(batch: Submission[]): Promise<Array<void | Error>> {
    try {
      await this.insert(this.db.manager, batch);
      return batch.map(() => undefined);
    } catch (err) {
      if (batch.length === 1 || isDependencyDown(err)) throw translateInsertError(err);
      return Promise.all(batch.map((submission) => this.insert(this.db.manager, [submission]).catch((e: unknown) => translateInsertError(e) as Error)));
    }
  }

  /** Newest first. */
  async list(projectId: number, query: EventQuery): Promise<Page<EventEntity>> {
    const before = decodeCursor(query.cursor, 'uuid');
    const qb = this.db
      .getRepository(EventEntity)
      .createQueryBuilder('e')
      .where('e.project_id = :projectId', { projectId })
      .orderBy('e.id', 'DESC')
      .limit(query.limit + 1);
    if (before) qb.andWhere('e.id < :before', { before });
    if (query.type) qb.andWhere('e.type = :type', { type: query.type });
    if (query.since) qb.andWhere('e.received_at >= :since', { since: query.since });
    if (query.until) qb.andWhere('e.received_at < :until', { until: query.until });
    return toPage(await qb.getMany(), query.limit, (e) => e.id);
  }

  async get(projectId: number, id: string): Promise<EventEntity> {
    const found = isUuid(id) ? await this.db.getRepository(EventEntity).findOneBy({ projectId, id }) : null;
    if (!found) throw new NotFound(`event ${id} not found`);
    return found;
  }
}

function translateInsertError(err: unknown): unknown {
  return pgCode(err) === PG_FOREIGN_KEY_VIOLATION ? new NotFound('project not found') : err;
}
