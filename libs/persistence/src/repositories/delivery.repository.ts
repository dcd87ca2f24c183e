import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { MicroBatcher } from '@herald/platform';
import {
  NotFound,
  isUuid,
  type AttemptOutcome,
  type ChannelType,
  type DeliveryStatus,
  type DigestPolicy,
  type EventSource,
  type OrderingMode,
} from '@herald/domain';
import { DeliveryAttemptEntity, DeliveryEntity } from '../entities';
import { decodeCursor, toPage, type Page, type PageRequest } from '../pagination';
import { changedRows, preparedQuery } from '../prepared';

/** Everything one attempt needs, read in the same statement that marks the delivery's attempt as started. */
export interface DeliveryContext {
  delivery: {
    id: string;
    attemptCount: number;
    replay: number;
    createdAt: Date;
    /** Attempts of this chain that used the retry schedule: the next one is number chainAttempts + 1 of the schedule. */
    chainAttempts: number;
    /** Consecutive 429s (or platform rate-limit codes) of this chain, up to the attempt now started. */
    rateLimitedStreak: number;
    /** The claim that started this attempt: only it may record the result. */
    claimToken: string;
    /** What it is about, when its webhook orders by subject (issue 16); null otherwise. */
    subject: string | null;
    /** Whether a digest may carry it (issue 16). */
    digestible: boolean;
  };
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
    ordering: OrderingMode;
    digest: DigestPolicy | null;
    /** The webhook's message template for this event's type (issue 16), or null. */
    template: string | null;
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
 * The ordering condition of a claim (issue 16) for the delivery row `d`, as SQL: no earlier
 * delivery of its webhook and subject (by event id: UUIDv7, the order intake accepted them) is
 * still pending — a finished one (succeeded, failed or dead) releases the next — and no earlier
 * event is still in the outbox, not yet fanned out (another relay's pass may not have committed
 * the earlier event's deliveries yet). The outbox check reads only the oldest row not leased by a
 * committed pass (the left edge of its primary key), so it costs the same whatever the backlog;
 * rows a committed pass leased have their deliveries already.
 */
export const SUBJECT_CLEAR = (d: string) => `(
  NOT EXISTS (SELECT 1 FROM deliveries p
               WHERE p.webhook_id = ${d}.webhook_id AND p.subject = ${d}.subject AND p.status = 'pending' AND p.event_id < ${d}.event_id)
  AND coalesce((SELECT o.ref FROM outbox o WHERE o.kind = 'event' AND o.leased_until IS NULL ORDER BY o.id LIMIT 1) >= ${d}.event_id, true))`;

/**
 * `status = 'pending'` for a statement that finds its rows by primary key, written so that it
 * cannot be answered from `deliveries_unfinished` (`WHERE status = 'pending'`): the claim and the
 * record are prepared, and a generic plan made when statistics say few deliveries are pending
 * (after a drain) scanned that whole index and joined it with the batch — every entry a backlog
 * left there until vacuum removes them, 4 ms per record at 200 events/s after a 20 000-delivery
 * drain. Postgres does not see that `(…) IS TRUE` implies the index's predicate, so the plan looks
 * each row up by its id. (`status` is never null, so the meaning is the same.)
 */
const PENDING_BY_ID = (d: string) => `(${d}.status = 'pending') IS TRUE`;

/**
 * Starts the attempts of a batch of deliveries (they show as `delivering`) and reads what the
 * attempts need, in one statement. Only columns outside every index change, so it is a HOT update.
 * A delivery is claimed only when all of these hold, so no two jobs ever work one delivery at once:
 *
 * - it is `pending` (a duplicated job finds a final delivery and does nothing);
 * - the job belongs to its current attempt chain (`replay`): a job from before a replay never
 *   touches the new chain;
 * - no attempt is in progress, unless that attempt started longer ago than any attempt can last
 *   (`max_attempt_ms`): then its worker died or lost its job, and the claim takes over (a job
 *   re-run after `kill -9` claims again once that time has passed);
 * - it is due (`next_attempt_at`, with a second of slack for clocks): a job that woke early, or
 *   one re-queued by the reconciler, waits for the retry time the schedule gave;
 * - with a `subject` (its webhook orders by subject, issue 16): no earlier delivery of the same
 *   webhook and subject (by event id, the acceptance order) is still pending, and no earlier event
 *   is still waiting in the outbox to be fanned out (SUBJECT_CLEAR).
 *
 * Several claims of one delivery in one batch: one wins (its token is the one stored).
 */
/** Exported for the plan spec (delivery-writes.int-spec.ts). */
export const CLAIM_SQL = `
  WITH input AS (
    SELECT * FROM unnest($1::uuid[], $2::integer[], $3::uuid[], $4::integer[]) AS x(id, replay, token, max_attempt_ms)
  ), d AS (
    UPDATE deliveries SET attempt_started_at = now(), claim_token = input.token, updated_at = now()
      FROM input
     WHERE deliveries.id = input.id AND ${PENDING_BY_ID('deliveries')} AND deliveries.replay = input.replay
       AND (deliveries.attempt_started_at IS NULL
            OR deliveries.attempt_started_at < now() - make_interval(secs => input.max_attempt_ms / 1000.0))
       AND (deliveries.next_attempt_at IS NULL OR deliveries.next_attempt_at <= now() + interval '1 second')
       AND (deliveries.subject IS NULL OR ${SUBJECT_CLEAR('deliveries')})
    RETURNING deliveries.id, deliveries.project_id, deliveries.event_id, deliveries.webhook_id, deliveries.attempt_count,
              deliveries.replay, deliveries.created_at, deliveries.chain_attempts, deliveries.rate_limited_streak, deliveries.claim_token,
              deliveries.subject, deliveries.digestible
  )
  SELECT d.id, d.attempt_count, d.replay, d.created_at, d.chain_attempts, d.rate_limited_streak, d.claim_token, d.subject, d.digestible,
         w.id AS w_id, w.name AS w_name, w.type AS w_type, w.url_encrypted, w.secret_encrypted,
         w.previous_secret_encrypted, w.previous_secret_expires_at, w.rate_limit_count, w.rate_limit_per_seconds,
         w.direct_message, w.locale, w.enabled, w.disabled_reason, w.ordering, w.digest, w.templates ->> e.type AS w_template,
         e.id AS e_id, e.type AS e_type, e.level, e.title, e.source, e.body, e.occurred_at, e.received_at,
         p.id AS p_id, p.key AS p_key, p.name AS p_name
    FROM d
    JOIN webhooks w ON w.id = d.webhook_id
    JOIN events e ON e.id = d.event_id
    JOIN projects p ON p.id = d.project_id`;

/**
 * Why claims were refused (the rare path): final, another chain, or when the delivery may be
 * claimed (the attempt in progress has outlived any attempt, or the retry is due), as a wait in
 * Postgres' clock. For a delivery with a subject, also how many earlier deliveries of its subject
 * are unfinished (up to 20) and how long the first of them waits for its retry (issue 16).
 */
const REFUSED_SQL = `
  SELECT d.id, d.status, d.replay,
         greatest(0,
           extract(epoch FROM d.attempt_started_at + make_interval(secs => $2::integer / 1000.0) - now()) * 1000,
           extract(epoch FROM d.next_attempt_at - now()) * 1000)::integer AS wait_ms,
         d.subject IS NOT NULL AS ordered, h.earlier, h.head_wait_ms
    FROM deliveries d
    LEFT JOIN LATERAL (
      SELECT count(*)::integer AS earlier,
             (array_agg(CASE WHEN p.attempt_started_at IS NULL THEN greatest(0, extract(epoch FROM p.next_attempt_at - now()) * 1000) ELSE 0 END
                        ORDER BY p.event_id))[1]::integer AS head_wait_ms
        FROM (SELECT attempt_started_at, next_attempt_at, event_id FROM deliveries p
               WHERE p.webhook_id = d.webhook_id AND p.subject = d.subject AND p.status = 'pending' AND p.event_id < d.event_id
               ORDER BY p.event_id LIMIT 20) p
       WHERE d.subject IS NOT NULL
    ) h ON true
   WHERE d.id = ANY ($1::uuid[])`;

/**
 * Updates a batch of deliveries and appends one attempt to each, in one statement (one commit for
 * the batch); each attempt's number is its delivery's new attempt count. Only the claim that
 * started the attempt records it (`claim_token`), and only while the delivery is still pending:
 * a late or duplicated record changes nothing. A 429 that uses no attempt and follows another
 * one updates that attempt's row (`repeats` + 1) instead of adding one.
 */
/** Exported for the plan spec (delivery-writes.int-spec.ts). */
export const RECORD_SQL = `
  WITH input AS (
    SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::timestamptz[], $5::text[], $6::timestamptz[], $7::integer[],
                         $8::integer[], $9::text[], $10::text[], $11::text[], $12::boolean[])
      AS x(id, token, status, next_attempt_at, last_error, started_at, duration_ms, status_code, outcome, error, response_body, uses_attempt)
  ), d AS (
    UPDATE deliveries
       SET attempt_count = deliveries.attempt_count
             + CASE WHEN input.outcome = 'rate_limited' AND NOT input.uses_attempt AND deliveries.rate_limited_streak > 0 THEN 0 ELSE 1 END,
           chain_attempts = deliveries.chain_attempts + input.uses_attempt::integer,
           rate_limited_streak = CASE WHEN input.outcome = 'rate_limited' THEN deliveries.rate_limited_streak + 1 ELSE 0 END,
           status = input.status,
           attempt_started_at = NULL,
           claim_token = NULL,
           next_attempt_at = input.next_attempt_at,
           last_error = input.last_error,
           delivered_at = CASE WHEN input.status = 'succeeded' THEN now() ELSE deliveries.delivered_at END,
           updated_at = now()
      FROM input
     WHERE deliveries.id = input.id AND deliveries.claim_token = input.token AND ${PENDING_BY_ID('deliveries')}
    RETURNING deliveries.id, deliveries.attempt_count
  )
  INSERT INTO delivery_attempts AS a (delivery_id, number, started_at, duration_ms, status_code, outcome, error, response_body)
  SELECT d.id, d.attempt_count, input.started_at, input.duration_ms, input.status_code, input.outcome, input.error, input.response_body
    FROM d JOIN input ON input.id = d.id
  ON CONFLICT (delivery_id, number) DO UPDATE
     SET repeats = a.repeats + 1, last_started_at = EXCLUDED.started_at, duration_ms = EXCLUDED.duration_ms,
         status_code = EXCLUDED.status_code, error = EXCLUDED.error, response_body = EXCLUDED.response_body
  RETURNING delivery_id, number`;

/** A status as stored (`delivering` is derived from `attempt_started_at`). */
type StoredStatus = Exclude<DeliveryStatus, 'delivering'>;

/** One job's request to start an attempt of a delivery. */
export interface ClaimRequest {
  deliveryId: string;
  /** The job's attempt chain (0 for the first, n after the n-th replay). */
  replay: number;
  /** Unique per claim; the record must carry it. */
  token: string;
  /** The longest an attempt can last: an attempt in progress for longer was abandoned. */
  maxAttemptMs: number;
}

export type ClaimResult =
  | { kind: 'claimed'; context: DeliveryContext }
  /** Nothing to do for this job: the delivery is final, gone, or in another chain. */
  | { kind: 'done'; reason: string }
  /**
   * Another attempt is in progress, the retry is not due, or (issue 16) an earlier delivery of its
   * subject is unfinished (`heldBy`): ask again after `waitMs`.
   */
  | { kind: 'wait'; waitMs: number; reason: string; heldBy?: 'subject' | 'fan-out' };

interface RecordItem {
  deliveryId: string;
  token: string;
  status: StoredStatus;
  nextAttemptAt: Date | null;
  attempt: AttemptRecord;
  usesAttempt: boolean;
}

/** Statements of the hot path run batched: up to this many rows share one statement and commit. */
const HOT_BATCH = 200;

@Injectable()
export class DeliveryRepository {
  /**
   * Concurrent claims and records are grouped (MicroBatcher): under load, one statement and one
   * commit serve many deliveries; alone, a call goes out at once. A quarter of the pool at most.
   */
  private readonly claims: MicroBatcher<ClaimRequest, ClaimResult>;
  private readonly records: MicroBatcher<RecordItem, number>;

  constructor(private readonly db: DataSource) {
    const maxConcurrent = Math.max(1, Math.min(2, Math.floor(((db.options as { poolSize?: number }).poolSize ?? 8) / 4)));
    this.claims = new MicroBatcher((requests) => this.claimBatch(requests), { maxBatch: HOT_BATCH, maxConcurrent });
    this.records = new MicroBatcher((items) => this.recordBatch(items), { maxBatch: HOT_BATCH, maxConcurrent });
  }

  /** Starts an attempt (the delivery shows `delivering`) and reads what it needs, if this job may (see CLAIM_SQL). */
  claim(request: ClaimRequest): Promise<ClaimResult> {
    return this.claims.submit(request);
  }

  /**
   * Records one attempt and the delivery's new status; returns the attempt's number, or 0 when
   * this claim no longer holds the delivery (nothing was written). `usesAttempt` says whether the
   * attempt counts against the retry schedule (a 429 within the free streak does not).
   */
  recordAttempt(
    deliveryId: string,
    token: string,
    status: StoredStatus,
    nextAttemptAt: Date | null,
    attempt: AttemptRecord,
    usesAttempt: boolean,
  ): Promise<number> {
    return this.records.submit({ deliveryId, token, status, nextAttemptAt, attempt, usesAttempt });
  }

  private async claimBatch(requests: ClaimRequest[]): Promise<ClaimResult[]> {
    const col = <T>(f: (r: ClaimRequest) => T) => requests.map(f);
    const rows = await preparedQuery<Record<string, unknown>>(this.db, 'herald_claim_v4', CLAIM_SQL, [
      col((r) => r.deliveryId),
      col((r) => r.replay),
      col((r) => r.token),
      col((r) => Math.round(r.maxAttemptMs)),
    ]);
    const won = new Map(rows.map((r) => [r.claim_token as string, toContext(r)]));
    const results = new Map<ClaimRequest, ClaimResult>();
    for (const r of requests) {
      const context = won.get(r.token);
      if (context) results.set(r, { kind: 'claimed', context });
    }
    const refused = requests.filter((r) => !results.has(r));
    if (refused.length) {
      const maxAttemptMs = Math.max(...refused.map((r) => Math.round(r.maxAttemptMs)));
      const found: RefusedRow[] = await this.db.query(REFUSED_SQL, [[...new Set(refused.map((r) => r.deliveryId))], maxAttemptMs]);
      const byId = new Map(found.map((f) => [f.id, f]));
      for (const r of refused) results.set(r, refusal(r, byId.get(r.deliveryId)));
    }
    return requests.map((r) => results.get(r) as ClaimResult);
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
    const rows = await preparedQuery<{ delivery_id: string; number: number }>(this.db, 'herald_record_v4', RECORD_SQL, [
      col((i) => i.deliveryId),
      col((i) => i.token),
      col((i) => i.status),
      col((i) => i.nextAttemptAt),
      col((i) => (i.attempt.outcome === 'delivered' ? null : i.attempt.error)),
      col((i) => i.attempt.startedAt),
      col((i) => i.attempt.durationMs),
      col((i) => i.attempt.statusCode),
      col((i) => i.attempt.outcome),
      col((i) => i.attempt.error),
      col((i) => i.attempt.responseBody),
      col((i) => i.usesAttempt),
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
         UPDATE deliveries SET replay = replay + 1, status = 'pending', attempt_started_at = NULL, claim_token = NULL,
                chain_attempts = 0, rate_limited_streak = 0, next_attempt_at = now(), updated_at = now()
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
         UPDATE deliveries SET replay = replay + 1, status = 'pending', attempt_started_at = NULL, claim_token = NULL,
                chain_attempts = 0, rate_limited_streak = 0, next_attempt_at = now(), updated_at = now()
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
   * Auto-disable (docs/contract.md §6.7): disables the webhook when its last `failures` finished deliveries all
   * ended failed or dead and the oldest of them ended at least `days` before the newest. Only
   * deliveries that finished since the webhook was last changed count: re-enabling it or fixing
   * its URL starts a new streak. Returns whether this call disabled it.
   */
  async disableIfFailing(webhookId: string, failures: number, days: number, reason: string): Promise<boolean> {
    const changed = await changedRows(
      this.db,
      `WITH last AS (
         SELECT d.status, d.updated_at FROM deliveries d JOIN webhooks w ON w.id = d.webhook_id
          WHERE d.webhook_id = $1 AND d.status IN ('succeeded', 'failed', 'dead') AND d.updated_at >= w.updated_at
          ORDER BY d.id DESC LIMIT $2
       )
       UPDATE webhooks SET enabled = false, disabled_reason = $4, disabled_at = now(), updated_at = now()
        WHERE id = $1 AND enabled
          AND (SELECT count(*) FROM last WHERE status IN ('failed', 'dead')) = $2
          AND (SELECT max(updated_at) - min(updated_at) FROM last) >= make_interval(secs => $3::double precision * 86400)`,
      [webhookId, failures, days, reason],
    );
    return changed > 0;
  }

  /** Disables a webhook at once (410 Gone). Returns whether this call disabled it. */
  async disable(webhookId: string, reason: string): Promise<boolean> {
    const changed = await changedRows(
      this.db,
      `UPDATE webhooks SET enabled = false, disabled_reason = $2, disabled_at = now(), updated_at = now() WHERE id = $1 AND enabled`,
      [webhookId, reason],
    );
    return changed > 0;
  }

  /**
   * The reconciler's scan: the next `limit` deliveries still pending or delivering after `after`,
   * in (project, id) order, whatever their age — one range of the partial index
   * `deliveries_unfinished`, so a pass costs `limit` index entries however large the backlog and
   * however many deliveries have finished. Each row says whether it is `stale` (unchanged for more
   * than `olderThanMs`): waiting for a scheduled retry, or orphaned (its job was lost); the caller
   * asks Redis which. Fewer than `limit` rows: the scan reached the end, and the next one starts
   * again from the beginning.
   */
  async unfinishedAfter(after: UnfinishedCursor | null, olderThanMs: number, limit: number): Promise<UnfinishedDelivery[]> {
    const rows: Array<{ project_id: number; id: string; replay: number; chain_attempts: number; stale: boolean; due_in_ms: string }> = await this.db.query(
      `SELECT project_id, id, replay, chain_attempts,
              updated_at < now() - make_interval(secs => $3::double precision / 1000) AS stale,
              greatest(0, coalesce(extract(epoch FROM next_attempt_at - now()) * 1000, 0))::bigint AS due_in_ms
         FROM deliveries
        WHERE status = 'pending' AND (project_id, id) > ($1::integer, $2::uuid)
        ORDER BY project_id, id
        LIMIT $4`,
      [after?.projectId ?? 0, after?.id ?? '00000000-0000-0000-0000-000000000000', olderThanMs, limit],
    );
    return rows.map((r) => ({
      projectId: r.project_id,
      id: r.id,
      replay: r.replay,
      chainAttempts: r.chain_attempts,
      stale: r.stale,
      dueInMs: Number(r.due_in_ms),
    }));
  }

  /**
   * Changes status without an attempt (a rate-limit deferral, a disabled webhook), ending the
   * attempt this claim started; nothing happens when the claim no longer holds the delivery.
   */
  async release(deliveryId: string, token: string, status: StoredStatus, nextAttemptAt: Date | null, lastError: string | null): Promise<boolean> {
    const changed = await changedRows(
      this.db,
      `UPDATE deliveries SET status = $3, attempt_started_at = NULL, claim_token = NULL, next_attempt_at = $4, last_error = COALESCE($5, last_error), updated_at = now()
        WHERE id = $1 AND claim_token = $2 AND status = 'pending'`,
      [deliveryId, token, status, nextAttemptAt, lastError],
    );
    return changed > 0;
  }

  /** Ends a delivery's chain as `dead` when its job kept killing its worker (unless it finished, or was replayed, meanwhile). */
  async markDeadAfterStalls(deliveryId: string, replay: number, reason: string): Promise<boolean> {
    const changed = await changedRows(
      this.db,
      `UPDATE deliveries SET status = 'dead', attempt_started_at = NULL, claim_token = NULL, next_attempt_at = NULL, last_error = $3, updated_at = now()
        WHERE id = $1 AND replay = $2 AND status = 'pending'`,
      [deliveryId, replay, reason],
    );
    return changed > 0;
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

/** Where the reconciler's scan goes on from: the last delivery it examined. */
export interface UnfinishedCursor {
  projectId: number;
  id: string;
}

export interface UnfinishedDelivery extends UnfinishedCursor {
  replay: number;
  chainAttempts: number;
  /** Unchanged for longer than the threshold: its job may be lost. */
  stale: boolean;
  /** How long until its scheduled retry (0 when due). */
  dueInMs: number;
}

interface RefusedRow {
  id: string;
  status: string;
  replay: number;
  wait_ms: number;
  /** It has a subject (its webhook orders by subject). */
  ordered: boolean;
  /** Unfinished earlier deliveries of its subject (up to 20; 0 without a subject). */
  earlier: number | null;
  /** How long the first of them waits for its retry (0 when due or in progress). */
  head_wait_ms: number | null;
}

/** A delivery held for its subject polls at this pace per earlier delivery ahead of it (the one just behind is woken when its predecessor settles). */
export const SUBJECT_WAIT_STEP_MS = 250;
/** The longest a held delivery waits before it asks again. */
export const SUBJECT_WAIT_MAX_MS = 30_000;

function refusal(request: ClaimRequest, found: RefusedRow | undefined): ClaimResult {
  if (!found) return { kind: 'done', reason: 'delivery no longer exists' };
  if (found.replay !== request.replay)
    return { kind: 'done', reason: `superseded: the delivery is on attempt chain ${found.replay}, this job is chain ${request.replay}` };
  if (found.status !== 'pending') return { kind: 'done', reason: 'already final' };
  if (found.wait_ms > 0 || !found.ordered)
    return { kind: 'wait', waitMs: Math.max(100, found.wait_ms), reason: 'another attempt is in progress, or the retry is not due yet' };
  const earlier = found.earlier ?? 0;
  if (earlier > 0) {
    // Until the first of its subject's earlier deliveries may be tried again, and at least a step per delivery ahead.
    const waitMs = Math.min(SUBJECT_WAIT_MAX_MS, Math.max(found.head_wait_ms ?? 0, SUBJECT_WAIT_STEP_MS * earlier));
    return {
      kind: 'wait',
      waitMs,
      reason: `held for its subject: ${earlier}${earlier >= 20 ? ' or more' : ''} earlier deliveries of the same subject are unfinished`,
      heldBy: 'subject',
    };
  }
  // Due, not in progress, nothing earlier of its subject: an earlier event is not fanned out yet (or the holder finished just now).
  return { kind: 'wait', waitMs: SUBJECT_WAIT_STEP_MS, reason: 'held for its subject: an earlier event is not fanned out yet', heldBy: 'fan-out' };
}

function toContext(r: Record<string, unknown>): DeliveryContext {
  return {
    delivery: {
      id: r.id as string,
      attemptCount: r.attempt_count as number,
      replay: r.replay as number,
      createdAt: r.created_at as Date,
      chainAttempts: r.chain_attempts as number,
      rateLimitedStreak: r.rate_limited_streak as number,
      claimToken: r.claim_token as string,
      subject: (r.subject as string | null) ?? null,
      digestible: r.digestible === true,
    },
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
      ordering: (r.ordering as OrderingMode | undefined) ?? 'none',
      digest: (r.digest as DigestPolicy | null) ?? null,
      template: (r.w_template as string | null) ?? null,
    },
    event: eventOfRow(r),
    project: { id: r.p_id as number, key: r.p_key as string, name: r.p_name as string },
  };
}

/** The event of a claimed delivery's row (columns `e_id`, `e_type`, `level`, `title`, `source`, `body`, `occurred_at`, `received_at`). */
export function eventOfRow(r: Record<string, unknown>): DeliveryContext['event'] {
  return {
    id: r.e_id as string,
    type: r.e_type as string,
    level: r.level as string,
    title: r.title as string,
    source: r.source as EventSource,
    body: r.body as Record<string, unknown>,
    occurredAt: r.occurred_at as Date,
    receivedAt: r.received_at as Date,
  };
}
