#!/usr/bin/env node
// `npm start`: runs the three apps against local Postgres and Redis for development.
// Creates the database, migrates, generates (and keeps in .herald/dev.env) an admin token and an
// encryption key, and prints the URLs. Ctrl-C stops everything gracefully.
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const stateDir = join(root, '.herald');
const envFile = join(stateDir, 'dev.env');

function loadDevEnv() {
  mkdirSync(stateDir, { recursive: true });
  const values = existsSync(envFile)
    ? Object.fromEntries(
        readFileSync(envFile, 'utf8')
          .split('\n')
          .filter((l) => l.includes('='))
          .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
      )
    : {};
  values.HERALD_ADMIN_TOKEN ??= `adm_${randomBytes(24).toString('base64url')}`;
  values.HERALD_ENCRYPTION_KEY ??= randomBytes(32).toString('base64');
  writeFileSync(
    envFile,
    Object.entries(values)
      .map(([k, v]) => `${k}=${v}`)
      .join('\n') + '\n',
    { mode: 0o600 },
  );
  return values;
}

function reachable(url, defaultPort) {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = connect({ host: hostname, port: Number(port || defaultPort), timeout: 2000 });
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
    socket.once('timeout', () => (socket.destroy(), resolve(false)));
  });
}

const env = { ...loadDevEnv(), ...process.env };
env.DATABASE_URL ??= 'postgres://postgres@127.0.0.1:5432/herald';
// A Redis Cluster or Sentinel replaces REDIS_URL (the apps refuse both); the apps check those themselves.
const distributedRedis = Boolean(env.HERALD_REDIS_CLUSTER_NODES || env.HERALD_REDIS_SENTINELS);
if (!distributedRedis) env.REDIS_URL ??= 'redis://127.0.0.1:6379';
env.HERALD_PUBLIC_URL ??= `http://localhost:${env.GATEWAY_PORT ?? 8080}`;

const missing = [];
if (!(await reachable(env.DATABASE_URL, 5432)))
  missing.push([
    'Postgres',
    env.DATABASE_URL.replace(/\/\/[^@/]*@/, '//'),
    'apt-get install -y postgresql && pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start',
    'postgres',
  ]);
if (!distributedRedis && !(await reachable(env.REDIS_URL, 6379)))
  missing.push(['Redis', env.REDIS_URL, 'apt-get install -y redis-server && redis-server --daemonize yes --save "" --appendonly no', 'redis']);
if (missing.length) {
  for (const [name, url, debian, service] of missing) {
    console.error(`✖ ${name} is not reachable at ${url}.`);
    console.error(`  Debian/Ubuntu: ${debian}`);
    console.error(`  Docker:        docker compose -f docker/compose.yml up -d ${service}`);
  }
  console.error('Set DATABASE_URL / REDIS_URL to use other servers. (BullMQ runs Lua scripts, so it needs a real Redis.)');
  process.exit(1);
}

for (const [label, args] of [
  ['build', ['tools/build.mjs']],
  ['migrate', ['dist/tools/migrate.js']],
]) {
  const result = spawnSync(process.execPath, args, { cwd: root, env, stdio: 'inherit' });
  if (result.status !== 0) {
    console.error(`✖ ${label} failed`);
    process.exit(result.status ?? 1);
  }
}

const apps = [
  ['ingestion', env.INGESTION_PORT ?? 8081],
  ['api-gateway', env.GATEWAY_PORT ?? 8080],
  ['delivery-worker', env.WORKER_PORT ?? 8082],
];
const children = apps.map(([name]) => {
  const child = spawn(process.execPath, [join(root, 'dist', 'apps', name, 'src', 'main.js')], { cwd: root, env, stdio: ['ignore', 'inherit', 'inherit'] });
  child.on('exit', (code, signal) => {
    if (!stopping) {
      console.error(`✖ ${name} exited (${signal ?? code}); stopping the others`);
      stop(1);
    }
  });
  return child;
});

let stopping = false;
function stop(code = 0) {
  if (stopping) return;
  stopping = true;
  for (const child of children) if (child.exitCode === null) child.kill('SIGTERM');
  Promise.all(children.map((c) => (c.exitCode !== null ? null : new Promise((r) => c.once('exit', r))))).then(() => process.exit(code));
}
process.on('SIGINT', () => stop(0));
process.on('SIGTERM', () => stop(0));

async function ready(port) {
  for (let i = 0; i < 300; i++) {
    try {
      if ((await fetch(`http://127.0.0.1:${port}/readyz`)).ok) return true;
    } catch {
      // starting
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}
const states = await Promise.all(apps.map(([, port]) => ready(port)));
if (states.every(Boolean)) {
  const gw = `http://localhost:${apps[1][1]}`;
  console.log(`
  Herald is running
    web console   ${gw}/console/   (sign in with the admin token below)
    API gateway   ${gw}        (OpenAPI: ${gw}/docs)
    ingestion     http://localhost:${apps[0][1]}
    worker        http://localhost:${apps[2][1]}/metrics
    admin token   ${env.HERALD_ADMIN_TOKEN}
  (token and encryption key are kept in .herald/dev.env; Ctrl-C stops everything)
  ${env.HERALD_ALLOW_PRIVATE_TARGETS === 'true' ? 'Deliveries may reach this machine (HERALD_ALLOW_PRIVATE_TARGETS=true): npm run receiver -- --secret whsec_... is one.' : 'To deliver to a receiver on this machine (npm run receiver), start with HERALD_ALLOW_PRIVATE_TARGETS=true npm start.'}
  (the README's "Try it" walks through a first delivery)

  Try:  curl -s -H "Authorization: Bearer ${env.HERALD_ADMIN_TOKEN}" -H 'content-type: application/json' \\
          -d '{"key":"demo","name":"Demo"}' ${gw}/v1/projects
`);
} else {
  console.error('✖ an app did not become ready; see its log above');
  stop(1);
}
