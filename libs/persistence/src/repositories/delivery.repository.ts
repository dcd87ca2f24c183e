import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { MicroBatcher } from '@herald/platform';
import { NotFound, type AttemptOutcome, type ChannelType, type DeliveryStatus, type EventSource } from '@herald/domain';
import { DeliveryAttemptEntity, DeliveryEntity } from '../entities';
import { decodeCursor, toPage, type Page, type PageRequest } from '../pagination';
import { isUuid } from './webhook.repository';
import { preparedQuery } from '../prepared';

/** Everything one attempt needs, read in the same statement that marks the delivery's attempt as started. */
export interface DeliveryContext {
  delivery: { id: string; attemptCount: number; replay: number; createdAt: Date };
  webhook: {
    id: string;
    name: string;
    type: ChannelType;
    urlEncrypted: string;
    secretEncrypted: string | null;
    previousSecretEncrypted: string | null;
    previousSecretExpiresAt: Date | null;
    rateLimitCount: number | null;
    rateLimitPerSeconds: number | null;
    directMessage: boolean;
    locale: string | null;
    enabled: boolean;
    disabledReason: string | null;
  };
  event: {
    id: string;
    type: string;
    level: string;
    title: string;
    source: EventSource;
    body: Record<string, unknown>;
    occurredAt: Date;
    receivedAt: Date;
  };
  project: { id: number; key: string; name: string };
}

export interface AttemptRecord {
  startedAt: Date;
  durationMs: number;
  statusCode: number | null;
  outcome: AttemptOutcome;
  error: string | null;
  responseBody: string | null;
}

export interface DeliveryQuery extends PageRequest {
  limit: number;
  webhookId?: string;
  status?: DeliveryStatus;
  eventType?: string;
  since?: Date;
}

/**
 * Starts the attempts of a batch of deliveries (they show as `delivering`) and reads what the
 * attempts need, in one statement. Only columns outside every index change, so it is a HOT update.
 * Final deliveries are skipped (a replayed or duplicated job finds nothing to do).
 */
const CLAIM_SQL = `
  WITH d AS (
    UPDATE deliveries SET attempt_started_at = now(), updated_at = now()
     WHERE id = ANY ($1::uuid[]) AND status = 'pending'
    RETURNING id, project_id, event_id, webhook_id, attempt_count, replay, created_at
  )
  SELECT d.id, d.attempt_count, d.replay, d.created_at,
         w.id AS w_id, w.name AS w_name, w.type AS w_type, w.url_encrypted, w.secret_encrypted,
         w.previous_secret_encrypted, w.previous_secret_expires_at, w.rate_limit_count, w.rate_limit_per_seconds,
         w.direct_message, w.locale, w.enabled, w.disabled_reason,
         e.id AS e_id, e.type AS e_type, e.level, e.title, e.source, e.body, e.occurred_at, e.received_at,
         p.id AS p_id, p.key AS p_key, p.name AS p_name
    FROM d
    JOIN webhooks w ON w.id = d.webhook_id
    JOIN events e ON e.id = d.event_id
    JOIN projects p ON p.id = d.project_id`;

/**
 * Updates a batch of deliveries and appends one attempt to each, in one statement (one commit for
 * the batch); each attempt's number is its delivery's new attempt count.
 */
const RECORD_SQL = `
  WITH input AS (
    SELECT * FROM unnest($1::uuid[], $2::text[], $3::timestamptz[], $4::text[], $5::timestamptz[], $6::integer[], $7::integer[], $8::text[], $9::text[], $10::text[])
      AS x(id, status, next_attempt_at, last_error, started_at, duration_ms, status_code, outcome, error, response_body)
  ), d AS (
    UPDATE deliveries
       SET attempt_count = deliveries.attempt_count + 1,
           status = input.status,
           attempt_started_at = NULL,
           next_attempt_at = input.next_attempt_at,
           last_error = input.last_error,
           delivered_at = CASE WHEN input.status = 'succeeded' THEN now() ELSE deliveries.delivered_at END,
           updated_at = now()
      FROM input
     WHERE deliveries.id = input.id
    RETURNING deliveries.id, deliveries.attempt_count
  )
  INSERT INTO delivery_attempts (delivery_id, number, started_at, duration_ms, status_code, outcome, error, response_body)
  SELECT d.id, d.attempt_count, input.started_at, input.duration_ms, input.status_code, input.outcome, input.error, input.response_body
    FROM d JOIN input ON input.id = d.id
  RETURNING delivery_id, number`;

