import type { DataSource } from 'typeorm';
import { secretContext, type SecretBox, type SecretContext } from '@herald/platform';

/** Every encrypted column: its table, the row key it is bound to, and its SecretBox context. */
const ENCRYPTED: ReadonlyArray<{
  table: string;
  key: string;
  keyType: string;
  columns: ReadonlyArray<{ column: string; context: (row: string) => SecretContext }>;
}> = [
  {
    table: 'webhooks',
    key: 'id',
    keyType: 'uuid',
    columns: [
      { column: 'url_encrypted', context: secretContext.webhookUrl },
      { column: 'secret_encrypted', context: secretContext.webhookSecret },
      { column: 'previous_secret_encrypted', context: secretContext.webhookSecret },
    ],
  },
  { table: 'im_integrations', key: 'provider', keyType: 'text', columns: [{ column: 'credentials_encrypted', context: secretContext.imCredentials }] },
];

export interface RekeyReport {
  /** Values rewritten under the newest key. */
  rewritten: number;
  /** Values changed by someone else between the read and the write (the app wrote them with its own newest key): left as they are. */
  changedMeanwhile: number;
  /** Values none of the listed keys opens: left as they are, named here. */
  unreadable: Array<{ table: string; row: string; column: string; reason: string }>;
}

export interface RekeyOptions {
  batchSize?: number;
  /** Called after each batch (for progress lines). */
  onBatch?: (table: string, report: RekeyReport) => void;
}

/**
 * Re-encrypts every stored secret that is not under the newest key of HERALD_ENCRYPTION_KEY, or
 * still in the v1 form without associated data (docs/operations.md, "Rotating the encryption key").
 *
 * Safe while the apps run, and resumable: each value is written by its own statement, only if it
 * still holds the ciphertext that was read (a webhook updated meanwhile keeps its new value), and
 * a run that stops half way leaves every value readable; the next run picks up what is left.
 * `updated_at` is not touched, so auto-disable streaks do not restart.
 */
export async function rekeyStoredSecrets(db: DataSource, box: SecretBox, options: RekeyOptions = {}): Promise<RekeyReport> {
  const report: RekeyReport = { rewritten: 0, changedMeanwhile: 0, unreadable: [] };
  const current = `v2.${box.currentKeyId}.`;
  const batchSize = options.batchSize ?? 500;
  for (const { table, key, keyType, columns } of ENCRYPTED) {
    const stale = columns.map((c) => `(${c.column} IS NOT NULL AND left(${c.column}, length($2)) <> $2)`).join(' OR ');
    let after: string | null = null;
    for (;;) {
      const rows: Array<Record<string, string | null>> = await db.query(
        `SELECT ${key}::text AS row_key, ${columns.map((c) => c.column).join(', ')} FROM ${table}
          WHERE ($1::${keyType} IS NULL OR ${key} > $1::${keyType}) AND (${stale}) ORDER BY ${key} LIMIT ${batchSize}`,
        [after, current],
      );
      if (rows.length === 0) break;
      for (const row of rows) {
        const rowKey = row.row_key as string;
        for (const { column, context } of columns) {
          const stored = row[column];
          if (stored === null || box.isCurrent(stored)) continue;
          const outcome = await rekeyValue(db, box, { table, key, keyType, column, row: rowKey, stored, context: context(rowKey) });
          if (outcome === 'rewritten') report.rewritten++;
          else if (outcome === 'changed') report.changedMeanwhile++;
          else report.unreadable.push({ table, row: rowKey, column, reason: outcome.unreadable });
        }
      }
      after = rows[rows.length - 1].row_key as string;
      options.onBatch?.(table, report);
    }
  }
  return report;
}

/** Rewrites one value under the newest key, if it still holds `stored`. */
export async function rekeyValue(
  db: DataSource,
  box: SecretBox,
  value: { table: string; key: string; keyType: string; column: string; row: string; stored: string; context: SecretContext },
): Promise<'rewritten' | 'changed' | { unreadable: string }> {
  let plaintext: string;
  try {
    plaintext = box.decrypt(value.stored, value.context);
  } catch (err) {
    return { unreadable: (err as Error).message };
  }
  // TypeORM answers an UPDATE … RETURNING with [rows, affected].
  const [rows]: [unknown[], number] = await db.query(
    `UPDATE ${value.table} SET ${value.column} = $1 WHERE ${value.key} = $2::${value.keyType} AND ${value.column} = $3 RETURNING 1`,
    [box.encrypt(plaintext, value.context), value.row, value.stored],
  );
  return rows.length ? 'rewritten' : 'changed';
}
