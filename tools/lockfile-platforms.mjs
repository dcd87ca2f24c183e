#!/usr/bin/env node
// Records every platform-specific optional dependency in package-lock.json.
//
// Why: the npm registry mirror this project is built against serves only the Linux x64 builds of
// native packages (@swc/core-*, @nx/nx-*, ...). `npm install` then leaves the other platforms'
// entries out of the lockfile, and `npm ci` (npm ≥ 11.6) refuses such a lockfile as "out of sync".
// A lockfile made against the public registry lists every platform, each marked optional with its
// os/cpu, and npm skips the ones that do not match the machine. This script adds those entries
// (version from the parent's optionalDependencies, os/cpu/libc from the package name), so the
// lockfile is valid here and everywhere. Run it after `npm install`: `npm run lockfile`.
import { readFileSync, writeFileSync } from 'node:fs';

const file = new URL('../package-lock.json', import.meta.url);
const lock = JSON.parse(readFileSync(file, 'utf8'));
const packages = lock.packages;

const OS = ['darwin', 'linux', 'win32', 'android', 'freebsd', 'openbsd', 'netbsd', 'sunos', 'aix', 'openharmony', 'wasm32'];
const CPU = ['arm64', 'x64', 'arm', 'ia32', 'ppc64', 'ppc64le', 's390x', 'riscv64', 'loong64', 'mips64el', 'wasm32', 'x86', 'universal'];

function platformOf(name) {
  const parts = name.split('/').pop().split('-');
  const os = parts.find((p) => OS.includes(p));
  let cpu = parts.find((p) => CPU.includes(p));
  if (cpu === 'x86') cpu = 'ia32';
  if (!os && !cpu) return null;
  const entry = {};
  if (os && os !== 'wasm32') entry.os = [os];
  if (cpu === 'universal') entry.cpu = ['x64', 'arm64'];
  else if (cpu === 'wasm32' || os === 'wasm32') entry.cpu = ['wasm32'];
  else if (cpu) entry.cpu = [cpu];
  if (os === 'linux') entry.libc = [parts.includes('musl') || parts.includes('musleabihf') ? 'musl' : 'glibc'];
  return entry;
}

const present = (name) => Object.keys(packages).some((key) => key === `node_modules/${name}` || key.endsWith(`/node_modules/${name}`));

let added = 0;
for (const [key, pkg] of Object.entries({ ...packages })) {
  for (const [name, spec] of Object.entries(pkg.optionalDependencies ?? {})) {
    if (present(name)) continue;
    const platform = platformOf(name);
    if (!platform || !/^\d+\.\d+\.\d+(-[\w.]+)?$/.test(spec)) continue;
    const hoisted = `node_modules/${name}`;
    const target = packages[hoisted] ? `${key}/node_modules/${name}` : hoisted;
    packages[target] = { version: spec, ...platform, optional: true };
    added++;
  }
}

const sorted = Object.fromEntries(Object.entries(packages).sort(([a], [b]) => (a === '' ? -1 : b === '' ? 1 : a.localeCompare(b))));
lock.packages = sorted;
writeFileSync(file, `${JSON.stringify(lock, null, 2)}\n`);
console.log(`package-lock.json: ${added} platform entries added`);
