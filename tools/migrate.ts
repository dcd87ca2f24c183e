import 'reflect-metadata';
import { DataSource } from 'typeorm';
import { dataSourceOptions, ensureDatabase, runMigrations } from '@herald/persistence';
import { loadConfigOrExit } from '@herald/platform';

/** `npm run migrate`: creates the database when missing and applies pending migrations. */
async function main(): Promise<void> {
  const config = loadConfigOrExit({ require: [] });
  await ensureDatabase(config.databaseUrl);
  const db = new DataSource(dataSourceOptions({ url: config.databaseUrl, poolSize: 2, applicationName: 'herald-migrate' }));
  await db.initialize();
  try {
    const applied = await runMigrations(db);
    process.stdout.write(applied.length ? `applied: ${applied.join(', ')}\n` : 'database is up to date\n');
  } finally {
    await db.destroy();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`migration failed: ${(err as Error).message}\n`);
  process.exit(1);
});
