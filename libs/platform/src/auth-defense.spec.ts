import { Reflector } from '@nestjs/core';
import { UnauthorizedException } from '@nestjs/common';
import { AuthGuard, type ProjectKeyResolver } from './auth';
import { AuthDefense, TooManyAttempts } from './auth-defense';
import { loadConfig } from './config';
import { hashApiKey } from './crypto';
import { toErrorBody } from './errors';

const ADMIN = 'admin-token-0123456789';
const limits = { failures: 3, windowMs: 60_000, unknownTokenMs: 30_000, maxEntries: 100 };

describe('AuthDefense (issue 10, item 12)', () => {
  let now = 0;
  const defense = () => new AuthDefense(limits, () => now);

  beforeEach(() => {
    now = 1_000_000;
  });

  it('refuses an address with 429 and Retry-After once it failed too often, until its window ends', () => {
    const d = defense();
    for (let i = 0; i < 3; i++) {
      expect(() => d.assertMayTry('203.0.113.1')).not.toThrow();
      d.recordFailure('203.0.113.1');
    }
    now += 15_000;
    let thrown: unknown;
    try {
      d.assertMayTry('203.0.113.1');
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(TooManyAttempts);
    expect(toErrorBody(thrown)).toMatchObject({ status: 429, retryAfterSeconds: 45 });
    expect(() => d.assertMayTry('203.0.113.2')).not.toThrow();
    now += 45_000;
    expect(() => d.assertMayTry('203.0.113.1')).not.toThrow();
  });

  it('remembers unknown tokens briefly and stays within its bounds', () => {
    const d = defense();
    d.rememberUnknown('project-key', 'h1');
    expect(d.isUnknown('project-key', 'h1')).toBe(true);
    expect(d.isUnknown('intake-key', 'h1')).toBe(false);
    now += 30_001;
    expect(d.isUnknown('project-key', 'h1')).toBe(false);
    for (let i = 0; i < 250; i++) {
      d.rememberUnknown('project-key', `t${i}`);
      d.recordFailure(`198.51.100.${i}`);
    }
    expect(d.isUnknown('project-key', 't0')).toBe(false);
    expect(d.isUnknown('project-key', 't249')).toBe(true);
  });
});

describe('AuthGuard.authenticate under guessing', () => {
  let lookups: string[];
  let now: number;
  const guard = () => {
    lookups = [];
    now = 0;
    const resolver: ProjectKeyResolver = {
      resolve: async (hash) => {
        lookups.push(hash);
        return hash === hashApiKey('hk_valid') ? { projectId: 1, apiKeyId: 'k' } : null;
      },
    };
    const config = loadConfig({ HERALD_ADMIN_TOKEN: ADMIN, HERALD_ENCRYPTION_KEY: Buffer.alloc(32, 1).toString('base64') });
    return new AuthGuard(new Reflector(), config, resolver, new AuthDefense(limits, () => now));
  };

  it('asks Postgres once for an unknown token, then answers from memory', async () => {
    const g = guard();
    await expect(g.authenticate('hk_guess', '203.0.113.5')).rejects.toBeInstanceOf(UnauthorizedException);
    await expect(g.authenticate('hk_guess', '203.0.113.6')).rejects.toBeInstanceOf(UnauthorizedException);
    expect(lookups).toEqual([hashApiKey('hk_guess')]);
    await expect(g.authenticate('hk_valid', '203.0.113.5')).resolves.toEqual({ kind: 'project', projectId: 1, apiKeyId: 'k' });
  });

  it('refuses a guessing address before any lookup, while the admin token still works from it', async () => {
    const g = guard();
    for (let i = 0; i < 3; i++) await expect(g.authenticate(`hk_guess${i}`, '203.0.113.7')).rejects.toBeInstanceOf(UnauthorizedException);
    const before = lookups.length;
    await expect(g.authenticate('hk_another', '203.0.113.7')).rejects.toBeInstanceOf(TooManyAttempts);
    await expect(g.authenticate('hk_valid', '203.0.113.7')).rejects.toBeInstanceOf(TooManyAttempts);
    expect(lookups).toHaveLength(before);
    await expect(g.authenticate(ADMIN, '203.0.113.7')).resolves.toEqual({ kind: 'admin' });
    await expect(g.authenticate('hk_valid', '203.0.113.8')).resolves.toMatchObject({ kind: 'project' });
  });
});