/** A status as stored (`delivering` is derived from `attempt_started_at`). */
type StoredStatus = Exclude<DeliveryStatus, 'delivering'>;

interface RecordItem {
  deliveryId: string;
  status: StoredStatus;
  nextAttemptAt: Date | null;
  attempt: AttemptRecord;
}

/** Statements of the hot path run batched: up to this many rows share one statement and commit. */
const HOT_BATCH = 200;

@Injectable()
export class DeliveryRepository {
  /**
   * Concurrent claims and records are grouped (MicroBatcher): under load, one statement and one
   * commit serve many deliveries; alone, a call goes out at once. A quarter of the pool at most.
   */
  private readonly claims: MicroBatcher<string, DeliveryContext | null>;
  private readonly records: MicroBatcher<RecordItem, number>;

  constructor(private readonly db: DataSource) {
    const maxConcurrent = Math.max(1, Math.min(2, Math.floor(((db.options as { poolSize?: number }).poolSize ?? 8) / 4)));
    this.claims = new MicroBatcher((ids) => this.claimBatch(ids), { maxBatch: HOT_BATCH, maxConcurrent });
    this.records = new MicroBatcher((items) => this.recordBatch(items), { maxBatch: HOT_BATCH, maxConcurrent });
  }

  /** Marks the delivery `delivering` and reads what the attempt needs; null if it is already final. */
  claim(deliveryId: string): Promise<DeliveryContext | null> {
    return this.claims.submit(deliveryId);
  }

  /** Records one attempt and the delivery's new status; returns the attempt's number. */
  recordAttempt(deliveryId: string, status: StoredStatus, nextAttemptAt: Date | null, attempt: AttemptRecord): Promise<number> {
    return this.records.submit({ deliveryId, status, nextAttemptAt, attempt });
  }

  private async claimBatch(ids: string[]): Promise<Array<DeliveryContext | null>> {
    const rows = await preparedQuery<Record<string, unknown>>(this.db, 'herald_claim_v2', CLAIM_SQL, [[...new Set(ids)]]);
    const byId = new Map(rows.map((r) => [r.id as string, toContext(r)]));
    return ids.map((id) => byId.get(id) ?? null);
  }

  private async recordBatch(items: RecordItem[]): Promise<Array<number | Error>> {
    // One delivery twice in a batch (a replay racing its original) would get one update and two
    // attempts with the same number: such a batch is written one item at a time instead.
    if (new Set(items.map((i) => i.deliveryId)).size !== items.length) {
      const out: Array<number | Error> = [];
      for (const item of items) out.push(...(await this.recordBatch([item])));
      return out;
    }
    const col = <T>(f: (i: RecordItem) => T) => items.map(f);
    const rows = await preparedQuery<{ delivery_id: string; number: number }>(this.db, 'herald_record_v2', RECORD_SQL, [
      col((i) => i.deliveryId),
      col((i) => i.status),
      col((i) => i.nextAttemptAt),
      col((i) => (i.attempt.outcome === 'delivered' ? null : i.attempt.error)),
      col((i) => i.attempt.startedAt),
      col((i) => i.attempt.durationMs),
      col((i) => i.attempt.statusCode),
      col((i) => i.attempt.outcome),
      col((i) => i.attempt.error),
      col((i) => i.attempt.responseBody),
    ]);
    const numbers = new Map(rows.map((r) => [r.delivery_id, r.number]));
    return items.map((i) => numbers.get(i.deliveryId) ?? 0);
  }

