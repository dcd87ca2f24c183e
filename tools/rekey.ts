import 'reflect-metadata';
import { DataSource } from 'typeorm';
import { dataSourceOptions, rekeyStoredSecrets } from '@herald/persistence';
import { SecretBox, loadConfigOrExit } from '@herald/platform';

/**
 * `npm run rekey` (in the image: `node dist/tools/rekey.js`): re-encrypts every stored secret
 * under the first key of HERALD_ENCRYPTION_KEY. Safe while the apps run, and resumable: run it
 * again after an interruption. docs/operations.md explains the whole rotation.
 */
async function main(): Promise<number> {
  const config = loadConfigOrExit({ require: ['HERALD_ENCRYPTION_KEY'] });
  const box = new SecretBox(config);
  const db = new DataSource(dataSourceOptions({ url: config.databaseUrl, poolSize: 2, applicationName: 'herald-rekey' }));
  await db.initialize();
  try {
    process.stdout.write(
      `re-encrypting stored secrets under key ${box.currentKeyId} (the first of ${config.encryptionKeys.length} in HERALD_ENCRYPTION_KEY)\n`,
    );
    const report = await rekeyStoredSecrets(db, box, {
      onBatch: (table, r) => process.stdout.write(`  ${table}: ${r.rewritten} rewritten so far\n`),
    });
    process.stdout.write(`rewritten: ${report.rewritten}; changed by the apps meanwhile (already current): ${report.changedMeanwhile}\n`);
    if (report.unreadable.length) {
      for (const u of report.unreadable) process.stderr.write(`  cannot read ${u.table} ${u.row} ${u.column}: ${u.reason}\n`);
      process.stderr.write(
        `${report.unreadable.length} value(s) open with none of the listed keys and were left as they are: add the key they were sealed with to HERALD_ENCRYPTION_KEY (after the newest) and run rekey again, or set those webhooks' url and secret (or the IM integration) again.\n`,
      );
      return 1;
    }
    process.stdout.write(
      `every stored secret is under key ${box.currentKeyId}: the older keys can be removed from HERALD_ENCRYPTION_KEY once every app runs with this list\n`,
    );
    return 0;
  } finally {
    await db.destroy();
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`rekey failed: ${(err as Error).message}; nothing is lost, run it again\n`);
    process.exit(1);
  },
);
