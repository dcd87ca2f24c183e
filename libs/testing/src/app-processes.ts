import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
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

/** A TCP port that was free a moment ago (the OS picks it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}
