import { randomBytes } from 'node:crypto';
import IORedis from 'ioredis';
import { Client } from 'pg';

/** The machine's real services (docs/testing.md). Override with TEST_DATABASE_URL / TEST_REDIS_URL. */
export const TEST_PG_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
export const TEST_REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
export const TEST_ADMIN_TOKEN = 'test-admin-token-0123456789abcdef';

export function databaseUrl(name: string): string {
  const url = new URL(TEST_PG_URL);
  url.pathname = `/${name}`;
  return url.toString();
}

export async function withPg<T>(fn: (client: Client) => Promise<T>, url = TEST_PG_URL): Promise<T> {
  const client = new Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** The migrated template every test database is cloned from (created by the Jest global setup). */
export function templateName(): string {
  const name = process.env.HERALD_TEST_TEMPLATE;
  if (!name) throw new Error('HERALD_TEST_TEMPLATE is not set: run the tests through jest (its global setup migrates the template)');
  return name;
}

/** A fresh, migrated database for one test file; dropped by the global teardown. */
export async function createTestDatabase(): Promise<string> {
  const run = process.env.HERALD_TEST_RUN ?? 'adhoc';
  const name = `herald_test_${run}_${randomBytes(4).toString('hex')}`;
  await withPg((c) => c.query(`CREATE DATABASE "${name}" TEMPLATE "${templateName()}"`));
  return databaseUrl(name);
}

export function uniqueQueuePrefix(): string {
  return `herald-test-${randomBytes(5).toString('hex')}`;
}

/** Removes every Redis key of a queue prefix. */
export async function deleteQueueKeys(prefix: string, url = TEST_REDIS_URL): Promise<void> {
  const redis = new IORedis(url, { maxRetriesPerRequest: 3 });
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length) await redis.del(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}

/** Environment for a Herald app under test: its own database and queue prefix, short retries. */
export function testEnv(databaseUrlValue: string, queuePrefix: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    DATABASE_URL: databaseUrlValue,
    REDIS_URL: TEST_REDIS_URL,
    HERALD_QUEUE_PREFIX: queuePrefix,
    HERALD_ADMIN_TOKEN: TEST_ADMIN_TOKEN,
    HERALD_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
    HERALD_RETRY_SCHEDULE: '0s,200ms,400ms',
    HERALD_ALLOW_PRIVATE_TARGETS: 'true',
    HERALD_DELIVERY_TIMEOUT_MS: '3000',
    HERALD_OUTBOX_SWEEP_MS: '200',
    HERALD_LOG_LEVEL: 'warn',
    HERALD_DB_POOL_SIZE: '5',
    HERALD_WORKER_CONCURRENCY: '20',
    ...extra,
  };
}
