import { UnauthorizedException } from '@nestjs/common';
import { Forbidden } from '@herald/domain';
import type { ApiKeyRepository, ConnectionRepository, DevLakeConnectionEntity } from '@herald/persistence';
import { AuthDefense, TooManyAttempts, hashApiKey, loadConfig } from '@herald/platform';
import { DevLakeAuth } from './devlake-auth';

const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

/** DevLake intake credentials under guessing (issue 10, item 12); the lookups are counted. */
describe('DevLakeAuth under guessing', () => {
  let lookups: number;
  const auth = () => {
    lookups = 0;
    const connection = { id: 1, projectId: 1, name: 'ci' } as DevLakeConnectionEntity;
    const connections = {
      findByKeyHash: async (hash: string) => (lookups++, hash === hashApiKey('hc_valid') ? connection : null),
    } as unknown as ConnectionRepository;
    const apiKeys = { resolve: async () => (lookups++, null) } as unknown as ApiKeyRepository;
    const config = loadConfig({
      HERALD_ADMIN_TOKEN: 'admin-token-0123456789',
      HERALD_ENCRYPTION_KEY: Buffer.alloc(32, 1).toString('base64'),
      HERALD_BASIC_AUTH: 'lake:a-long-password',
    });
    return new DevLakeAuth(config, connections, apiKeys, new AuthDefense({ failures: 3, windowMs: 60_000, unknownTokenMs: 60_000, maxEntries: 100 }));
  };

  it('looks an unknown key up once, then answers from memory', async () => {
    const a = auth();
    await expect(a.authenticate('Bearer hc_guess', true, '203.0.113.1')).rejects.toBeInstanceOf(Forbidden);
    await expect(a.authenticate('Bearer hc_guess', true, '203.0.113.2')).rejects.toBeInstanceOf(Forbidden);
    expect(lookups).toBe(2); // the connection keys, then the project keys, once
    await expect(a.authenticate('Bearer hc_valid', true, '203.0.113.1')).resolves.toMatchObject({ kind: 'connection' });
  });

  it('throttles wrong keys and wrong Basic passwords per address, before any lookup or comparison', async () => {
    const a = auth();
    await expect(a.authenticate(basic('lake', 'wrong'), false, '203.0.113.9')).rejects.toBeInstanceOf(UnauthorizedException);
    await expect(a.authenticate('Bearer hc_guess1', false, '203.0.113.9')).rejects.toBeInstanceOf(Forbidden);
    await expect(a.authenticate('Bearer hc_guess2', false, '203.0.113.9')).rejects.toBeInstanceOf(Forbidden);
    const before = lookups;
    await expect(a.authenticate(basic('lake', 'a-long-password'), false, '203.0.113.9')).rejects.toBeInstanceOf(TooManyAttempts);
    await expect(a.authenticate('Bearer hc_valid', false, '203.0.113.9')).rejects.toBeInstanceOf(TooManyAttempts);
    expect(lookups).toBe(before);
    await expect(a.authenticate('Bearer admin-token-0123456789', false, '203.0.113.9')).resolves.toEqual({ kind: 'admin' });
    await expect(a.authenticate(basic('lake', 'a-long-password'), false, '203.0.113.10')).resolves.toEqual({ kind: 'basic' });
  });
});
