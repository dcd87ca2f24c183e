import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { boundedTransaction } from '../prepared';
import { FilteredFanOut, type FilterCandidate, type FilterCandidateEvent } from './filtered-fan-out';

/** The outbox channel: a trigger on `outbox` notifies it once per inserting transaction. */
export const OUTBOX_CHANNEL = 'herald_outbox';

/** A leased outbox row that carried a trace context (read with `traced` only). */
export interface TracedOutboxRow {
  kind: 'event' | 'delivery';
  /** The event id (kind `event`) or the delivery id (kind `delivery`, a replay). */
  ref: string;
  traceparent: string;
}

/** What one relay pass took from the outbox: the rows it leased, and the delivery jobs they stand for. */
export interface LeasedWork {
  outboxIds: string[];
  /** How many of the rows were events (the rest are replays). */
  events: number;
  /** With `traced`, `eventId` says which event a delivery fans out (none for a replay). */
  deliveries: Array<{ deliveryId: string; replay: number; eventId?: string }>;
  /** With `traced`: the leased rows that carried a trace context. */
  traces?: TracedOutboxRow[];
  /** The highest outbox id leased (null when none): where the next pass may go on from. */
  lastId: string | null;
  /** (event, webhook) pairs whose webhook's filter (issue 16) left the event out: no delivery. */
  filteredOut: number;
}

/**
 * The relay's statements are cancelled after this long (statement_timeout). A pass of 500 rows
 * takes milliseconds; the bound is for a plan or a lock wait gone wrong, so a pass always ends.
 */
export const RELAY_STATEMENT_TIMEOUT_MS = 10_000;

export interface LeaseOptions {
  /** Only rows with a higher id (the relay's position in a long backlog); null or absent: from the start. */
  after?: string | null;
  /** Postgres cancels the statement after this long (statement_timeout). */
  timeoutMs?: number;
  /** Also read each row's trace context and each delivery's event (tracing on); without it, the statement reads neither. */
  traced?: boolean;
}

/**
 * Leases up to $1 free outbox rows with ids above $3 (skipping rows another relay is locking or
 * leasing) for $2 ms, creates the deliveries of the leased events — one per (event, enabled webhook
 * subscribed to its type) pair; the unique pair keeps ids stable when an event is fanned out
 * twice — and returns: one row per leased outbox row (`outbox_id` and its `kind`), one per
 * delivery created, one per delivery of those events that was created earlier but never attempted
 * (a pass that died before its jobs were queued), and one per replay row. Rows inserted by this
 * statement are not visible to its own SELECT, so the created and the earlier deliveries never
 * overlap.
 *
 * Webhooks with a `filter` (issue 16) get no delivery here: the statement returns their pairs
 * (kind `filter_pair`) and, once per such event, the event (kind `filter_event`); leaseAndFanOut
 * then evaluates the filters in JavaScript and inserts the pairs that pass with a second statement
 * (FilteredFanOut), before its caller queues anything. Without filtered webhooks those branches return nothing and the pass
 * is the one statement it always was.
 *
 * Its cost is bounded by the rows it leases, whatever the backlog or the statistics (issue 10):
 * - the ids are picked once, in a MATERIALIZED step, by walking the primary key upwards from $3,
 *   so entries of rows already relayed (deleted, not yet vacuumed) or leased behind the relay's
 *   position are not walked again and again;
 * - every later step finds its rows by `= ANY (array)` of those ids (an index condition, never a
 *   join the planner could turn into a scan of a large table), and each event's webhooks by a
 *   per-event index lookup (`OFFSET 0` keeps that subquery from being flattened);
 * - it runs unprepared, in a transaction that allows only index scans and nested loops and sets
 *   a statement_timeout (see `boundedTransaction`), so no cached generic plan and no stale
 *   estimate can turn it into a scan of the whole outbox per row.
 */