  /**
   * A new attempt chain for one finished delivery (same id, `replay` + 1), queued through the
   * outbox in the same statement; `in_progress` while it is still pending or being delivered.
   */
  async replay(projectId: number, id: string): Promise<{ replay: number } | 'not_found' | 'in_progress'> {
    if (!isUuid(id)) return 'not_found';
    const rows: Array<{ replay: number }> = await this.db.query(
      `WITH d AS (
         UPDATE deliveries SET replay = replay + 1, status = 'pending', attempt_started_at = NULL, next_attempt_at = now(), updated_at = now()
          WHERE project_id = $1 AND id = $2 AND status IN ('succeeded', 'failed', 'dead')
         RETURNING id, replay
       )
       INSERT INTO outbox (kind, ref, replay) SELECT 'delivery', id, replay FROM d
       RETURNING replay`,
      [projectId, id],
    );
    if (rows.length) return rows[0];
    const [found]: Array<{ status: string }> = await this.db.query('SELECT status FROM deliveries WHERE project_id = $1 AND id = $2', [projectId, id]);
    return found ? 'in_progress' : 'not_found';
  }

  /** Replays every failed or dead delivery of a webhook created in [since, until); returns how many. */
  async recover(webhookId: string, since: Date, until: Date): Promise<number> {
    const rows: unknown[] = await this.db.query(
      `WITH d AS (
         UPDATE deliveries SET replay = replay + 1, status = 'pending', attempt_started_at = NULL, next_attempt_at = now(), updated_at = now()
          WHERE webhook_id = $1 AND status IN ('failed', 'dead') AND created_at >= $2 AND created_at < $3
         RETURNING id, replay
       )
       INSERT INTO outbox (kind, ref, replay) SELECT 'delivery', id, replay FROM d
       RETURNING id`,
      [webhookId, since, until],
    );
    return rows.length;
  }

  /**
   * Auto-disable (SPEC §6.7): disables the webhook when its last `failures` finished deliveries all
   * ended failed or dead and the oldest of them ended at least `days` before the newest. Only
   * deliveries that finished since the webhook was last changed count: re-enabling it or fixing
   * its URL starts a new streak. Returns whether this call disabled it.
   */
  async disableIfFailing(webhookId: string, failures: number, days: number, reason: string): Promise<boolean> {
    const rows: Array<{ id: string }> = await this.db.query(
      `WITH last AS (
         SELECT d.status, d.updated_at FROM deliveries d JOIN webhooks w ON w.id = d.webhook_id
          WHERE d.webhook_id = $1 AND d.status IN ('succeeded', 'failed', 'dead') AND d.updated_at >= w.updated_at
          ORDER BY d.id DESC LIMIT $2
       )
       UPDATE webhooks SET enabled = false, disabled_reason = $4, disabled_at = now(), updated_at = now()
        WHERE id = $1 AND enabled
          AND (SELECT count(*) FROM last WHERE status IN ('failed', 'dead')) = $2
          AND (SELECT max(updated_at) - min(updated_at) FROM last) >= make_interval(secs => $3::double precision * 86400)
       RETURNING id`,
      [webhookId, failures, days, reason],
    );
    return rows.length > 0;
  }

  /** Disables a webhook at once (410 Gone). Returns whether this call disabled it. */
  async disable(webhookId: string, reason: string): Promise<boolean> {
    const rows: Array<{ id: string }> = await this.db.query(
      `UPDATE webhooks SET enabled = false, disabled_reason = $2, disabled_at = now(), updated_at = now() WHERE id = $1 AND enabled RETURNING id`,
      [webhookId, reason],
    );
    return rows.length > 0;
  }

  /**
   * Deliveries still pending or delivering whose last change is older than `olderThanMs`: either
   * waiting for a scheduled retry, or orphaned (their job was lost). The caller asks Redis which.
   * One index range per project (project_id, status, id); `delivering` ones are `pending` there.
   */
  async unfinishedSince(olderThanMs: number, limit: number): Promise<Array<{ id: string; replay: number }>> {
    return this.db.query(
      `SELECT d.id, d.replay FROM projects p
        CROSS JOIN LATERAL (
          SELECT id, replay FROM deliveries
           WHERE project_id = p.id AND status = 'pending'
             AND updated_at < now() - make_interval(secs => $1::double precision / 1000)
           ORDER BY id LIMIT $2
        ) d
        LIMIT $2`,
      [olderThanMs, limit],
    );
  }

