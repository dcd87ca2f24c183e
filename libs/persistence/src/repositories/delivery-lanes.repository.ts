import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { changedRows } from '../prepared';
import { eventOfRow, type AttemptRecord, type DeliveryContext } from './delivery.repository';

/**
 * Digests and ordered delivery (issue 16; docs/architecture.md): the statements beyond the claim
 * and the record. The claim itself enforces ordering (`SUBJECT_CLEAR` in CLAIM_SQL); this
 * repository claims a digest's other deliveries, records or releases them, and finds which
 * delivery to wake next.
 */

/** One more delivery a digest carries: claimed by the leader's token, with the event it shows. */
export interface DigestMember {
  deliveryId: string;
  subject: string | null;
  event: DeliveryContext['event'];
}

export interface DigestClaim {
  /** The leading delivery, already claimed by `token` (its job's claim). */
  leadId: string;
  webhookId: string;
  token: string;
  /** The webhook's policy: merge only when more than this many deliveries wait. */
  afterQueued: number;
  /** At most this many deliveries in one message, the leader included. */
  maxItems: number;
  /** An attempt in progress for longer was abandoned (the claim's rule): such deliveries may be taken. */
  maxAttemptMs: number;
}

/** A delivery whose job should run now (its id and attempt chain give the job id). */
export interface WakeTarget {
  deliveryId: string;
  replay: number;
}

/**
 * Claims up to $3 more deliveries of the leader's webhook for one message, in one statement, owned
 * by the leader's claim token ($2) — when more than $4 deliveries of the webhook wait. Safe with
 * any number of workers:
 *
 * - candidates are the webhook's oldest pending digestible deliveries (by event id) with no attempt
 *   in progress (or one older than any attempt can last, as the claim takes over), locked with
 *   `FOR UPDATE SKIP LOCKED`: a row another statement is claiming is skipped, never waited for, so
 *   two digests of one webhook (or a digest and a single claim) never share a delivery and never
 *   deadlock; the UPDATE re-checks `pending` on the locked row;
 * - a candidate with a subject stays out while an earlier delivery of its subject is pending and
 *   not in this message (the ordering rule, SUBJECT_CLEAR's), so a message never overtakes;
 * - their retry times are not waited for: a rate-limited backlog is exactly what a digest sends.
 *
 * The other jobs of the claimed deliveries find them finished (or in progress) and end quietly.
 */
const CLAIM_DIGEST_SQL = `
  WITH lead AS MATERIALIZED (
    SELECT id, webhook_id FROM deliveries WHERE id = $1 AND webhook_id = $6 AND claim_token = $2 AND status = 'pending'
  ), waiting AS MATERIALIZED (
    SELECT count(*)::integer AS n FROM (
      SELECT 1 FROM deliveries WHERE webhook_id = $6 AND status = 'pending' AND digestible LIMIT $4::integer + 1) w
  ), candidates AS MATERIALIZED (
    SELECT d.id, d.event_id, d.subject FROM deliveries d
     WHERE EXISTS (SELECT 1 FROM lead) AND (SELECT n FROM waiting) > $4::integer
       AND d.webhook_id = $6 AND d.status = 'pending' AND d.digestible AND d.id <> $1
       AND (d.attempt_started_at IS NULL OR d.attempt_started_at < now() - make_interval(secs => $5::integer / 1000.0))
     ORDER BY d.event_id
     LIMIT $3
     FOR UPDATE SKIP LOCKED
  ), members AS (
    SELECT c.id, c.event_id FROM candidates c
     WHERE c.subject IS NULL OR (
       NOT EXISTS (SELECT 1 FROM deliveries p
                    WHERE p.webhook_id = $6 AND p.subject = c.subject AND p.status = 'pending' AND p.event_id < c.event_id
                      AND p.id <> $1 AND p.id NOT IN (SELECT id FROM candidates))
       AND coalesce((SELECT o.ref FROM outbox o WHERE o.kind = 'event' AND o.leased_until IS NULL ORDER BY o.id LIMIT 1) >= c.event_id, true))
  ), claimed AS (
    UPDATE deliveries d SET attempt_started_at = now(), claim_token = $2, updated_at = now()
      FROM members m
     WHERE d.id = m.id AND d.status = 'pending'
    RETURNING d.id, d.event_id, d.subject
  )
  SELECT c.id, c.subject, e.id AS e_id, e.type AS e_type, e.level, e.title, e.source, e.body, e.occurred_at, e.received_at
    FROM claimed c JOIN events e ON e.id = c.event_id
   ORDER BY e.id`;

