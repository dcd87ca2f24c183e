import { createCipheriv, randomBytes } from 'node:crypto';

/** A secret in the form stored before key ids and associated data (`v1.<iv>.<tag>.<ciphertext>`), as old rows hold it. */
export function sealV1(key: Buffer, plaintext: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return ['v1', iv.toString('base64url'), cipher.getAuthTag().toString('base64url'), body.toString('base64url')].join('.');
}
