import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { iso } from '../dto-helpers';
import type { ConnectionStatsDto, OverviewDto, WebhookStatsDto } from './stats.dto';
import { ID_CLOCK_MARGIN_MS, idFloor } from './time-ordered-ids';

const DAY_MS = 86_400_000;
const int = (v: unknown): number => Number(v ?? 0);

/**
 * Read-only figures for the console, each one statement. Time windows become id ranges of the
 * existing indexes (ids are time-ordered, see idFloor), so a query reads the window's rows, not
 * the project's history.
 */
@Injectable()
export class StatsQueries {
  constructor(private readonly db: DataSource) {}

  /** Per webhook of the project: deliveries of the last 24 h by outcome, and its latest delivery. */
  async webhooks(projectId: number, now = new Date()): Promise<{ since: string; items: WebhookStatsDto[] }> {
    const since = new Date(now.getTime() - DAY_MS);
    const rows: Array<Record<string, unknown>> = await this.db.query(
      `SELECT w.id, s.deliveries, s.succeeded, s.failed, l.created_at AS last_at, l.status AS last_status, l.attempt_started_at AS last_started
         FROM webhooks w
         CROSS JOIN LATERAL (
           SELECT count(*) AS deliveries,
                  count(*) FILTER (WHERE d.status = 'succeeded') AS succeeded,
                  count(*) FILTER (WHERE d.status IN ('failed', 'dead')) AS failed
             FROM deliveries d WHERE d.webhook_id = w.id AND d.id >= $2 AND d.created_at >= $3
         ) s
         LEFT JOIN LATERAL (
           SELECT d.created_at, d.status, d.attempt_started_at FROM deliveries d WHERE d.webhook_id = w.id ORDER BY d.id DESC LIMIT 1
         ) l ON true
        WHERE w.project_id = $1
        ORDER BY w.id`,
      [projectId, idFloor(new Date(since.getTime() - ID_CLOCK_MARGIN_MS)), since],
    );
    return {
      since: since.toISOString(),
      items: rows.map((r) => {
        const succeeded = int(r.succeeded);
        const failed = int(r.failed);
        return {
          webhookId: String(r.id),
          deliveries: int(r.deliveries),
          succeeded,
          failed,
          failureRate: succeeded + failed > 0 ? failed / (succeeded + failed) : null,
          lastDeliveryAt: iso(r.last_at as Date | null),
          lastDeliveryStatus: r.last_status === 'pending' && r.last_started ? 'delivering' : ((r.last_status as string | null) ?? null),
        };
      }),
    };
  }