  /** Changes status without an attempt (a rate-limit deferral, a disabled webhook). */
  async setStatus(deliveryId: string, status: StoredStatus, nextAttemptAt: Date | null, lastError: string | null): Promise<void> {
    await this.db.query(
      `UPDATE deliveries SET status = $2, attempt_started_at = NULL, next_attempt_at = $3, last_error = COALESCE($4, last_error), updated_at = now() WHERE id = $1`,
      [deliveryId, status, nextAttemptAt, lastError],
    );
  }

  /** Newest first. */
  async list(projectId: number, query: DeliveryQuery): Promise<Page<DeliveryEntity>> {
    const before = decodeCursor(query.cursor, 'uuid');
    const qb = this.db
      .getRepository(DeliveryEntity)
      .createQueryBuilder('d')
      .where('d.project_id = :projectId', { projectId })
      .orderBy('d.id', 'DESC')
      .limit(query.limit + 1);
    if (before) qb.andWhere('d.id < :before', { before });
    if (query.webhookId) qb.andWhere('d.webhook_id = :webhookId', { webhookId: query.webhookId });
    if (query.status === 'delivering') qb.andWhere(`d.status = 'pending' AND d.attempt_started_at IS NOT NULL`);
    else if (query.status === 'pending') qb.andWhere(`d.status = 'pending' AND d.attempt_started_at IS NULL`);
    else if (query.status) qb.andWhere('d.status = :status', { status: query.status });
    if (query.eventType) qb.andWhere('d.event_type = :eventType', { eventType: query.eventType });
    if (query.since) qb.andWhere('d.created_at >= :since', { since: query.since });
    return toPage(await qb.getMany(), query.limit, (d) => d.id);
  }

  async get(projectId: number, id: string): Promise<DeliveryEntity> {
    const found = isUuid(id) ? await this.db.getRepository(DeliveryEntity).findOneBy({ projectId, id }) : null;
    if (!found) throw new NotFound(`delivery ${id} not found`);
    return found;
  }

  listByEvent(projectId: number, eventId: string): Promise<DeliveryEntity[]> {
    return this.db.getRepository(DeliveryEntity).find({ where: { projectId, eventId }, order: { id: 'ASC' } });
  }

  attempts(deliveryId: string): Promise<DeliveryAttemptEntity[]> {
    return this.db.getRepository(DeliveryAttemptEntity).find({ where: { deliveryId }, order: { number: 'ASC' } });
  }
}

function toContext(r: Record<string, unknown>): DeliveryContext {
  return {
    delivery: { id: r.id as string, attemptCount: r.attempt_count as number, replay: r.replay as number, createdAt: r.created_at as Date },
    webhook: {
      id: r.w_id as string,
      name: r.w_name as string,
      type: r.w_type as ChannelType,
      urlEncrypted: r.url_encrypted as string,
      secretEncrypted: r.secret_encrypted as string | null,
      previousSecretEncrypted: r.previous_secret_encrypted as string | null,
      previousSecretExpiresAt: r.previous_secret_expires_at as Date | null,
      rateLimitCount: r.rate_limit_count as number | null,
      rateLimitPerSeconds: r.rate_limit_per_seconds as number | null,
      directMessage: r.direct_message as boolean,
      locale: r.locale as string | null,
      enabled: r.enabled as boolean,
      disabledReason: r.disabled_reason as string | null,
    },
    event: {
      id: r.e_id as string,
      type: r.e_type as string,
      level: r.level as string,
      title: r.title as string,
      source: r.source as EventSource,
      body: r.body as Record<string, unknown>,
      occurredAt: r.occurred_at as Date,
      receivedAt: r.received_at as Date,
    },
    project: { id: r.p_id as number, key: r.p_key as string, name: r.p_name as string },
  };
}