const leaseSql = (traced: boolean) => {
  // Tracing on: rows also give their trace context, and deliveries the event they fan out.
  const also = (columns: string) => (traced ? `, ${columns}` : '');
  return `
  WITH picked AS MATERIALIZED (
    SELECT id FROM outbox
     WHERE id > $3::bigint AND (leased_until IS NULL OR leased_until < now())
     ORDER BY id LIMIT $1
     FOR UPDATE SKIP LOCKED
  ), leased AS MATERIALIZED (
    UPDATE outbox SET leased_until = now() + make_interval(secs => $2::double precision / 1000)
     WHERE id = ANY (ARRAY(SELECT id FROM picked))
    RETURNING id, kind, ref, replay${also('traceparent')}
  ), leased_events AS MATERIALIZED (
    SELECT ARRAY(SELECT ref FROM leased WHERE kind = 'event') AS ids
  ), targets AS MATERIALIZED (
    SELECT e.project_id, e.id AS event_id, e.type, w.id AS webhook_id, w.filter
      FROM events e
     CROSS JOIN LATERAL (
       SELECT id, filter FROM webhooks
        WHERE project_id = e.project_id AND enabled AND e.type = ANY (events)
       OFFSET 0
     ) w
     WHERE e.id = ANY ((SELECT ids FROM leased_events)::uuid[])
  ), created AS (
    INSERT INTO deliveries (project_id, event_id, webhook_id, event_type)
    SELECT project_id, event_id, webhook_id, type FROM targets
     WHERE filter IS NULL
     ORDER BY event_id, webhook_id
    ON CONFLICT (event_id, webhook_id) DO NOTHING
    RETURNING id${also('event_id')}
  )
  SELECT id::text AS outbox_id, kind, NULL::uuid AS delivery_id, 0 AS replay${also('ref, traceparent')}, NULL::jsonb AS candidate FROM leased
  UNION ALL
  SELECT NULL, NULL, id, 0${also('event_id, NULL')}, NULL FROM created
  UNION ALL
  SELECT NULL, NULL, d.id, 0${also('d.event_id, NULL')}, NULL FROM deliveries d
   WHERE d.event_id = ANY ((SELECT ids FROM leased_events)::uuid[])
     AND d.status = 'pending' AND d.attempt_started_at IS NULL AND d.attempt_count = 0 AND d.replay = 0
  UNION ALL
  SELECT NULL, NULL, l.ref, l.replay${also('NULL, NULL')}, NULL FROM leased l WHERE l.kind = 'delivery'
  UNION ALL
  SELECT NULL, 'filter_pair', NULL, 0${also('NULL, NULL')},
         jsonb_build_object('projectId', t.project_id, 'eventId', t.event_id, 'type', t.type, 'webhookId', t.webhook_id, 'filter', t.filter)
    FROM targets t WHERE t.filter IS NOT NULL
  UNION ALL
  SELECT NULL, 'filter_event', NULL, 0${also('NULL, NULL')},
         jsonb_build_object('id', e.id, 'type', e.type, 'level', e.level, 'title', e.title, 'source', e.source, 'body', e.body,
                            'occurredAt', to_char(e.occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
                            'receivedAt', to_char(e.received_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
                            'projectKey', p.key)
    FROM events e JOIN projects p ON p.id = e.project_id
   WHERE e.id = ANY (ARRAY(SELECT DISTINCT event_id FROM targets WHERE filter IS NOT NULL))`;
};
const LEASE_SQL = leaseSql(false);
const LEASE_TRACED_SQL = leaseSql(true);

interface LeaseRow {
  outbox_id: string | null;
  kind: string | null;
  delivery_id: string | null;
  replay: number;
  /** `traced` only: a leased row's ref, or a delivery's event. */
  ref?: string | null;
  traceparent?: string | null;
  /** Kinds `filter_pair` and `filter_event`: a filtered webhook's pair, or the event its filter reads. */
  candidate: Record<string, unknown> | null;
}

@Injectable()
export class OutboxRepository {
  private readonly filtered: FilteredFanOut;

  constructor(private readonly db: DataSource) {
    this.filtered = new FilteredFanOut(db);
  }