  async overview(projectId: number, minutes: number, now = new Date()): Promise<OverviewDto> {
    const end = new Date(Math.floor(now.getTime() / 60_000) * 60_000 + 60_000);
    const since = new Date(end.getTime() - minutes * 60_000);
    // Deliveries created up to a day before the window may finish inside it.
    const deliveryFloor = idFloor(new Date(since.getTime() - DAY_MS));
    const [series, totals] = await Promise.all([
      this.db.query(
        `WITH minutes AS (SELECT generate_series($2::timestamptz, $3::timestamptz - interval '1 minute', interval '1 minute') AS minute),
         accepted AS (
           SELECT date_trunc('minute', received_at) AS minute, count(*) AS n FROM events
            WHERE project_id = $1 AND id >= $4 AND received_at >= $2 GROUP BY 1
         ),
         delivered AS (
           SELECT date_trunc('minute', delivered_at) AS minute, count(*) AS n FROM deliveries
            WHERE project_id = $1 AND id >= $5 AND status = 'succeeded' AND delivered_at >= $2 GROUP BY 1
         )
         SELECT m.minute, coalesce(a.n, 0) AS accepted, coalesce(d.n, 0) AS delivered
           FROM minutes m LEFT JOIN accepted a ON a.minute = m.minute LEFT JOIN delivered d ON d.minute = m.minute
          ORDER BY m.minute`,
        [projectId, since, end, idFloor(new Date(since.getTime() - ID_CLOCK_MARGIN_MS)), deliveryFloor],
      ),
      this.db.query(
        `SELECT
           (SELECT count(*) FROM deliveries WHERE project_id = $1 AND id >= $3 AND status IN ('failed', 'dead') AND updated_at >= $2) AS failed,
           (SELECT percentile_cont(0.95) WITHIN GROUP (ORDER BY extract(epoch FROM d.delivered_at - e.received_at) * 1000)
              FROM deliveries d JOIN events e ON e.id = d.event_id
             WHERE d.project_id = $1 AND d.id >= $3 AND d.status = 'succeeded' AND d.delivered_at >= $2) AS p95,
           (SELECT count(*) FROM deliveries WHERE project_id = $1 AND status = 'pending') AS backlog,
           (SELECT count(*) FROM deliveries WHERE project_id = $1 AND status = 'dead') AS dead,
           (SELECT count(*) FROM webhooks WHERE project_id = $1 AND NOT enabled) AS disabled`,
        [projectId, since, deliveryFloor],
      ),
    ]);
    const perMinute = (series as Array<Record<string, unknown>>).map((r) => ({
      minute: (r.minute as Date).toISOString(),
      accepted: int(r.accepted),
      delivered: int(r.delivered),
    }));
    const t = (totals as Array<Record<string, unknown>>)[0];
    const accepted = perMinute.reduce((n, m) => n + m.accepted, 0);
    const delivered = perMinute.reduce((n, m) => n + m.delivered, 0);
    const failed = int(t.failed);
    return {
      since: since.toISOString(),
      minutes,
      perMinute,
      accepted,
      delivered,
      failed,
      successRate: delivered + failed > 0 ? delivered / (delivered + failed) : null,
      p95LatencyMs: t.p95 === null ? null : Math.round(Number(t.p95)),
      backlog: int(t.backlog),
      dead: int(t.dead),
      disabledWebhooks: int(t.disabled),
    };
  }

  /** Per connection of the project: what was posted through it, and when last. */
  async connections(projectId: number): Promise<ConnectionStatsDto[]> {
    const rows: Array<Record<string, unknown>> = await this.db.query(
      `SELECT c.id, d.n AS deployments, d.last AS d_last, i.n AS issues, i.incidents, i.last AS i_last, p.n AS pull_requests, p.last AS p_last
         FROM devlake_connections c
         CROSS JOIN LATERAL (SELECT count(*) AS n, max(updated_at) AS last FROM devlake_deployments WHERE connection_id = c.id) d
         CROSS JOIN LATERAL (SELECT count(*) AS n, count(*) FILTER (WHERE type = 'INCIDENT') AS incidents, max(updated_at) AS last FROM devlake_issues WHERE connection_id = c.id) i
         CROSS JOIN LATERAL (SELECT count(*) AS n, max(updated_at) AS last FROM devlake_pull_requests WHERE connection_id = c.id) p
        WHERE c.project_id = $1
        ORDER BY c.id`,
      [projectId],
    );
    return rows.map((r) => {
      const last = [r.d_last, r.i_last, r.p_last].filter((d): d is Date => d instanceof Date).sort((a, b) => b.getTime() - a.getTime())[0] ?? null;
      return {
        connectionId: Number(r.id),
        lastReceivedAt: iso(last),
        deployments: int(r.deployments),
        issues: int(r.issues),
        incidents: int(r.incidents),
        pullRequests: int(r.pull_requests),
      };
    });
  }

  /** As DeliveryRepository.recover selects, without changing anything. */
  async recoverable(projectId: number, webhookId: string, since: Date, until: Date): Promise<number> {
    const [row] = await this.db.query(
      `SELECT count(*) AS n FROM deliveries WHERE webhook_id = $2 AND project_id = $1 AND status IN ('failed', 'dead') AND created_at >= $3 AND created_at < $4`,
      [projectId, webhookId, since, until],
    );
    return int(row?.n);
  }
}
