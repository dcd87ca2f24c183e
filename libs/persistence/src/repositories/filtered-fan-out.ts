import { Logger } from '@nestjs/common';
import type { PoolClient } from 'pg';
import type { DataSource } from 'typeorm';
import { FILTER_LIMITS, checkFilter, matchesFilter, type CompiledFilter, type FilterCost } from '@herald/domain';
import { boundedTransaction } from '../prepared';

/** A leased event and a webhook with a filter that subscribes to its type (from the lease statement). */
export interface FilterCandidate {
  projectId: number;
  eventId: string;
  type: string;
  webhookId: string;
  filter: unknown;
}

/** A leased event as its filters read it: the event as the events API returns it (docs/contract.md §4). */
export interface FilterCandidateEvent {
  id: string;
  type: string;
  level: string;
  title: string;
  source: string;
  body: Record<string, unknown> | null;
  occurredAt: string;
  receivedAt: string;
  projectKey: string;
}

/** Compiled filters kept per process, by their JSON (a changed filter is another entry). */
const CACHE_SIZE = 1000;

/**
 * Inserts the deliveries of one pass's filtered (event, webhook) pairs whose filter passes: one
 * statement, like the lease's own insert (ON CONFLICT keeps a pair's delivery unique, so a pass
 * repeated after a crash creates nothing twice; an earlier pass's never-attempted deliveries come
 * back through the lease statement). A webhook deleted since the lease is skipped.
 */
const INSERT_SQL = (traced: boolean) => `
  INSERT INTO deliveries (project_id, event_id, webhook_id, event_type)
  SELECT x.project_id, x.event_id, x.webhook_id, x.type
    FROM unnest($1::integer[], $2::uuid[], $3::uuid[], $4::text[]) AS x(project_id, event_id, webhook_id, type)
   WHERE EXISTS (SELECT 1 FROM webhooks w WHERE w.id = x.webhook_id)
   ORDER BY x.event_id, x.webhook_id
  ON CONFLICT (event_id, webhook_id) DO NOTHING
  RETURNING id${traced ? ', event_id' : ''}`;

/**
 * The second step of a relay pass for webhooks with a filter (issue 16, item 2; the choice is in
 * docs/decisions.md): the filters run here, in the relay's process, with the pure evaluator of
 * `@herald/domain`; a pair that does not pass gets no delivery.
 */
export class FilteredFanOut {
  private readonly logger = new Logger('Relay');
  private readonly compiled = new Map<string, CompiledFilter | null>();

  constructor(private readonly db: DataSource) {}

  /** The pairs whose event passes its webhook's filter. */
  decide(candidates: readonly FilterCandidate[], events: readonly FilterCandidateEvent[]): { pass: FilterCandidate[]; filteredOut: number } {
    const views = new Map(events.map((e) => [e.id, eventView(e)]));
    const pass: FilterCandidate[] = [];
    for (const c of candidates) {
      const view = views.get(c.eventId);
      // The lease statement returns every candidate's event; without it, deliver rather than drop.
      if (view === undefined) {
        pass.push(c);
        continue;
      }
      const cost: FilterCost = { steps: 0 };
      if (matchesFilter(this.compile(c), view, cost)) pass.push(c);
      if (cost.exhausted) {
        this.logger.warn(
          { webhookId: c.webhookId, eventId: c.eventId },
          `webhook filter stopped after ${FILTER_LIMITS.steps} steps on a very large event: the event is delivered unfiltered`,
        );
      }
    }
    return { pass, filteredOut: candidates.length - pass.length };
  }

  async fanOut(
    candidates: readonly FilterCandidate[],
    events: readonly FilterCandidateEvent[],
    timeoutMs: number,
    traced: boolean,
  ): Promise<{ created: Array<{ deliveryId: string; replay: number; eventId?: string }>; filteredOut: number }> {
    return boundedTransaction(this.db, { timeoutMs, indexOnly: true }, (client) => this.fanOutWith(client, candidates, events, traced));
  }

  /**
   * The same, on a client already in a transaction: the relay runs it in the lease's own
   * transaction, so a leased event's filtered deliveries commit with the lease and the unfiltered
   * ones (an ordered webhook's later delivery can never be claimed while an earlier event's
   * filtered delivery is still to be inserted; see docs/decisions.md, digests and ordering).
   */
  async fanOutWith(
    client: PoolClient,
    candidates: readonly FilterCandidate[],
    events: readonly FilterCandidateEvent[],
    traced: boolean,
  ): Promise<{ created: Array<{ deliveryId: string; replay: number; eventId?: string }>; filteredOut: number }> {
    const { pass, filteredOut } = this.decide(candidates, events);
    if (pass.length === 0) return { created: [], filteredOut };
    const { rows } = await client.query<{ id: string; event_id?: string }>(INSERT_SQL(traced), [
      pass.map((p) => p.projectId),
      pass.map((p) => p.eventId),
      pass.map((p) => p.webhookId),
      pass.map((p) => p.type),
    ]);
    return { created: rows.map((r) => (r.event_id ? { deliveryId: r.id, replay: 0, eventId: r.event_id } : { deliveryId: r.id, replay: 0 })), filteredOut };
  }

  /**
   * A stored filter was checked when it was saved. One that no longer compiles (a later release
   * with tighter limits) lets every event through, with a warning: a filter narrows what a channel
   * gets, and losing notifications silently would be worse than sending more.
   */
  private compile(c: FilterCandidate): CompiledFilter | null {
    const key = JSON.stringify(c.filter);
    let compiled = this.compiled.get(key);
    if (compiled === undefined) {
      const checked = checkFilter(c.filter);
      if (checked.problems.length) {
        this.logger.warn(
          { webhookId: c.webhookId, problems: checked.problems },
          'stored webhook filter no longer valid: every event of its types is delivered until the filter is fixed (PATCH the webhook)',
        );
      }
      compiled = checked.compiled;
      if (this.compiled.size >= CACHE_SIZE) this.compiled.delete(this.compiled.keys().next().value as string);
      this.compiled.set(key, compiled);
    }
    return compiled;
  }
}

/** The event as the events API returns it, and as the delivery worker rebuilds it (toHeraldEvent). */
export function eventView(e: FilterCandidateEvent): Record<string, unknown> {
  return {
    ...(e.body ?? {}),
    id: e.id,
    type: e.type,
    level: e.level,
    title: e.title,
    source: e.source,
    occurredAt: e.occurredAt,
    receivedAt: e.receivedAt,
    projectKey: e.projectKey,
  };
}