  /**
   * One relay step in one transaction (the lease statement, plus the filtered fan-out when filtered
   * webhooks subscribe to a leased event; it commits on its own): lease free rows, fan their events out,
   * and say which delivery jobs to queue. The caller queues them, then deletes the rows; if it
   * cannot, it releases them (or its lease runs out) and a later pass does it again.
   */
  async leaseAndFanOut(limit: number, leaseMs: number, options: LeaseOptions = {}): Promise<LeasedWork> {
    const timeoutMs = options.timeoutMs ?? RELAY_STATEMENT_TIMEOUT_MS;
    return boundedTransaction(this.db, { timeoutMs, indexOnly: true }, async (client) => {
      const { rows } = await client.query<LeaseRow>(options.traced ? LEASE_TRACED_SQL : LEASE_SQL, [limit, leaseMs, options.after ?? '0']);
      const work: LeasedWork = { outboxIds: [], events: 0, deliveries: [], lastId: null, filteredOut: 0 };
      if (options.traced) work.traces = [];
      let last = 0n;
      const candidates: FilterCandidate[] = [];
      const candidateEvents: FilterCandidateEvent[] = [];
      for (const r of rows) {
        if (r.kind === 'filter_pair' && r.candidate) {
          candidates.push(r.candidate as unknown as FilterCandidate);
        } else if (r.kind === 'filter_event' && r.candidate) {
          candidateEvents.push(r.candidate as unknown as FilterCandidateEvent);
        } else if (r.outbox_id !== null) {
          work.outboxIds.push(r.outbox_id);
          if (r.kind === 'event') work.events++;
          if (BigInt(r.outbox_id) > last) last = BigInt(r.outbox_id);
          if (r.traceparent && r.ref) work.traces?.push({ kind: r.kind === 'delivery' ? 'delivery' : 'event', ref: r.ref, traceparent: r.traceparent });
        } else if (r.delivery_id !== null) {
          work.deliveries.push(r.ref ? { deliveryId: r.delivery_id, replay: r.replay, eventId: r.ref } : { deliveryId: r.delivery_id, replay: r.replay });
        }
      }
      if (work.outboxIds.length) work.lastId = last.toString();
      if (candidates.length) {
        // Filtered webhooks: their deliveries exist before the caller queues and deletes, like the
        // others', and commit with the lease (same transaction): an ordered webhook's claim never
        // sees a leased event whose filtered deliveries are still to come (issue 16).
        const { created, filteredOut } = await this.filtered.fanOutWith(client, candidates, candidateEvents, options.traced ?? false);
        work.deliveries.push(...created);
        work.filteredOut = filteredOut;
      }
      return work;
    });
  }

  /** Removes rows whose work is queued. */
  async delete(ids: string[], timeoutMs = RELAY_STATEMENT_TIMEOUT_MS): Promise<void> {
    if (ids.length)
      await boundedTransaction(this.db, { timeoutMs, indexOnly: true }, (client) => client.query('DELETE FROM outbox WHERE id = ANY ($1::bigint[])', [ids]));
  }

  /** Gives leased rows back, free again after `afterMs` (so a failing pass is not retried in a loop). */
  async release(ids: string[], afterMs: number, timeoutMs = RELAY_STATEMENT_TIMEOUT_MS): Promise<void> {
    if (!ids.length) return;
    await boundedTransaction(this.db, { timeoutMs, indexOnly: true }, (client) =>
      client.query(`UPDATE outbox SET leased_until = now() + make_interval(secs => $2::double precision / 1000) WHERE id = ANY ($1::bigint[])`, [ids, afterMs]),
    );
  }

  /** Rows not yet relayed, counted up to `cap`. */
  async backlog(cap = Number.MAX_SAFE_INTEGER): Promise<number> {
    const [row]: Array<{ n: string }> = await this.db.query('SELECT count(*) AS n FROM (SELECT 1 FROM outbox LIMIT $1) o', [cap]);
    return Number(row.n);
  }
}
