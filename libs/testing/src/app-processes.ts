import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';

export type AppName = 'api-gateway' | 'ingestion' | 'delivery-worker';

/** The repository root, whether this file runs from libs/ (Jest) or dist/libs/ (tools). */
const ROOT = (() => {
  let dir = __dirname;
  while (!existsSync(join(dir, 'package.json')) && dirname(dir) !== dir) dir = dirname(dir);
  return dir;
})();

/** The built entry point of an app (npm test builds first: tools/test.mjs). */
export function appEntry(app: AppName): string {
  const entry = join(ROOT, 'dist', 'apps', app, 'src', 'main.js');
  if (!existsSync(entry)) throw new Error(`${entry} is missing: run \`npm run build\` (npm test does it for you)`);
  return entry;
}

export interface RunningApp {
  name: AppName;
  process: ChildProcess;
  port: number;
  output: string[];
  url: string;
}

/** Starts an app as a real process (with `nodeArgs` such as `--cpu-prof`) and waits until `/readyz` answers 200. */
export async function startApp(name: AppName, env: Record<string, string>, port: number, timeoutMs = 30_000, nodeArgs: string[] = []): Promise<RunningApp> {
  const portVar = { 'api-gateway': 'GATEWAY_PORT', ingestion: 'INGESTION_PORT', 'delivery-worker': 'WORKER_PORT' }[name];
  const child = spawn(process.execPath, [...nodeArgs, appEntry(name)], {
    env: { ...process.env, ...env, [portVar]: String(port), HOST: '127.0.0.1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  child.stdout?.on('data', (d: Buffer) => output.push(d.toString()));
  child.stderr?.on('data', (d: Buffer) => output.push(d.toString()));
  const app: RunningApp = { name, process: child, port, output, url: `http://127.0.0.1:${port}` };
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`${name} exited with ${child.exitCode}:\n${output.join('').slice(-3000)}`);
    try {
      const res = await fetch(`${app.url}/readyz`);
      if (res.status === 200) return app;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill('SIGKILL');
  throw new Error(`${name} was not ready within ${timeoutMs} ms:\n${output.join('').slice(-3000)}`);
}

/** SIGTERM, then SIGKILL if it has not exited within `graceMs`. Resolves with the exit code. */
export async function stopApp(app: RunningApp, signal: NodeJS.Signals = 'SIGTERM', graceMs = 30_000): Promise<number | null> {
  if (app.process.exitCode !== null || app.process.signalCode !== null) return app.process.exitCode;
  const exited = new Promise<number | null>((resolve) => app.process.once('exit', (code) => resolve(code)));
  app.process.kill(signal);
  const timer = setTimeout(() => app.process.kill('SIGKILL'), graceMs);
  const code = await exited;
  clearTimeout(timer);
  return code;
}

/**
 * Ports handed out below the kernel's ephemeral range (32768–60999 on Linux): a port the OS picks
 * for `listen(0)` comes from that range, where any process's outgoing connection, or another
 * test run's freePort, may take it again before our app binds it (seen with several test runs on
 * one machine: the gateway's port answered as another run's ingestion). A random port below that
 * range is only ever taken by someone who asked for it, so a collision needs two runs to draw the
 * same port out of 17 000 within the same moment.
 */
const PORT_RANGE = { from: 15_000, to: 32_000 };

/** A TCP port that was free a moment ago, drawn at random below the ephemeral range. */
export async function freePort(): Promise<number> {
  for (let i = 0; i < 50; i++) {
    const port = PORT_RANGE.from + Math.floor(Math.random() * (PORT_RANGE.to - PORT_RANGE.from));
    if (await canListen(port)) return port;
  }
  throw new Error(`no free TCP port found in ${PORT_RANGE.from}-${PORT_RANGE.to} after 50 tries`);
}

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/**
 * The three apps as a test starts them: ingestion, the gateway forwarding to it
 * (`HERALD_INGESTION_URL` set here) and `workers` delivery workers, each on a free port, started
 * together. Returned in that order: `[ingestion, gateway, ...workers]`.
 */
export async function startHerald(env: Record<string, string>, workers = 1): Promise<RunningApp[]> {
  const ingestionPort = await freePort();
  const withIngestion = { ...env, HERALD_INGESTION_URL: `http://127.0.0.1:${ingestionPort}` };
  const ports = await Promise.all(Array.from({ length: workers + 1 }, () => freePort()));
  return Promise.all([
    startApp('ingestion', withIngestion, ingestionPort),
    startApp('api-gateway', withIngestion, ports[0]),
    ...ports.slice(1).map((port) => startApp('delivery-worker', withIngestion, port)),
  ]);
}
