import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';

/**
 * The direct-message ledger of a delivery. The primary key (delivery_id, provider, user_key) makes
 * a claim exclusive, so two attempts — even on two workers — never message the same user twice.
 */
@Injectable()
export class DmRecipientRepository {
  constructor(private readonly db: DataSource) {}

  async states(deliveryId: string, provider: string): Promise<Map<string, 'claimed' | 'sent'>> {
    const rows: Array<{ user_key: string; state: 'claimed' | 'sent' }> = await this.db.query(
      'SELECT user_key, state FROM delivery_dm_recipients WHERE delivery_id = $1 AND provider = $2',
      [deliveryId, provider],
    );
    return new Map(rows.map((r) => [r.user_key, r.state]));
  }

  async claim(deliveryId: string, provider: string, userKeys: string[]): Promise<string[]> {
    if (!userKeys.length) return [];
    const rows: Array<{ user_key: string }> = await this.db.query(
      `INSERT INTO delivery_dm_recipients (delivery_id, provider, user_key, state)
       SELECT $1, $2, k, 'claimed' FROM unnest($3::text[]) AS k
       ON CONFLICT DO NOTHING RETURNING user_key`,
      [deliveryId, provider, userKeys],
    );
    const claimed = new Set(rows.map((r) => r.user_key));
    return userKeys.filter((k) => claimed.has(k));
  }

  async markSent(deliveryId: string, provider: string, userKeys: string[]): Promise<void> {
    if (!userKeys.length) return;
    await this.db.query(
      `UPDATE delivery_dm_recipients SET state = 'sent', updated_at = now() WHERE delivery_id = $1 AND provider = $2 AND user_key = ANY($3::text[])`,
      [deliveryId, provider, userKeys],
    );
  }

  async release(deliveryId: string, provider: string, userKeys: string[]): Promise<void> {
    if (!userKeys.length) return;
    await this.db.query(`DELETE FROM delivery_dm_recipients WHERE delivery_id = $1 AND provider = $2 AND user_key = ANY($3::text[]) AND state = 'claimed'`, [
      deliveryId,
      provider,
      userKeys,
    ]);
  }
}
