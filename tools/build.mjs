#!/usr/bin/env node
// Compiles apps/, libs/ and tools/ to dist/ with SWC (type-checking is `npm run typecheck`).
// Imports of @herald/<lib> are rewritten to relative paths, so the output runs with plain node.
import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const swcrc = JSON.parse(readFileSync(join(root, '.swcrc'), 'utf8'));
const { paths } = JSON.parse(readFileSync(join(root, 'tsconfig.base.json'), 'utf8')).compilerOptions;
swcrc.jsc.baseUrl = root;
swcrc.jsc.paths = paths;
delete swcrc.$schema;
const config = join(root, 'dist', '.swcrc.build.json');

rmSync(join(root, 'dist'), { recursive: true, force: true });
spawnSync('mkdir', ['-p', join(root, 'dist')]);
writeFileSync(config, JSON.stringify(swcrc));
const result = spawnSync(
  join(root, 'node_modules', '.bin', 'swc'),
  ['apps', 'libs', 'tools', '-d', 'dist', '--config-file', config, '--ignore', '**/*.spec.ts,**/*.int-spec.ts,**/*.e2e-spec.ts', '--copy-files', '--quiet'],
  { cwd: root, stdio: 'inherit' },
);
rmSync(config, { force: true });
process.exit(result.status ?? 1);