/**
 * A digest's message was delivered: the leader and every member still held by its token become
 * `succeeded`, each with an attempt that names the leader, the leader's attempt number and the
 * number of deliveries the message carried. One statement, one commit.
 */
const RECORD_DIGEST_SQL = `
  WITH lead AS (
    UPDATE deliveries
       SET attempt_count = attempt_count + 1, chain_attempts = chain_attempts + 1, rate_limited_streak = 0, status = 'succeeded',
           attempt_started_at = NULL, claim_token = NULL, next_attempt_at = NULL, last_error = NULL, delivered_at = now(), updated_at = now()
     WHERE id = $1 AND claim_token = $2 AND status = 'pending'
    RETURNING id, attempt_count
  ), members AS (
    UPDATE deliveries
       SET attempt_count = attempt_count + 1, chain_attempts = chain_attempts + 1, rate_limited_streak = 0, status = 'succeeded',
           attempt_started_at = NULL, claim_token = NULL, next_attempt_at = NULL, last_error = NULL, delivered_at = now(), updated_at = now()
     WHERE id = ANY ($3::uuid[]) AND id <> $1 AND claim_token = $2 AND status = 'pending'
    RETURNING id, attempt_count
  ), done AS (
    SELECT id, attempt_count FROM lead UNION ALL SELECT id, attempt_count FROM members
  )
  INSERT INTO delivery_attempts AS a (delivery_id, number, started_at, duration_ms, status_code, outcome, error, response_body,
                                      digest_delivery_id, digest_attempt, digest_items)
  SELECT done.id, done.attempt_count, $4, $5, $6, 'delivered', NULL, $7, $1, (SELECT attempt_count FROM lead), $8
    FROM done
  ON CONFLICT (delivery_id, number) DO NOTHING
  RETURNING delivery_id, number`;

@Injectable()
export class DeliveryLanesRepository {
  constructor(private readonly db: DataSource) {}

  /** Claims the other deliveries of a digest (see CLAIM_DIGEST_SQL); [] when no more than `afterQueued` wait, or none is free. */
  async claimDigest(claim: DigestClaim): Promise<DigestMember[]> {
    const others = Math.max(0, Math.floor(claim.maxItems) - 1);
    if (others === 0) return [];
    const rows: Array<Record<string, unknown>> = await this.db.query(CLAIM_DIGEST_SQL, [
      claim.leadId,
      claim.token,
      others,
      Math.max(0, Math.floor(claim.afterQueued)),
      Math.round(claim.maxAttemptMs),
      claim.webhookId,
    ]);
    return rows.map((r) => ({
      deliveryId: r.id as string,
      subject: (r.subject as string | null) ?? null,
      event: eventOfRow(r),
    }));
  }

  /**
   * Records a delivered digest for the leader and the members its token still holds. Returns the
   * leader's attempt number (0 when its claim no longer held it) and the members recorded.
   */
  async recordDigest(leadId: string, token: string, memberIds: readonly string[], attempt: AttemptRecord): Promise<{ leadAttempt: number; members: string[] }> {
    const rows: Array<{ delivery_id: string; number: number }> = await this.db.query(RECORD_DIGEST_SQL, [
      leadId,
      token,
      memberIds,
      attempt.startedAt,
      attempt.durationMs,
      attempt.statusCode,
      attempt.responseBody,
      memberIds.length + 1,
    ]);
    return {
      leadAttempt: rows.find((r) => r.delivery_id === leadId)?.number ?? 0,
      members: rows.filter((r) => r.delivery_id !== leadId).map((r) => r.delivery_id),
    };
  }

