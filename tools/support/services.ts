import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chownSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '@herald/testing';

/**
 * Private Postgres and Redis servers for fault drills and benchmarks: the tool owns them, so it
 * can stop and restart them, and read their counters, without disturbing the machine's shared
 * servers (or other tests).
 */

function pgBin(name: string): string {
  const versions = readdirSync('/usr/lib/postgresql').sort((a, b) => Number(b) - Number(a));
  return join('/usr/lib/postgresql', versions[0], 'bin', name);
}

/** Postgres refuses to run as root; run its tools as the `postgres` user when we are root. */
function asPostgres(cmd: string, args: string[]): { status: number | null; output: string } {
  const root = process.getuid?.() === 0;
  const result = root ? spawnSync('runuser', ['-u', 'postgres', '--', cmd, ...args], { encoding: 'utf8' }) : spawnSync(cmd, args, { encoding: 'utf8' });
  return { status: result.status, output: `${result.stdout ?? ''}${result.stderr ?? ''}` };
}

export class PrivatePostgres {
  private dir = '';
  private settings: string[] = [];
  port = 0;

  /** `settings` are extra server options, e.g. { shared_preload_libraries: 'pg_stat_statements' }. */
  static async create(settings: Record<string, string> = {}): Promise<PrivatePostgres> {
    const pg = new PrivatePostgres();
    pg.settings = Object.entries(settings).map(([k, v]) => `-c ${k}=${v}`);
    pg.dir = mkdtempSync(join(tmpdir(), 'herald-drill-pg-'));
    if (process.getuid?.() === 0) chownSync(pg.dir, Number(spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).stdout.trim()), 0);
    const init = asPostgres(pgBin('initdb'), ['-D', join(pg.dir, 'data'), '-U', 'postgres', '--auth=trust', '-E', 'UTF8']);
    if (init.status !== 0) throw new Error(`initdb failed: ${init.output}`);
    pg.port = await freePort();
    await pg.start();
    return pg;
  }

  get url(): string {
    return `postgres://postgres@127.0.0.1:${this.port}/herald`;
  }

  async start(): Promise<void> {
    const res = asPostgres(pgBin('pg_ctl'), [
      '-D',
      join(this.dir, 'data'),
      '-l',
      join(this.dir, 'log'),
      '-w',
      '-o',
      [`-p ${this.port} -k ${this.dir} -c listen_addresses=127.0.0.1 -c max_connections=200`, ...this.settings].join(' '),
      'start',
    ]);
    if (res.status !== 0) throw new Error(`pg_ctl start failed: ${res.output}`);
  }

  /** The postmaster and every backend it started (for CPU accounting). */
  pids(): number[] {
    const postmaster = Number(readFileSync(join(this.dir, 'data', 'postmaster.pid'), 'utf8').split('\n')[0]);
    return [postmaster, ...childPids(postmaster)];
  }

  /** `immediate` is a crash: no checkpoint, clients cut off. */
  async stop(mode: 'fast' | 'immediate' = 'immediate'): Promise<void> {
    asPostgres(pgBin('pg_ctl'), ['-D', join(this.dir, 'data'), '-m', mode, '-w', 'stop']);
  }

  async destroy(): Promise<void> {
    await this.stop('immediate');
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export class PrivateRedis {
  private process?: ChildProcess;

  get pid(): number | undefined {
    return this.process?.pid;
  }
  private dir = '';
  private persistent = false;
  port = 0;

  /** `persistent` keeps an append-only file, so a restart keeps the queues (as production should). */
  static async create(persistent: boolean): Promise<PrivateRedis> {
    const redis = new PrivateRedis();
    redis.dir = mkdtempSync(join(tmpdir(), 'herald-drill-redis-'));
    redis.port = await freePort();
    redis.persistent = persistent;
    await redis.start();
    return redis;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    const args = ['--port', String(this.port), '--bind', '127.0.0.1', '--dir', this.dir, '--save', '', '--maxmemory-policy', 'noeviction'];
    args.push('--appendonly', this.persistent ? 'yes' : 'no', '--appendfsync', 'everysec');
    this.process = spawn('redis-server', args, { stdio: 'ignore' });
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      if (spawnSync('redis-cli', ['-p', String(this.port), 'ping'], { encoding: 'utf8' }).stdout.trim() === 'PONG') return;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error('private redis-server did not start');
  }

  /** SIGKILL: the server vanishes mid-command, as in a crash or an OOM kill. */
  async stop(): Promise<void> {
    const child = this.process;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;
  }

  async destroy(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Direct children of `pid`, read from /proc. */
export function childPids(pid: number): number[] {
  const out: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid) out.push(Number(entry));
    } catch {
      // exited meanwhile
    }
  }
  return out;
}

/** CPU seconds (user + system, their reaped children included) used so far by these processes; exited ones count 0. */
export function cpuSeconds(pids: Array<number | undefined>): number {
  let ticks = 0;
  for (const pid of pids) {
    if (!pid) continue;
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      // utime + stime, plus cutime + cstime: the CPU of children that exited and were reaped (a
      // Postgres backend whose connection closed), so a group's total never goes down.
      ticks += Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14]);
    } catch {
      // exited
    }
  }
  return ticks / 100;
}

/** Busy and total CPU seconds of the whole machine so far (/proc/stat), to tell CPU-bound from I/O-bound. */
export function machineCpuSeconds(): { busy: number; total: number } {
  const [cpu] = readFileSync('/proc/stat', 'utf8').split('\n');
  const [user, nice, system, idle, iowait, irq, softirq, steal] = cpu.split(/\s+/).slice(1).map(Number);
  const busy = user + nice + system + irq + softirq + steal;
  return { busy: busy / 100, total: (busy + idle + iowait) / 100 };
}
