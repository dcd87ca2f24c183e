import { randomBytes } from 'node:crypto';
import { databaseUrl, withPg } from '@herald/testing';
import { MIGRATIONS } from './migrations';
import { MIGRATION_LOCK, ensureDatabase, openDatabase, pendingMigrations } from './data-source';

/** Named like createTestDatabase's, so the global teardown drops it if this file dies midway. */
const freshName = () => `herald_test_${process.env.HERALD_TEST_RUN ?? 'adhoc'}_boot_${randomBytes(4).toString('hex')}`;
const drop = (name: string) => withPg((c) => c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`));
const exists = (name: string) => withPg(async (c) => (await c.query('SELECT 1 FROM pg_database WHERE datname = $1', [name])).rowCount === 1);

describe('creating the database when several apps start together', () => {
  const created: string[] = [];
  afterAll(async () => {
    for (const name of created) await drop(name);
  });

  it('lets every concurrent create-if-missing succeed', async () => {
    // Each round is a fresh race; one round lost the race with 23505 every time before the fix.
    for (let round = 0; round < 3; round++) {
      const name = freshName();
      created.push(name);
      const results = await Promise.allSettled([1, 2, 3].map(() => ensureDatabase(databaseUrl(name))));
      expect(results.map((r) => (r.status === 'rejected' ? String(r.reason) : 'ok'))).toEqual(['ok', 'ok', 'ok']);
      expect(await exists(name)).toBe(true);
    }
  });

  it('boots three apps on a fresh database: each connects, the migrations run once', async () => {
    const name = freshName();
    created.push(name);
    const results = await Promise.allSettled(
      ['herald-a', 'herald-b', 'herald-c'].map((applicationName) => openDatabase({ url: databaseUrl(name), poolSize: 2, applicationName })),
    );
    try {
      expect(results.map((r) => (r.status === 'rejected' ? String(r.reason) : 'ok'))).toEqual(['ok', 'ok', 'ok']);
      const applied = await withPg((c) => c.query('SELECT name FROM herald_migrations'), databaseUrl(name));
      expect(applied.rows.map((r: { name: string }) => r.name).sort()).toEqual(MIGRATIONS.map((m) => m.name).sort());
    } finally {
      for (const r of results) if (r.status === 'fulfilled') await r.value.destroy();
    }
  });
});

describe('HERALD_MIGRATE_ON_START=false (migrations run by a separate Job)', () => {
  const name = freshName();
  afterAll(() => drop(name));

  it('connects without migrating, and names the migrations the schema lacks, in order', async () => {
    await withPg((c) => c.query(`CREATE DATABASE "${name}"`));
    const db = await openDatabase({ url: databaseUrl(name), poolSize: 2, applicationName: 'herald-test' }, { migrate: false });
    try {
      // Not even the migrations table exists yet: every migration is missing.
      expect(await pendingMigrations(db)).toEqual(MIGRATIONS.map((m) => m.name));
      await db.runMigrations({ transaction: 'each' });
      expect(await pendingMigrations(db)).toEqual([]);
      const last = MIGRATIONS[MIGRATIONS.length - 1].name;
      await db.query('DELETE FROM herald_migrations WHERE name = $1', [last]);
      expect(await pendingMigrations(db)).toEqual([last]);
    } finally {
      await db.destroy();
    }
  });

  it("does not create a missing database (that is the migrations Job's work)", async () => {
    const missing = freshName();
    await expect(openDatabase({ url: databaseUrl(missing), poolSize: 2, applicationName: 'herald-test' }, { migrate: false })).rejects.toThrow(
      /does not exist/,
    );
    expect(await exists(missing)).toBe(false);
  });
});

describe("migrations and the app's statement_timeout (issue 13 item 3)", () => {
  const name = freshName();
  afterAll(() => drop(name));

  it('waits for another migrator, and migrates, however much longer than its statement_timeout that takes', async () => {
    await ensureDatabase(databaseUrl(name));
    // Another app is migrating: it holds the migration lock for longer than this app's timeout.
    await withPg(async (other) => {
      await other.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
      const opening = openDatabase({ url: databaseUrl(name), poolSize: 2, applicationName: 'herald-test', statementTimeoutMs: 200 });
      await new Promise((r) => setTimeout(r, 600));
      await other.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]);
      const db = await opening;
      try {
        expect(await pendingMigrations(db)).toEqual([]);
        // The app's own sessions keep the timeout.
        expect(await db.query(`SELECT current_setting('statement_timeout') AS t`)).toEqual([{ t: '200ms' }]);
      } finally {
        await db.destroy();
      }
    }, databaseUrl(name));
  });
});
