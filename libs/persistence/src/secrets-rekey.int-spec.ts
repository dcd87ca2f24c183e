import { randomBytes } from 'node:crypto';
import { DataSource } from 'typeorm';
import { SecretBox, encryptionKeyId, loadConfig, secretContext } from '@herald/platform';
import { createTestDatabase, sealV1 } from '@herald/testing';
import { dataSourceOptions } from './data-source';
import { rekeyStoredSecrets, rekeyValue } from './secrets-rekey';

const K1 = randomBytes(32);
const K2 = randomBytes(32);
const K3 = randomBytes(32);
const boxOf = (...keys: Buffer[]) =>
  new SecretBox(loadConfig({ HERALD_ADMIN_TOKEN: 'x'.repeat(20), HERALD_ENCRYPTION_KEY: keys.map((k) => k.toString('base64')).join(',') }));

/** `npm run rekey` (issue 10, item 11): every stored secret moves to the newest key, resumably and without overwriting concurrent changes. */
describe('re-encrypting stored secrets under the newest key', () => {
  let db: DataSource;
  let projectId: number;

  beforeAll(async () => {
    db = new DataSource(dataSourceOptions({ url: await createTestDatabase(), poolSize: 4, applicationName: 'int-spec' }));
    await db.initialize();
    [{ id: projectId }] = await db.query(`INSERT INTO projects (key, name) VALUES ('rekey', 'Rekey') RETURNING id`);
  });

  afterAll(() => db.destroy());

  /** A webhook whose URL and secrets were sealed by `seal` (K1-era values by default). */
  async function webhook(name: string, seal: (plain: string, ctx: ReturnType<typeof secretContext.webhookUrl>) => string): Promise<string> {
    const [{ id }] = await db.query(
      `INSERT INTO webhooks (project_id, name, type, url_encrypted, url_masked, events) VALUES ($1, $2, 'custom', 'x', 'x', '{bb.issue.create}') RETURNING id`,
      [projectId, name],
    );
    await db.query(
      `UPDATE webhooks SET url_encrypted = $2, secret_encrypted = $3, previous_secret_encrypted = $4, updated_at = '2024-01-01T00:00:00Z' WHERE id = $1`,
      [
        id,
        seal(`https://${name}.example.com/hook`, secretContext.webhookUrl(id)),
        seal(`whsec_${name}`, secretContext.webhookSecret(id)),
        seal(`whsec_old_${name}`, secretContext.webhookSecret(id)),
      ],
    );
    return id;
  }

  const stored = async (id: string) =>
    (await db.query(`SELECT url_encrypted, secret_encrypted, previous_secret_encrypted, updated_at FROM webhooks WHERE id = $1`, [id]))[0];

  it('moves v1 values and values of an older key to the newest key, keeps them readable in place, and leaves updated_at alone', async () => {
    const v1 = await webhook('legacy', (plain) => sealV1(K1, plain));
    const old = await webhook('older-key', (plain, ctx) => boxOf(K1).encrypt(plain, ctx));
    const fresh = await webhook('current', (plain, ctx) => boxOf(K2).encrypt(plain, ctx));
    const freshBefore = await stored(fresh);
    await db.query(`INSERT INTO im_integrations (provider, credentials_encrypted) VALUES ('slack', $1)`, [sealV1(K1, '{"token":"xoxb-1"}')]);

    const box = boxOf(K2, K1);
    const report = await rekeyStoredSecrets(db, box, { batchSize: 1 });
    expect(report).toEqual({ rewritten: 7, changedMeanwhile: 0, unreadable: [] });

    const only = boxOf(K2); // the old key can go now
    for (const [id, name] of [
      [v1, 'legacy'],
      [old, 'older-key'],
      [fresh, 'current'],
    ]) {
      const row = await stored(id);
      for (const value of [row.url_encrypted, row.secret_encrypted, row.previous_secret_encrypted])
        expect(value.startsWith(`v2.${encryptionKeyId(K2)}.`)).toBe(true);
      expect(only.decrypt(row.url_encrypted, secretContext.webhookUrl(id))).toBe(`https://${name}.example.com/hook`);
      expect(only.decrypt(row.secret_encrypted, secretContext.webhookSecret(id))).toBe(`whsec_${name}`);
      expect(only.decrypt(row.previous_secret_encrypted, secretContext.webhookSecret(id))).toBe(`whsec_old_${name}`);
      expect(row.updated_at.toISOString()).toBe('2024-01-01T00:00:00.000Z');
    }
    expect(await stored(fresh)).toEqual(freshBefore);
    const [{ credentials_encrypted }] = await db.query(`SELECT credentials_encrypted FROM im_integrations WHERE provider = 'slack'`);
    expect(only.decrypt(credentials_encrypted, secretContext.imCredentials('slack'))).toBe('{"token":"xoxb-1"}');

    // Nothing is left: a second run rewrites nothing.
    expect(await rekeyStoredSecrets(db, box)).toEqual({ rewritten: 0, changedMeanwhile: 0, unreadable: [] });
  });

  it('resumes where an interrupted run stopped', async () => {
    const ids = [
      await webhook('r1', (p, c) => boxOf(K1).encrypt(p, c)),
      await webhook('r2', (p, c) => boxOf(K1).encrypt(p, c)),
      await webhook('r3', (p, c) => boxOf(K1).encrypt(p, c)),
    ];
    const box = boxOf(K3, K2, K1);
    const crash = new Error('killed');
    await expect(
      rekeyStoredSecrets(db, box, {
        batchSize: 1,
        onBatch: () => {
          throw crash;
        },
      }),
    ).rejects.toBe(crash);
    const report = await rekeyStoredSecrets(db, box, { batchSize: 2 });
    // The first run stopped after its first batch; the second one finishes the rest.
    expect(report.unreadable).toEqual([]);
    for (const id of ids) {
      const row = await stored(id);
      expect(box.isCurrent(row.url_encrypted) && box.isCurrent(row.secret_encrypted) && box.isCurrent(row.previous_secret_encrypted)).toBe(true);
      expect(boxOf(K3).decrypt(row.url_encrypted, secretContext.webhookUrl(id))).toMatch(/^https:\/\/r\d\.example\.com\/hook$/);
    }
  });

  it('never overwrites a value that changed after it was read, and names the values no key opens', async () => {
    const id = await webhook('raced', (p, c) => boxOf(K1).encrypt(p, c));
    const before = (await stored(id)).url_encrypted;
    // A PATCH lands between the read and the write: the app sealed the new URL with its newest key.
    const patched = boxOf(K3, K1).encrypt('https://patched.example.com/hook', secretContext.webhookUrl(id));
    await db.query(`UPDATE webhooks SET url_encrypted = $2 WHERE id = $1`, [id, patched]);
    const box = boxOf(K3, K1);
    const outcome = await rekeyValue(db, box, {
      table: 'webhooks',
      key: 'id',
      keyType: 'uuid',
      column: 'url_encrypted',
      row: id,
      stored: before,
      context: secretContext.webhookUrl(id),
    });
    expect(outcome).toBe('changed');
    expect((await stored(id)).url_encrypted).toBe(patched);

    const lost = await webhook('lost-key', (p, c) => boxOf(randomBytes(32)).encrypt(p, c));
    const report = await rekeyStoredSecrets(db, box);
    expect(
      report.unreadable
        .filter((u) => u.row === lost)
        .map((u) => u.column)
        .sort(),
    ).toEqual(['previous_secret_encrypted', 'secret_encrypted', 'url_encrypted']);
    expect(report.unreadable[0].reason).toMatch(/HERALD_ENCRYPTION_KEY does not list/);
  });
});
