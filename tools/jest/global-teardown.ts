/* eslint-disable @nx/enforce-module-boundaries -- Jest loads global setup/teardown outside moduleNameMapper, so @herald/* aliases do not resolve here; these imports are relative. */
import { withPg } from '../../libs/testing/src/services';

/** Drops the databases this run created. */
export default async function globalTeardown(): Promise<void> {
  const run = process.env.HERALD_TEST_RUN;
  if (!run) return;
  await withPg(async (c) => {
    const { rows } = await c.query(`SELECT datname FROM pg_database WHERE datname LIKE $1`, [`herald_test_${run}_%`]);
    for (const { datname } of rows as Array<{ datname: string }>) {
      await c.query(`DROP DATABASE IF EXISTS "${datname}" WITH (FORCE)`).catch(() => undefined);
    }
  });
}
