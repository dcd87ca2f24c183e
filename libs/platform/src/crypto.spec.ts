import { loadConfig } from './config';
import { SecretBox, constantTimeEquals, encryptionKeyId, hashApiKey, newApiKey, newSigningSecret, secretContext } from './crypto';

const config = (...keys: Buffer[]) =>
  loadConfig({ HERALD_ADMIN_TOKEN: 'x'.repeat(20), HERALD_ENCRYPTION_KEY: keys.map((k) => k.toString('base64')).join(',') });
const HOOK = '01a203fd-0000-7000-8000-000000000001';
/** "legacy" as stored before key ids and associated data (`v1.<iv>.<tag>.<ciphertext>`), sealed with K1 below. */
const LEGACY_V1 = 'v1.AAECAwQFBgcICQoL.Pvyn5SaVm9TfbVKZABcT2Q.18PyR0OH';
const OTHER_HOOK = '01a203fd-0000-7000-8000-000000000002';

describe('SecretBox', () => {
  const K1 = Buffer.alloc(32, 1);
  const K2 = Buffer.alloc(32, 2);
  const box = new SecretBox(config(K1));
  const url = secretContext.webhookUrl(HOOK);

  it('round-trips and never stores the plaintext', () => {
    const sealed = box.encrypt('https://hooks.slack.com/services/T/B/secret', url);
    expect(sealed).not.toContain('secret');
    expect(sealed.startsWith(`v2.${encryptionKeyId(K1)}.`)).toBe(true);
    expect(box.decrypt(sealed, url)).toBe('https://hooks.slack.com/services/T/B/secret');
  });

  it('uses a fresh IV each time', () => {
    expect(box.encrypt('same', url)).not.toBe(box.encrypt('same', url));
  });

  it('refuses a value sealed with a key it does not list, naming the key id', () => {
    const other = new SecretBox(config(K2));
    expect(() => box.decrypt(other.encrypt('x', url), url)).toThrow(new RegExp(`key ${encryptionKeyId(K2)}.*HERALD_ENCRYPTION_KEY`));
  });

  it('refuses a tampered value', () => {
    const parts = box.encrypt('value', url).split('.');
    parts[4] = Buffer.from('other').toString('base64url');
    expect(() => box.decrypt(parts.join('.'), url)).toThrow();
  });

  it('refuses a truncated authentication tag (Node accepts 4 bytes, and checks only those)', () => {
    const v1 = LEGACY_V1.split('.');
    v1[2] = Buffer.from(v1[2], 'base64url').subarray(0, 4).toString('base64url');
    expect(() => box.decrypt(v1.join('.'), url)).toThrow(/cannot be decrypted/);
    const v2 = box.encrypt('value', url).split('.');
    v2[3] = Buffer.from(v2[3], 'base64url').subarray(0, 4).toString('base64url');
    expect(() => box.decrypt(v2.join('.'), url)).toThrow(/cannot be decrypted/);
  });

  it('binds a value to its row and column: copied elsewhere it does not decrypt', () => {
    const sealed = box.encrypt('https://hooks.slack.com/services/T/B/secret', url);
    expect(() => box.decrypt(sealed, secretContext.webhookUrl(OTHER_HOOK))).toThrow(/not sealed for this webhooks url/);
    expect(() => box.decrypt(sealed, secretContext.webhookSecret(HOOK))).toThrow();
    expect(() => box.decrypt(sealed, secretContext.imCredentials('slack'))).toThrow();
    // The current and previous signing secrets share a context: a rotation moves one into the other.
    const secret = box.encrypt('whsec_x', secretContext.webhookSecret(HOOK));
    expect(box.decrypt(secret, secretContext.webhookSecret(HOOK))).toBe('whsec_x');
  });

  it('still reads values stored before associated data (v1), with any listed key', () => {
    expect(box.decrypt(LEGACY_V1, url)).toBe('legacy');
    expect(new SecretBox(config(K2, K1)).decrypt(LEGACY_V1, url)).toBe('legacy');
    expect(() => new SecretBox(config(K2)).decrypt(LEGACY_V1, url)).toThrow(/any key of HERALD_ENCRYPTION_KEY/);
    expect(box.isCurrent(LEGACY_V1)).toBe(false);
  });

  it('rotates keys: seals with the first listed, opens with whichever key a value names', () => {
    const old = box.encrypt('sealed before the rotation', url);
    const rotated = new SecretBox(config(K2, K1));
    expect(rotated.decrypt(old, url)).toBe('sealed before the rotation');
    expect(rotated.isCurrent(old)).toBe(false);
    const fresh = rotated.encrypt('sealed after', url);
    expect(fresh.startsWith(`v2.${encryptionKeyId(K2)}.`)).toBe(true);
    expect(rotated.isCurrent(fresh)).toBe(true);
    expect(rotated.currentKeyId).toBe(encryptionKeyId(K2));
    // An app still on the old list cannot open it, and says which key is missing.
    expect(() => box.decrypt(fresh, url)).toThrow(new RegExp(encryptionKeyId(K2)));
  });
});

describe('HERALD_ENCRYPTION_KEY', () => {
  const load = (value: string) => loadConfig({ HERALD_ADMIN_TOKEN: 'x'.repeat(20), HERALD_ENCRYPTION_KEY: value });
  const b64 = (byte: number) => Buffer.alloc(32, byte).toString('base64');

  it('takes one key or several, newest first', () => {
    expect(load(b64(1)).encryptionKeys).toEqual([Buffer.alloc(32, 1)]);
    expect(load(`${b64(2)}, ${b64(1)}`).encryptionKeys).toEqual([Buffer.alloc(32, 2), Buffer.alloc(32, 1)]);
  });

  it('names a bad key by its position, and refuses a key listed twice', () => {
    expect(() => load(`${b64(2)},c2hvcnQ=`)).toThrow(/key 2 of 2: expected 32 bytes/);
    expect(() => load(`${b64(2)},${b64(2)}`)).toThrow(/listed twice/);
  });
});

describe('keys and secrets', () => {
  it('makes prefixed high-entropy API keys and hashes them deterministically', () => {
    const key = newApiKey('hk');
    expect(key).toMatch(/^hk_[A-Za-z0-9_-]{43}$/);
    expect(hashApiKey(key)).toBe(hashApiKey(key));
    expect(hashApiKey(key)).not.toContain(key);
  });

  it('makes Standard Webhooks secrets', () => {
    expect(Buffer.from(newSigningSecret().slice(6), 'base64')).toHaveLength(32);
  });

  it('compares tokens', () => {
    expect(constantTimeEquals('abc', 'abc')).toBe(true);
    expect(constantTimeEquals('abc', 'abd')).toBe(false);
    expect(constantTimeEquals('abc', 'abcd')).toBe(false);
  });
});
