import { Column, Entity, PrimaryColumn, UpdateDateColumn } from 'typeorm';

/** A user a delivery direct-messaged (or started to): at most one row per (delivery, provider, user). */
@Entity({ name: 'delivery_dm_recipients' })
export class DmRecipientEntity {
  @PrimaryColumn({ name: 'delivery_id', type: 'uuid' })
  deliveryId: string;

  @PrimaryColumn({ type: 'text' })
  provider: string;

  @PrimaryColumn({ name: 'user_key', type: 'text' })
  userKey: string;

  @Column({ type: 'text' })
  state: 'claimed' | 'sent';

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt: Date;
}
