import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import type { OutboxKind } from '../entities';

export interface OutboxRow {
  id: string;
  kind: OutboxKind;
  ref: string;
  replay: number;
}

@Injectable()
export class OutboxRepository {
  constructor(private readonly db: DataSource) {}

  /**
   * Locks up to `limit` rows (skipping rows another relay holds), hands them to `publish`, and
   * deletes them only if `publish` resolves. If it throws (Redis down), the rows stay for the next
   * pass. If this process dies after publishing and before the commit, the rows are published
   * again: the queue's job ids make that harmless.
   */
  async drain(limit: number, olderThanMs: number, publish: (rows: OutboxRow[]) => Promise<void>): Promise<number> {
    return this.db.transaction(async (tx) => {
      const rows: OutboxRow[] = await tx.query(
        `SELECT id, kind, ref, replay FROM outbox
          WHERE created_at <= now() - make_interval(secs => $2::double precision / 1000)
          ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED`,
        [limit, olderThanMs],
      );
      if (rows.length === 0) return 0;
      await publish(rows);
      await tx.query('DELETE FROM outbox WHERE id = ANY($1::bigint[])', [rows.map((r) => r.id)]);
      return rows.length;
    });
  }

  /** Removes rows already published by the writer's fast path. */
  async delete(ids: string[]): Promise<void> {
    if (ids.length) await this.db.query('DELETE FROM outbox WHERE id = ANY($1::bigint[])', [ids]);
  }

  async backlog(): Promise<number> {
    const [row]: Array<{ n: string }> = await this.db.query('SELECT count(*) AS n FROM outbox');
    return Number(row.n);
  }
}
