import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { v7 } from 'uuid';
import { createTestDatabase } from '@herald/testing';
import { dataSourceOptions } from '../data-source';
import { DeliveryRepository } from '../repositories/delivery.repository';
import { PURGE_LEASE, RetentionPurge, type PurgeHooks, type RetentionPhase, type RetentionSettings } from './retention-purge';
import { RetentionRepository, uuidV7Bound, type Removed } from './retention.repository';

const DAY = 86_400_000;
/** The moment every purge here measures from (pinned, so the window's edge can be tested to the millisecond). */
const NOW = new Date('2030-06-01T12:00:00.000Z');
const CUTOFF = new Date(NOW.getTime() - 30 * DAY);
const ago = (ms: number) => new Date(NOW.getTime() - ms);

interface Seed {
  /** When each event was received (its UUIDv7 carries the same time, as intake's do). */
  receivedAt: Date;
  /** Events to make, 1 ms apart. */
  n?: number;
  /** Status of each event's delivery (none: no delivery, as for an event without subscribers). */
  status?: 'pending' | 'delivering' | 'succeeded' | 'failed' | 'dead';
  /** The delivery's last change (default: 1 s after the event). */
  updatedAt?: Date;
  attempts?: number;
  /** Also a direct-message ledger row per delivery. */
  dm?: boolean;
  /** The event still has its outbox row (not fanned out yet). */
  inOutbox?: boolean;
  /** The id was made this long before the event was received (intake makes ids before its INSERT). */
  idEarlierMs?: number;
}

