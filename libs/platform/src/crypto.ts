import { createCipheriv, createDecipheriv, createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { HeraldConfig } from './config';

/**
 * Where a stored secret lives: the associated data of its ciphertext, so a value copied onto
 * another row or column does not decrypt. A webhook's current and previous signing secrets share
 * one context: a rotation moves the one into the other (in one statement) without re-encrypting.
 */
export interface SecretContext {
  table: 'webhooks' | 'im_integrations';
  column: 'url' | 'secret' | 'credentials';
  /** The row's key: a webhook id, an IM provider. */
  row: string;
}

export const secretContext = {
  webhookUrl: (webhookId: string): SecretContext => ({ table: 'webhooks', column: 'url', row: webhookId }),
  webhookSecret: (webhookId: string): SecretContext => ({ table: 'webhooks', column: 'secret', row: webhookId }),
  imCredentials: (provider: string): SecretContext => ({ table: 'im_integrations', column: 'credentials', row: provider }),
};

/** A key's public name in stored values: 8 characters of a hash of it (it reveals nothing of the key). */
export function encryptionKeyId(key: Buffer): string {
  return createHash('sha256').update('herald-encryption-key-id\0').update(key).digest('base64url').slice(0, 8);
}

const IV_BYTES = 12;
const TAG_BYTES = 16;

/** A stored secret that cannot be read with the configured keys; the message says why and what to do. */
export class SecretUnreadable extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SecretUnreadable';
  }
}

/**
 * Encrypts secrets at rest (webhook URLs, signing secrets, IM credentials) with AES-256-GCM.
 *
 * `HERALD_ENCRYPTION_KEY` lists one or more keys, newest first: new values are sealed with the
 * first, and a stored value names its key, so values sealed with an older key still open until
 * `npm run rekey` has moved them to the newest (docs/operations.md). The stored form is
 * `v2.<key id>.<iv>.<tag>.<ciphertext>` (base64url parts), with the version, key id and the
 * value's row and column (SecretContext) as associated data. `v1.<iv>.<tag>.<ciphertext>`, from
 * before key ids and associated data, is still read, trying each key; rekey rewrites it as v2.
 */
@Injectable()
export class SecretBox {
  private readonly keys: ReadonlyArray<{ id: string; key: Buffer }>;

  constructor(config: HeraldConfig) {
    if (config.encryptionKeys.length === 0 || config.encryptionKeys.some((k) => k.length !== 32)) {
      throw new Error('HERALD_ENCRYPTION_KEY must list 32-byte keys (base64); this app needs it to read stored secrets');
    }
    this.keys = config.encryptionKeys.map((key) => ({ id: encryptionKeyId(key), key }));
  }

  /** The id of the key new values are sealed with. */
  get currentKeyId(): string {
    return this.keys[0].id;
  }

  encrypt(plaintext: string, context: SecretContext): string {
    const { id, key } = this.keys[0];
    const header = `v2.${id}`;
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
    cipher.setAAD(associatedData(header, context));
    const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return [header, iv.toString('base64url'), cipher.getAuthTag().toString('base64url'), body.toString('base64url')].join('.');
  }

  decrypt(stored: string, context: SecretContext): string {
    const parts = stored.split('.');
    if (parts[0] === 'v2' && parts.length === 5) {
      const [, id, iv, tag, body] = parts;
      const found = this.keys.find((k) => k.id === id);
      if (!found) {
        throw new SecretUnreadable(
          `stored secret was sealed with key ${id}, which HERALD_ENCRYPTION_KEY does not list (it lists ${this.keys.map((k) => k.id).join(', ')}): add that key back after the newest`,
        );
      }
      const plain = open(found.key, iv, tag, body, associatedData(`v2.${id}`, context));
      if (plain === null)
        throw new SecretUnreadable(
          `stored secret cannot be decrypted with key ${id}: it was not sealed for this ${context.table} ${context.column}, or it is damaged`,
        );
      return plain;
    }
    if (parts[0] === 'v1' && parts.length === 4) {
      const [, iv, tag, body] = parts;
      for (const { key } of this.keys) {
        const plain = open(key, iv, tag, body, null);
        if (plain !== null) return plain;
      }
      throw new SecretUnreadable('stored secret cannot be decrypted with any key of HERALD_ENCRYPTION_KEY: was the key it was saved with removed?');
    }
    throw new SecretUnreadable('stored secret has an unknown format');
  }

  /** False for a value `npm run rekey` should rewrite: sealed with an older key, or in the v1 form. */
  isCurrent(stored: string): boolean {
    return stored.startsWith(`v2.${this.keys[0].id}.`);
  }
}

function associatedData(header: string, context: SecretContext): Buffer {
  return Buffer.from(`${header}|${context.table}.${context.column}|${context.row}`, 'utf8');
}

/** The plaintext, or null when the key, tag or associated data do not match. Only full 16-byte tags are accepted. */
function open(key: Buffer, iv64: string, tag64: string, body64: string, aad: Buffer | null): string | null {
  const iv = Buffer.from(iv64, 'base64url');
  const tag = Buffer.from(tag64, 'base64url');
  // Node would accept a tag as short as 4 bytes (and check only those): a forgery needs 2^32 tries, not 2^128.
  if (iv.length !== IV_BYTES || tag.length !== TAG_BYTES) return null;
  const decipher = createDecipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
  if (aad) decipher.setAAD(aad);
  decipher.setAuthTag(tag);
  try {
    return Buffer.concat([decipher.update(Buffer.from(body64, 'base64url')), decipher.final()]).toString('utf8');
  } catch {
    return null;
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
