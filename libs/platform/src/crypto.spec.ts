import { loadConfig } from './config';
import { SecretBox, constantTimeEquals, hashApiKey, newApiKey, newSigningSecret } from './crypto';

const config = (key: Buffer) => loadConfig({ HERALD_ADMIN_TOKEN: 'x'.repeat(20), HERALD_ENCRYPTION_KEY: key.toString('base64') });

describe('SecretBox', () => {
  const box = new SecretBox(config(Buffer.alloc(32, 1)));

  it('round-trips and never stores the plaintext', () => {
    const sealed = box.encrypt('https://hooks.slack.com/services/T/B/secret');
    expect(sealed).not.toContain('secret');
    expect(box.decrypt(sealed)).toBe('https://hooks.slack.com/services/T/B/secret');
  });

  it('uses a fresh IV each time', () => {
    expect(box.encrypt('same')).not.toBe(box.encrypt('same'));
  });

  it('refuses a value sealed with another key, saying why', () => {
    const other = new SecretBox(config(Buffer.alloc(32, 2)));
    expect(() => box.decrypt(other.encrypt('x'))).toThrow(/HERALD_ENCRYPTION_KEY/);
  });

  it('refuses a tampered value', () => {
    const sealed = box.encrypt('value');
    const parts = sealed.split('.');
    parts[3] = Buffer.from('other').toString('base64url');
    expect(() => box.decrypt(parts.join('.'))).toThrow();
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
