import { createCipheriv, createDecipheriv, createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { HeraldConfig } from './config';

const VERSION = 'v1';

/**
 * Encrypts secrets at rest (webhook URLs, signing secrets, IM credentials) with AES-256-GCM and
 * `HERALD_ENCRYPTION_KEY`. The stored form is `v1.<iv>.<tag>.<ciphertext>` (base64url parts), so a
 * later key rotation can tell old entries apart.
 */
@Injectable()
export class SecretBox {
  private readonly key: Buffer;

  constructor(config: HeraldConfig) {
    if (config.encryptionKey.length !== 32) {
      throw new Error('HERALD_ENCRYPTION_KEY must be 32 bytes (base64); this app needs it to read stored secrets');
    }
    this.key = config.encryptionKey;
  }

  encrypt(plaintext: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return [VERSION, iv.toString('base64url'), cipher.getAuthTag().toString('base64url'), body.toString('base64url')].join('.');
  }

  decrypt(stored: string): string {
    const [version, iv, tag, body] = stored.split('.');
    if (version !== VERSION || !iv || !tag || body === undefined) throw new Error('stored secret has an unknown format');
    const decipher = createDecipheriv('aes-256-gcm', this.key, Buffer.from(iv, 'base64url'));
    decipher.setAuthTag(Buffer.from(tag, 'base64url'));
    try {
      return Buffer.concat([decipher.update(Buffer.from(body, 'base64url')), decipher.final()]).toString('utf8');
    } catch {
      throw new Error('stored secret cannot be decrypted: was HERALD_ENCRYPTION_KEY changed?');
    }
  }
}

/**
 * API keys are 32 random bytes, so a fast hash is enough to store them safely (there is nothing to
 * brute-force); the prefix tells project keys (`hk_`) from connection keys (`hc_`).
 */
export function newApiKey(prefix: 'hk' | 'hc'): string {
  return `${prefix}_${randomBytes(32).toString('base64url')}`;
}

export function hashApiKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

/** A Standard Webhooks signing secret: `whsec_` + base64 of 32 random bytes. */
export function newSigningSecret(): string {
  return `whsec_${randomBytes(32).toString('base64')}`;
}

export function constantTimeEquals(a: string, b: string): boolean {
  const ha = createHash('sha256').update(a).digest();
  const hb = createHash('sha256').update(b).digest();
  return timingSafeEqual(ha, hb) && a.length === b.length;
}
