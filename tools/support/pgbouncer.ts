import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { freePort } from '@herald/testing';

export interface PgBouncerDatabase {
  /** The Postgres URL this entry forwards to (host, port, database and user are taken from it). */
  target: string;
  /** Run on every new server connection (pgbouncer's `connect_query`), e.g. `SET statement_timeout = 15000`. */
  connectQuery?: string;
}

export interface PgBouncerOptions {
  /** Database names clients connect to, and where each goes. */
  databases: Record<string, PgBouncerDatabase>;
  poolMode?: 'session' | 'transaction' | 'statement';
  /** Server connections per (database, user): small, so clients share them as they would in production. */
  poolSize?: number;
}

/**
 * A private PgBouncer (Debian's package, 1.18 here) on a spare port, for specs and benchmarks that
 * put Herald behind a pooler. It refuses to run as root, so as root it runs as `postgres`, with its
 * configuration, user list, log and pid file in a temporary folder that user owns. `stop()` ends
 * it; a process exit ends it too (the spec may fail or time out before its afterAll).
 */
export class PrivatePgBouncer {
  private child?: ChildProcess;
  private dir = '';
  port = 0;
  private readonly killOnExit = () => this.kill();

  static async start(options: PgBouncerOptions): Promise<PrivatePgBouncer> {
    if (spawnSync('pgbouncer', ['--version'], { encoding: 'utf8' }).status !== 0) {
      throw new Error('pgbouncer is not installed: apt-get install -y pgbouncer (.ci/run installs it)');
    }
    const bouncer = new PrivatePgBouncer();
    bouncer.dir = mkdtempSync(join(tmpdir(), 'herald-pgbouncer-'));
    bouncer.port = await freePort();
    const users = new Set<string>();
    const entries = Object.entries(options.databases).map(([name, db]) => {
      const target = new URL(db.target);
      const user = decodeURIComponent(target.username) || 'postgres';
      users.add(user);
      const params = [`host=${target.hostname}`, `port=${target.port || 5432}`, `dbname=${decodeURIComponent(target.pathname.slice(1))}`];
      if (db.connectQuery) params.push(`connect_query='${db.connectQuery.replace(/'/g, "''")}'`);
      return `${name} = ${params.join(' ')}`;
    });
    const file = (name: string) => join(bouncer.dir, name);
    writeFileSync(
      file('pgbouncer.ini'),
      [
        '[databases]',
        ...entries,
        '[pgbouncer]',
        'listen_addr = 127.0.0.1',
        `listen_port = ${bouncer.port}`,
        'unix_socket_dir =',
        'auth_type = trust',
        `auth_file = ${file('userlist.txt')}`,
        `pool_mode = ${options.poolMode ?? 'transaction'}`,
        `default_pool_size = ${options.poolSize ?? 4}`,
        'max_client_conn = 1000',
        'admin_users = postgres',
        `logfile = ${file('pgbouncer.log')}`,
        `pidfile = ${file('pgbouncer.pid')}`,
        '',
      ].join('\n'),
    );
    writeFileSync(file('userlist.txt'), [...users].map((u) => `"${u}" ""`).join('\n') + '\n');
    const root = process.getuid?.() === 0;
    if (root) {
      const uid = Number(spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).stdout.trim());
      for (const f of ['', 'pgbouncer.ini', 'userlist.txt']) chownSync(join(bouncer.dir, f), uid, 0);
    }
    const [cmd, args] = root ? ['runuser', ['-u', 'postgres', '--', 'pgbouncer', file('pgbouncer.ini')]] : ['pgbouncer', [file('pgbouncer.ini')]];
    bouncer.child = spawn(cmd, args, { stdio: 'ignore' });
    process.once('exit', bouncer.killOnExit);
    const deadline = Date.now() + 10_000;
    for (;;) {
      try {
        await bouncer.admin('SHOW VERSION');
        return bouncer;
      } catch (err) {
        if (bouncer.child.exitCode !== null || Date.now() > deadline) {
          const log = existsSync(file('pgbouncer.log')) ? readFileSync(file('pgbouncer.log'), 'utf8') : '';
          await bouncer.stop();
          throw new Error(`pgbouncer did not start (${(err as Error).message}):\n${log.slice(-2000)}`);
        }
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  }

  /** A client URL for one of the configured database names. */
  url(database: string, user = 'postgres'): string {
    return `postgres://${user}@127.0.0.1:${this.port}/${database}`;
  }

  /** A command on pgbouncer's admin console (`SHOW STATS`, `SHOW POOLS`…), which speaks the simple protocol only. */
  async admin<T = Record<string, unknown>>(command: string): Promise<T[]> {
    const c = new Client({ connectionString: this.url('pgbouncer'), connectionTimeoutMillis: 2000 });
    await c.connect();
    try {
      return (await c.query(command)).rows as T[];
    } finally {
      await c.end();
    }
  }

  /** What pgbouncer logged so far. */
  log(): string {
    const path = join(this.dir, 'pgbouncer.log');
    return existsSync(path) ? readFileSync(path, 'utf8') : '';
  }

  /** The pgbouncer process itself (runuser, when root, is only its parent). */
  pid(): number | undefined {
    const path = join(this.dir, 'pgbouncer.pid');
    const pid = existsSync(path) ? Number(readFileSync(path, 'utf8').trim()) : NaN;
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  }

  private kill(): void {
    const pid = this.pid();
    try {
      if (pid) process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
    this.child?.kill('SIGKILL');
  }

  async stop(): Promise<void> {
    process.off('exit', this.killOnExit);
    const child = this.child;
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      const pid = this.pid();
      // SIGTERM: pgbouncer's immediate shutdown (SIGINT would wait for its clients to leave).
      if (pid) process.kill(pid, 'SIGTERM');
      else child.kill('SIGTERM');
      const timer = setTimeout(() => this.kill(), 3000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}
