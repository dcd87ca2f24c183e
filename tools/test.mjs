#!/usr/bin/env node
// `npm test`: build, type-check, lint (module boundaries included), check the format, then every Jest spec
// (unit, integration against the machine's Postgres and Redis, end-to-end with the built apps,
// the web console's component specs in jsdom and its flows in Chromium).
// The build comes first: it regenerates the API's TypeScript types from the controllers, so the
// type check then fails if the console or the SDK no longer matches the contract.
// Extra arguments go to Jest, e.g. `npm test -- libs/channels`.
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const bin = (name) => join(root, 'node_modules', '.bin', name);
const jestArgs = process.argv.slice(2);

const steps = [
  ['build', process.execPath, ['tools/build.mjs']],
  ['typecheck', bin('tsc'), ['-p', 'tsconfig.json', '--noEmit']],
  ['typecheck console', bin('tsc'), ['-p', 'apps/console/tsconfig.json']],
  // The module-boundary lint rule reads Nx's cached project graph; compute it first.
  ['project graph', bin('nx'), ['show', 'projects', '--json']],
  ['lint', bin('eslint'), ['apps', 'libs', 'tools', '--max-warnings', '0']],
  // The code's layout is Prettier's (.prettierrc.json, 160 columns); `npm run format` rewrites it.
  ['format', bin('prettier'), ['--check', '--log-level', 'warn', '**/*.{ts,tsx,mts,mjs,js,css,html}']],
  ['jest', bin('jest'), ['--ci', ...jestArgs]],
];

for (const [name, command, args] of steps) {
  const started = Date.now();
  process.stdout.write(`\n▶ ${name}\n`);
  const quiet = name === 'project graph';
  const result = spawnSync(command, args, {
    cwd: root,
    stdio: quiet ? ['ignore', 'ignore', 'inherit'] : 'inherit',
    env: { ...process.env, NX_DAEMON: 'false', NX_NO_CLOUD: 'true' },
  });
  if (result.status !== 0) {
    process.stdout.write(`\n✖ ${name} failed (exit ${result.status ?? result.signal})\n`);
    process.exit(result.status ?? 1);
  }
  process.stdout.write(`✔ ${name} (${((Date.now() - started) / 1000).toFixed(1)} s)\n`);
}
