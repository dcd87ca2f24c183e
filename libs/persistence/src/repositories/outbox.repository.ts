import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { preparedQuery } from '../prepared';

/** The outbox channel: a trigger on `outbox` notifies it once per inserting transaction. */
export const OUTBOX_CHANNEL = 'herald_outbox';

/** What one relay pass took from the outbox: the rows it leased, and the delivery jobs they stand for. */
export interface LeasedWork {
  outboxIds: string[];
  /** How many of the rows were events (the rest are replays). */
  events: number;
  deliveries: Array<{ deliveryId: string; replay: number }>;
}

/**
 * Leases up to $1 free outbox rows (skipping rows another relay is locking or leasing) for $2 ms,
 * creates the deliveries of the leased events — one per (event, enabled webhook subscribed to its
 * type) pair; the unique pair keeps ids stable when an event is fanned out twice — and returns:
 * one row per leased outbox row (`outbox_id` and its `kind`), one per delivery created, one per delivery
 * of those events that was created earlier but never attempted (a pass that died before its
 * jobs were queued), and one per replay row. Rows inserted by this statement are not visible to
 * its own SELECT, so the created and the earlier deliveries never overlap.
 */
const LEASE_SQL = `
  WITH leased AS (
    UPDATE outbox SET leased_until = now() + make_interval(secs => $2::double precision / 1000)
     WHERE id IN (
       SELECT id FROM outbox WHERE leased_until IS NULL OR leased_until < now()
        ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED)
    RETURNING id, kind, ref, replay
  ), created AS (
    INSERT INTO deliveries (project_id, event_id, webhook_id, event_type)
    SELECT e.project_id, e.id, w.id, e.type
      FROM leased l
      JOIN events e ON e.id = l.ref
      JOIN webhooks w ON w.project_id = e.project_id AND w.enabled AND e.type = ANY (w.events)
     WHERE l.kind = 'event'
     ORDER BY e.id, w.id
    ON CONFLICT (event_id, webhook_id) DO NOTHING
    RETURNING id
  )
  SELECT id::text AS outbox_id, kind, NULL::uuid AS delivery_id, 0 AS replay FROM leased
  UNION ALL
  SELECT NULL, NULL, id, 0 FROM created
  UNION ALL
  SELECT NULL, NULL, d.id, 0 FROM leased l JOIN deliveries d ON d.event_id = l.ref
   WHERE l.kind = 'event' AND d.status = 'pending' AND d.attempt_started_at IS NULL AND d.attempt_count = 0 AND d.replay = 0
  UNION ALL
  SELECT NULL, NULL, l.ref, l.replay FROM leased l WHERE l.kind = 'delivery'`;

@Injectable()
export class OutboxRepository {
  constructor(private readonly db: DataSource) {}

  /**
   * One relay step in one statement (it commits on its own): lease free rows, fan their events out,
   * and say which delivery jobs to queue. The caller queues them, then deletes the rows; if it
   * cannot, it releases them (or its lease runs out) and a later pass does it again.
   */
  async leaseAndFanOut(limit: number, leaseMs: number): Promise<LeasedWork> {
    const rows = await preparedQuery<{ outbox_id: string | null; kind: string | null; delivery_id: string | null; replay: number }>(
      this.db,
      'herald_outbox_lease_v2',
      LEASE_SQL,
      [limit, leaseMs],
    );
    const work: LeasedWork = { outboxIds: [], events: 0, deliveries: [] };
    for (const r of rows) {
      if (r.outbox_id !== null) {
        work.outboxIds.push(r.outbox_id);
        if (r.kind === 'event') work.events++;
      }
      else if (r.delivery_id !== null) work.deliveries.push({ deliveryId: r.delivery_id, replay: r.replay });
    }
    return work;
  }

  /** Removes rows whose work is queued. */
  async delete(ids: string[]): Promise<void> {
    if (ids.length) await this.db.query('DELETE FROM outbox WHERE id = ANY ($1::bigint[])', [ids]);
  }

  /** Gives leased rows back, free again after `afterMs` (so a failing pass is not retried in a loop). */
  async release(ids: string[], afterMs: number): Promise<void> {
    if (ids.length) {
      await this.db.query(`UPDATE outbox SET leased_until = now() + make_interval(secs => $2::double precision / 1000) WHERE id = ANY ($1::bigint[])`, [
        ids,
        afterMs,
      ]);
    }
  }

  /** Rows not yet relayed, counted up to `cap`. */
  async backlog(cap = Number.MAX_SAFE_INTEGER): Promise<number> {
    const [row]: Array<{ n: string }> = await this.db.query('SELECT count(*) AS n FROM (SELECT 1 FROM outbox LIMIT $1) o', [cap]);
    return Number(row.n);
  }
}