  /**
   * The message did not go through: the members go back to waiting, unattempted (their own jobs,
   * or the next digest, send them), with the reason as their last error.
   */
  async releaseDigest(memberIds: readonly string[], token: string, reason: string): Promise<number> {
    if (memberIds.length === 0) return 0;
    return changedRows(
      this.db,
      `UPDATE deliveries SET attempt_started_at = NULL, claim_token = NULL, last_error = $3, updated_at = now()
        WHERE id = ANY ($1::uuid[]) AND claim_token = $2 AND status = 'pending'`,
      [memberIds, token, reason],
    );
  }

  /**
   * Marks the leader's latest attempt (the one just recorded: its number is the attempt count) as
   * a digest's, after a message that did not go through (the members were released).
   */
  async markDigestAttempt(leadId: string, items: number): Promise<void> {
    await changedRows(
      this.db,
      `UPDATE delivery_attempts a SET digest_delivery_id = $1, digest_attempt = a.number, digest_items = $2
         FROM deliveries d WHERE d.id = $1 AND a.delivery_id = $1 AND a.number = d.attempt_count`,
      [leadId, items],
    );
  }

  /** Whether this delivery is the oldest one waiting for its digest webhook: the one that sends the next message. */
  async isDigestHead(webhookId: string, deliveryId: string): Promise<boolean> {
    const [row]: Array<{ id: string }> = await this.db.query(
      `SELECT id FROM deliveries WHERE webhook_id = $1 AND status = 'pending' AND digestible ORDER BY event_id LIMIT 1`,
      [webhookId],
    );
    return row?.id === deliveryId;
  }

  /**
   * After a message of a digest webhook went through: makes its oldest waiting delivery due now
   * (a rate-limit deferral may have set it far out) and returns it, so its job can be woken; it
   * then sends the next message as soon as the limit has room. Null when none waits.
   */
  async nextDigestHead(webhookId: string): Promise<WakeTarget | null> {
    // TypeORM answers an UPDATE … RETURNING with [rows, affected].
    const [[row]]: [Array<{ id: string; replay: number }>, number] = await this.db.query(
      `UPDATE deliveries SET next_attempt_at = now(), updated_at = now()
        WHERE id = (SELECT id FROM deliveries WHERE webhook_id = $1 AND status = 'pending' AND digestible AND attempt_started_at IS NULL
                     ORDER BY event_id LIMIT 1)
          AND status = 'pending' AND attempt_started_at IS NULL
       RETURNING id, replay`,
      [webhookId],
    );
    return row ? { deliveryId: row.id, replay: row.replay } : null;
  }

  /** For each subject, its next unfinished delivery that is free to go now (its job is woken when the one before it finished). */
  async nextOfSubjects(webhookId: string, subjects: readonly string[]): Promise<WakeTarget[]> {
    if (subjects.length === 0) return [];
    const rows: Array<{ id: string; replay: number }> = await this.db.query(
      `SELECT n.id, n.replay
         FROM unnest($2::text[]) AS s(subject)
         CROSS JOIN LATERAL (
           SELECT d.id, d.replay, d.attempt_started_at FROM deliveries d
            WHERE d.webhook_id = $1 AND d.subject = s.subject AND d.status = 'pending'
            ORDER BY d.event_id LIMIT 1
         ) n
        WHERE n.attempt_started_at IS NULL`,
      [webhookId, [...new Set(subjects)]],
    );
    return rows.map((r) => ({ deliveryId: r.id, replay: r.replay }));
  }

  /**
   * After a PATCH of `ordering`, `digest` or `directMessage`: the webhook's pending deliveries get
   * the subject and digest flag the new settings give (fan-out sets them for new ones). Returns how
   * many changed.
   */
  async applyLanes(projectId: number, webhookId: string): Promise<number> {
    const [row]: Array<{ n: number }> = await this.db.query(`SELECT herald_apply_lanes($1, $2) AS n`, [projectId, webhookId]);
    return row?.n ?? 0;
  }
}