describe('retention purge against Postgres (issue 13, item 6)', () => {
  let db: DataSource;
  let url: string;
  let repo: RetentionRepository;
  let projectId: number;
  let webhookId: string;
  const settings = (over: Partial<RetentionSettings> = {}): RetentionSettings => ({ days: 30, devLakeDays: null, batch: 10, pauseMs: 0, ...over });
  const count = async (table: string, where = 'true') => (await db.query(`SELECT count(*)::int AS n FROM ${table} WHERE ${where}`))[0].n as number;
  const exists = async (table: string, ids: string[]) =>
    (await db.query(`SELECT count(*)::int AS n FROM ${table} WHERE id = ANY($1::uuid[])`, [ids]))[0].n as number;

  /** Events (and one delivery each, with its attempts) as intake, the relay and the worker leave them. */
  const seed = async (s: Seed): Promise<{ events: string[]; deliveries: string[] }> => {
    const n = s.n ?? 1;
    const at = Array.from({ length: n }, (_, i) => new Date(s.receivedAt.getTime() + i));
    const events = at.map((t) => v7({ msecs: t.getTime() - (s.idEarlierMs ?? 0) }));
    await db.query(
      `INSERT INTO events (id, project_id, type, level, title, source, body, occurred_at, received_at)
       SELECT id, $1, 'bb.issue.create', 'INFO', 'r', 'api', '{}', t, t FROM unnest($2::uuid[], $3::timestamptz[]) AS x(id, t)`,
      [projectId, events, at],
    );
    if (s.inOutbox) await db.query(`INSERT INTO outbox (kind, ref) SELECT 'event', unnest($1::uuid[])`, [events]);
    if (!s.status) return { events, deliveries: [] };
    const deliveries = at.map((t) => v7({ msecs: t.getTime() + 1000 }));
    const updated = at.map((t) => s.updatedAt ?? new Date(t.getTime() + 1000));
    const attempts = s.attempts ?? 1;
    await db.query(
      `INSERT INTO deliveries (id, project_id, event_id, webhook_id, event_type, status, attempt_count, attempt_started_at, created_at, updated_at)
       SELECT d, $1, e, $2, 'bb.issue.create', $5, $6, CASE WHEN $7 THEN u END, u, u FROM unnest($3::uuid[], $4::uuid[], $8::timestamptz[]) AS x(d, e, u)`,
      [projectId, webhookId, deliveries, events, s.status === 'delivering' ? 'pending' : s.status, attempts, s.status === 'delivering', updated],
    );
    await db.query(
      `INSERT INTO delivery_attempts (delivery_id, number, started_at, duration_ms, status_code, outcome)
       SELECT d, k, now(), 5, 500, 'retryable' FROM unnest($1::uuid[]) AS d CROSS JOIN generate_series(1, $2::integer) AS k`,
      [deliveries, attempts],
    );
    if (s.dm)
      await db.query(`INSERT INTO delivery_dm_recipients (delivery_id, provider, user_key, state) SELECT unnest($1::uuid[]), 'slack', 'U1', 'sent'`, [
        deliveries,
      ]);
    return { events, deliveries };
  };

  const purge = (over: Partial<RetentionSettings> = {}, hooks: PurgeHooks = {}) => new RetentionPurge(repo, settings(over)).run({ now: NOW, ...hooks });

  beforeAll(async () => {
    url = await createTestDatabase();
    db = new DataSource(dataSourceOptions({ url, poolSize: 6, applicationName: 'retention-int-spec' }));
    await db.initialize();
    repo = new RetentionRepository(db);
    [{ id: projectId }] = await db.query(`INSERT INTO projects (key, name) VALUES ('p', 'P') RETURNING id`);
    [{ id: webhookId }] = await db.query(
      `INSERT INTO webhooks (project_id, name, type, url_encrypted, url_masked, events) VALUES ($1, 'h', 'custom', 'x', 'x', '{bb.issue.create}') RETURNING id`,
      [projectId],
    );
  });
  beforeEach(async () => {
    await db.query(`TRUNCATE events, deliveries, delivery_attempts, delivery_dm_recipients, outbox, idempotency_keys, maintenance_leases CASCADE`);
  });
  afterAll(() => db.destroy());

  it('removes old finished events with their deliveries, attempts and direct-message ledgers, in batches, and counts them by table', async () => {
    const old = await seed({ receivedAt: ago(40 * DAY), n: 35, status: 'succeeded', attempts: 3, dm: true });
    const failed = await seed({ receivedAt: ago(35 * DAY), n: 5, status: 'dead', attempts: 8 });
    const lonely = await seed({ receivedAt: ago(31 * DAY), n: 4 });
    const young = await seed({ receivedAt: ago(29 * DAY), n: 6, status: 'succeeded' });
    const batches: Array<[RetentionPhase, Removed]> = [];

    const report = await purge({ batch: 10 }, { onBatch: (phase, removed) => batches.push([phase, removed]) });

    expect(report.outcome).toBe('done');
    expect(report.cutoff).toEqual(CUTOFF);
    expect(report.removed).toMatchObject({ events: 44, deliveries: 40, delivery_attempts: 35 * 3 + 5 * 8 });
    // The walk stops at the cutoff's id: it sees the 44 old events only, 10 per batch.
    const eventBatches = batches.filter(([phase]) => phase === 'events');
    expect(eventBatches.map(([, r]) => r.events)).toEqual([10, 10, 10, 10, 4]);
    expect(await exists('events', [...old.events, ...failed.events, ...lonely.events])).toBe(0);
    expect(await count('delivery_attempts', `delivery_id = ANY('{${[...old.deliveries, ...failed.deliveries].join(',')}}'::uuid[])`)).toBe(0);
    expect(await count('delivery_dm_recipients')).toBe(0);
    expect(await exists('events', young.events)).toBe(6);
    expect(await exists('deliveries', young.deliveries)).toBe(6);
    expect(await count('delivery_attempts')).toBe(6);
  });

  it('keeps unfinished deliveries and their events, events not fanned out yet, and deliveries replayed inside the window; a removed delivery answers not found to a replay', async () => {
    const pending = await seed({ receivedAt: ago(60 * DAY), n: 3, status: 'pending', attempts: 7 });
    const delivering = await seed({ receivedAt: ago(60 * DAY), n: 2, status: 'delivering' });
    const notFannedOut = await seed({ receivedAt: ago(60 * DAY), n: 2, inOutbox: true });
    // Finished long ago, then replayed yesterday and finished again: its event is what a replay reads.
    const replayed = await seed({ receivedAt: ago(60 * DAY), n: 2, status: 'succeeded', updatedAt: ago(DAY) });
    const gone = await seed({ receivedAt: ago(60 * DAY), n: 3, status: 'failed' });

    const report = await purge();

    expect(report.removed).toMatchObject({ events: 3, deliveries: 3, delivery_attempts: 3 });
    for (const kept of [pending, delivering, replayed]) {
      expect(await exists('events', kept.events)).toBe(kept.events.length);
      expect(await exists('deliveries', kept.deliveries)).toBe(kept.deliveries.length);
    }
    expect(await count('delivery_attempts', `delivery_id = ANY('{${pending.deliveries.join(',')}}'::uuid[])`)).toBe(21);
    expect(await exists('events', notFannedOut.events)).toBe(2);
    expect(await exists('events', gone.events)).toBe(0);

    const deliveries = new DeliveryRepository(db);
    expect(await deliveries.replay(projectId, gone.deliveries[0])).toBe('not_found');
    expect(await deliveries.replay(projectId, replayed.deliveries[0])).toEqual({ replay: 1 });
  });

  it('draws the window to the millisecond: received (or last changed) before the cutoff goes, at the cutoff stays', async () => {
    const before = await seed({ receivedAt: new Date(CUTOFF.getTime() - 1) });
    const at = await seed({ receivedAt: CUTOFF });
    // Its id is from before the cutoff, but it was received at the cutoff: it stays.
    const atWithEarlierId = await seed({ receivedAt: CUTOFF, idEarlierMs: 3 });
    const changedBefore = await seed({ receivedAt: ago(40 * DAY), status: 'succeeded', updatedAt: new Date(CUTOFF.getTime() - 1) });
    const changedAt = await seed({ receivedAt: ago(40 * DAY), status: 'succeeded', updatedAt: CUTOFF });

    await purge();

    expect(await exists('events', before.events)).toBe(0);
    expect(await exists('events', at.events)).toBe(1);
    expect(await exists('events', atWithEarlierId.events)).toBe(1);
    expect(await exists('events', changedBefore.events)).toBe(0);
    expect(await exists('events', changedAt.events)).toBe(1);
    expect(await exists('deliveries', changedAt.deliveries)).toBe(1);
    expect(uuidV7Bound(CUTOFF.getTime()) > before.events[0] && uuidV7Bound(CUTOFF.getTime()) <= at.events[0]).toBe(true);
  });

  it('goes on where an interrupted purge stopped, and removes nothing it should keep', async () => {
    const old = await seed({ receivedAt: ago(45 * DAY), n: 50, status: 'succeeded', attempts: 2 });
    // Pending, in the middle of the old ones: the third batch meets it.
    const pending = await seed({ receivedAt: new Date(ago(45 * DAY).getTime() + 25), status: 'pending' });
    const stop = new AbortController();
    let seen = 0;
    const first = await purge({ batch: 10 }, { signal: stop.signal, onBatch: () => ++seen === 2 && stop.abort() });

    expect(first.outcome).toBe('stopped');
    expect(first.removed.events).toBe(20);
    expect(await exists('events', old.events)).toBe(30);
    // Each batch commits whole: no event left without its deliveries, no delivery without its attempts.
    expect(await count('deliveries d', `NOT EXISTS (SELECT 1 FROM delivery_attempts a WHERE a.delivery_id = d.id)`)).toBe(0);
    expect(await count('events e', `NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.event_id = e.id)`)).toBe(0);
    // It gave the lease back: the next purge need not wait for it to expire.
    expect(await repo.leaseHolder(PURGE_LEASE)).toBeNull();

    const second = await purge({ batch: 10 });
    expect(second.outcome).toBe('done');
    expect(second.removed.events).toBe(30);
    expect(await exists('events', old.events)).toBe(0);
    expect(await exists('deliveries', pending.deliveries)).toBe(1);
  });

  it('runs on one process at a time: a purge finds the lease taken, and takes over a lease its holder let expire', async () => {
    await seed({ receivedAt: ago(40 * DAY), n: 30, status: 'succeeded' });
    const a = new RetentionPurge(repo, settings({ batch: 10, pauseMs: 50 }));
    const b = new RetentionPurge(repo, settings({ batch: 10 }));
    const running = a.run({ now: NOW });
    await new Promise((r) => setTimeout(r, 20));
    expect((await b.run({ now: NOW })).outcome).toBe('busy');
    expect((await running).removed.events).toBe(30);

    // A holder that died: its lease ran out, and the next purge takes it.
    await db.query(`UPDATE maintenance_leases SET owner = 'dead-worker', leased_until = now() - interval '1 second' WHERE name = $1`, [PURGE_LEASE]);
    expect((await b.run({ now: NOW })).outcome).toBe('done');
    await db.query(`UPDATE maintenance_leases SET owner = 'live-worker', leased_until = now() + interval '1 minute' WHERE name = $1`, [PURGE_LEASE]);
    expect((await b.run({ now: NOW })).outcome).toBe('busy');
  });

  it('keeps a delivery that a replay turns back to pending while the batch runs (the batch waits for the replay and sees it)', async () => {
    const old = await seed({ receivedAt: ago(40 * DAY), n: 3, status: 'succeeded' });
    const replay = new Client({ connectionString: url });
    await replay.connect();
    try {
      // A replay in flight: it holds the delivery's row lock until it commits.
      await replay.query('BEGIN');
      await replay.query(`UPDATE deliveries SET replay = replay + 1, status = 'pending', updated_at = $2 WHERE id = $1`, [old.deliveries[1], NOW]);
      const purging = purge({ batch: 10 });
      await new Promise((r) => setTimeout(r, 150));
      await replay.query('COMMIT');
      const report = await purging;
      expect(report.removed.events).toBe(2);
      expect(await exists('events', [old.events[1]])).toBe(1);
      expect(await count('deliveries', `id = '${old.deliveries[1]}' AND status = 'pending'`)).toBe(1);
    } finally {
      await replay.end();
    }
  });

  it('gives way to a row lock held longer than its lock_timeout, and retries the batch once it is free', async () => {
    const old = await seed({ receivedAt: ago(40 * DAY), n: 3, status: 'succeeded' });
    const holder = new Client({ connectionString: url });
    await holder.connect();
    try {
      // A statement of the hot path holding a delivery's row (longer than any does).
      await holder.query('BEGIN');
      await holder.query(`SELECT 1 FROM deliveries WHERE id = $1 FOR UPDATE`, [old.deliveries[2]]);
      const retried: string[] = [];
      const purging = purge({ batch: 10, pauseMs: 100 }, { onRetry: (_phase, err) => retried.push((err as { code?: string }).code ?? err.message) });
      await new Promise((r) => setTimeout(r, 1200));
      // The purge waited at most its lock_timeout each time, holding nothing meanwhile.
      expect(retried.length).toBeGreaterThanOrEqual(1);
      expect(new Set(retried)).toEqual(new Set(['55P03']));
      expect(await exists('events', old.events)).toBe(3);
      await holder.query('COMMIT');
      const report = await purging;
      expect(report.outcome).toBe('done');
      expect(report.retries).toBe(retried.length);
      expect(await exists('events', old.events)).toBe(0);
    } finally {
      await holder.end();
    }
  });

  it('forgets idempotency keys after 24 h, in batches', async () => {
    await db.query(
      `INSERT INTO idempotency_keys (project_id, key, response, created_at)
       SELECT $1, 'k' || i, '[]', $2::timestamptz - make_interval(secs => i) FROM generate_series(1, 25) i`,
      [projectId, new Date(NOW.getTime() - DAY)],
    );
    await db.query(`INSERT INTO idempotency_keys (project_id, key, response, created_at) VALUES ($1, 'fresh', '[]', $2), ($1, 'edge', '[]', $3)`, [
      projectId,
      ago(3600_000),
      ago(DAY),
    ]);
    const report = await purge({ batch: 10, days: null });
    expect(report.removed.idempotency_keys).toBe(25);
    expect((await db.query(`SELECT key FROM idempotency_keys ORDER BY key`)).map((r: { key: string }) => r.key)).toEqual(['edge', 'fresh']);
  });

  it('keeps events forever with HERALD_RETENTION_DAYS=forever', async () => {
    const old = await seed({ receivedAt: ago(3000 * DAY), n: 3, status: 'succeeded' });
    const report = await purge({ days: null });
    expect(report.cutoff).toBeNull();
    expect(await exists('events', old.events)).toBe(3);
  });

  describe('DevLake rows (DORA reads them)', () => {
    let connectionId: number;
    beforeAll(async () => {
      [{ id: connectionId }] = await db.query(
        `INSERT INTO devlake_connections (project_id, name, key_hash, key_hint) VALUES ($1, 'c', 'h', 'x') RETURNING id`,
        [projectId],
      );
    });
    beforeEach(async () => {
      await db.query(`TRUNCATE devlake_deployments, devlake_deployment_commits, devlake_issues, devlake_pull_requests`);
      const deployment = (id: string, finished: Date) =>
        db.query(
          `WITH d AS (INSERT INTO devlake_deployments (connection_id, id, project_id, name, result, environment, finished_date) VALUES ($1, $2, $3, $2, 'SUCCESS', 'PRODUCTION', $4) RETURNING id)
           INSERT INTO devlake_deployment_commits (connection_id, deployment_id, id, project_id, repo_url, commit_sha, result, status)
           SELECT $1, d.id, d.id || ':' || k, $3, 'https://git/r', 's' || k, 'SUCCESS', 'DONE' FROM d CROSS JOIN generate_series(1, 2) k`,
          [connectionId, id, projectId, finished],
        );
      await deployment('old', ago(400 * DAY));
      await deployment('edge', ago(365 * DAY));
      await deployment('new', ago(10 * DAY));
      const issue = (key: string, type: string | null, created: Date, resolved: Date | null, updated: Date | null = null) =>
        db.query(
          `INSERT INTO devlake_issues (connection_id, issue_key, project_id, title, type, status, original_status, created_date, resolution_date, updated_date)
           VALUES ($1, $2, $3, $2, $4, 'DONE', 'x', $5, $6, $7)`,
          [connectionId, key, projectId, type, created, resolved, updated],
        );
      await issue('resolved-old', 'INCIDENT', ago(500 * DAY), ago(450 * DAY));
      await issue('resolved-late', 'INCIDENT', ago(500 * DAY), ago(100 * DAY));
      await issue('open-incident', 'INCIDENT', ago(500 * DAY), null);
      await issue('open-task', 'TASK', ago(500 * DAY), null);
      await issue('open-task-touched', 'TASK', ago(500 * DAY), null, ago(DAY));
      const pr = (key: number, created: Date, merged: Date | null) =>
        db.query(
          `INSERT INTO devlake_pull_requests (connection_id, pull_request_key, project_id, external_id, title, created_date, merged_date) VALUES ($1, $2, $3, $4, 't', $5, $6)`,
          [connectionId, key, projectId, `pr-${key}`, created, merged],
        );
      await pr(1, ago(500 * DAY), ago(450 * DAY));
      await pr(2, ago(500 * DAY), ago(20 * DAY));
      await pr(3, ago(500 * DAY), null);
    });

    it('keeps deployments, commits, issues and pull requests by default, however old', async () => {
      const report = await purge({ batch: 2 });
      expect(report.devLakeCutoff).toBeNull();
      expect([
        await count('devlake_deployments'),
        await count('devlake_deployment_commits'),
        await count('devlake_issues'),
        await count('devlake_pull_requests'),
      ]).toEqual([3, 6, 5, 3]);
    });

    it('removes them by their own latest date once HERALD_DEVLAKE_RETENTION_DAYS is set, keeping unresolved incidents', async () => {
      const report = await purge({ batch: 2, devLakeDays: 365 });
      expect(report.devLakeCutoff).toEqual(new Date(NOW.getTime() - 365 * DAY));
      expect(report.removed).toMatchObject({ devlake_deployments: 1, devlake_deployment_commits: 2, devlake_issues: 2, devlake_pull_requests: 2 });
      expect((await db.query(`SELECT id FROM devlake_deployments ORDER BY id`)).map((r: { id: string }) => r.id)).toEqual(['edge', 'new']);
      expect(await count('devlake_deployment_commits')).toBe(4);
      expect((await db.query(`SELECT issue_key FROM devlake_issues ORDER BY issue_key`)).map((r: { issue_key: string }) => r.issue_key)).toEqual([
        'open-incident',
        'open-task-touched',
        'resolved-late',
      ]);
      expect(
        (await db.query(`SELECT pull_request_key FROM devlake_pull_requests`)).map((r: { pull_request_key: string }) => Number(r.pull_request_key)),
      ).toEqual([2]);
    });
  });
});
