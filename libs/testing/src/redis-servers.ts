import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import IORedis, { type Redis } from 'ioredis';
import { freePort } from './app-processes';
import { TcpProxy } from './tcp-proxy';

/**
 * Private Redis topologies for tests and drills, on spare ports of 127.0.0.1: a Redis Cluster of
 * three masters, and a primary with a replica watched by three sentinels. The test owns them, so
 * it can kill a node; every process is killed (and its folder removed) by `stop()`, by a start
 * that fails, and, as a last resort, when the test process exits.
 */

const live = new Set<ChildProcess>();
let exitHookInstalled = false;

function track(child: ChildProcess): void {
  live.add(child);
  child.once('exit', () => live.delete(child));
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.once('exit', () => {
      for (const c of live) c.kill('SIGKILL');
    });
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** `127.0.0.1:port,…` as HERALD_REDIS_CLUSTER_NODES and HERALD_REDIS_SENTINELS take it. */
const hostPorts = (nodes: RedisProcess[]) => nodes.map((n) => `127.0.0.1:${n.port}`).join(',');

/** Runs `setUp` on a new set of servers; if it fails, every process started so far is killed. */
async function startedOrStopped<T extends { stop(): Promise<void> }>(servers: T, setUp: () => Promise<void>): Promise<T> {
  try {
    await setUp();
    return servers;
  } catch (err) {
    await servers.stop();
    throw err;
  }
}

async function until<T>(what: string, deadline: number, check: () => Promise<T | undefined>): Promise<T> {
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (err) {
      last = err;
    }
    await sleep(100);
  }
  throw new Error(`${what} did not happen in time${last ? ` (last error: ${(last as Error).message})` : ''}`);
}

/** One redis-server process (a data node or, with `--sentinel`, a sentinel). */
export class RedisProcess {
  private child?: ChildProcess;

  constructor(
    readonly port: number,
    private readonly args: string[],
    private readonly password: string | null,
    private readonly ca?: Buffer,
  ) {}

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get running(): boolean {
    return !!this.child && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Starts the server and waits until it answers PING. */
  async start(deadline: number): Promise<void> {
    const output: string[] = [];
    const child = spawn('redis-server', this.args, { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout?.on('data', (d: Buffer) => output.push(d.toString()));
    child.stderr?.on('data', (d: Buffer) => output.push(d.toString()));
    track(child);
    this.child = child;
    await until(`redis-server on port ${this.port} answering`, deadline, async () => {
      if (child.exitCode !== null) throw new Error(`redis-server exited with ${child.exitCode}: ${output.join('').slice(-1000)}`);
      return (await this.client(async (r) => r.ping())) === 'PONG' ? true : undefined;
    });
  }

  /** Runs `fn` on a short-lived connection to this process. */
  async client<T>(fn: (redis: Redis) => Promise<T>): Promise<T> {
    const redis = new IORedis({
      host: '127.0.0.1',
      port: this.port,
      password: this.password ?? undefined,
      ...(this.ca && { tls: { ca: this.ca } }),
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
      connectTimeout: 1000,
    });
    redis.on('error', () => undefined);
    try {
      await redis.connect();
      return await fn(redis);
    } finally {
      redis.disconnect();
    }
  }

  /** SIGKILL: the server vanishes mid-command, as in a crash or an OOM kill. */
  async kill(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;
  }
}

function baseArgs(port: number, dir: string, password: string | null, tls?: TestCertificates): string[] {
  const args = ['--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no', '--maxmemory-policy', 'noeviction'];
  // With TLS the node listens for TLS only (clients, and with --tls-cluster the cluster bus).
  if (tls)
    args.push(
      '--port',
      '0',
      '--tls-port',
      String(port),
      '--tls-cert-file',
      tls.certFile,
      '--tls-key-file',
      tls.keyFile,
      '--tls-ca-cert-file',
      tls.caFile,
      '--tls-auth-clients',
      'no',
      '--tls-cluster',
      'yes',
    );
  else args.push('--port', String(port));
  if (password) args.push('--requirepass', password, '--masterauth', password);
  return args;
}

/** A throwaway CA and a certificate for 127.0.0.1 and localhost, made with the openssl command. */
export interface TestCertificates {
  caFile: string;
  certFile: string;
  keyFile: string;
  ca: Buffer;
}

export function makeTestCertificates(dir: string): TestCertificates {
  const run = (args: string[]) => {
    const result = spawnSync('openssl', args, { cwd: dir, encoding: 'utf8' });
    if (result.status !== 0) throw new Error(`openssl ${args[0]} failed: ${result.stderr}`);
  };
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  run(['req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '1', '-subj', '/CN=herald-test-ca']);
  run(['req', ...ec, '-keyout', 'node.key', '-out', 'node.csr', '-subj', '/CN=127.0.0.1']);
  writeFileSync(join(dir, 'node.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  run(['x509', '-req', '-in', 'node.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'node.pem', '-days', '1', '-extfile', 'node.ext']);
  return { caFile: join(dir, 'ca.pem'), certFile: join(dir, 'node.pem'), keyFile: join(dir, 'node.key'), ca: readFileSync(join(dir, 'ca.pem')) };
}

/** One private server without persistence: `restart()` brings back an empty one on the same port (another run_id), as after a crash. */
export class RedisServer {
  private constructor(
    private readonly dir: string,
    readonly node: RedisProcess,
  ) {}

  static async start(timeoutMs = 15_000): Promise<RedisServer> {
    const dir = mkdtempSync(join(tmpdir(), 'herald-redis-'));
    const port = await freePort();
    const server = new RedisServer(dir, new RedisProcess(port, baseArgs(port, dir, null), null));
    return startedOrStopped(server, () => server.node.start(Date.now() + timeoutMs));
  }

  get url(): string {
    return `redis://127.0.0.1:${this.node.port}`;
  }

  async restart(timeoutMs = 15_000): Promise<void> {
    await this.node.kill();
    await this.node.start(Date.now() + timeoutMs);
  }

  async stop(): Promise<void> {
    await this.node.kill();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** A Redis Cluster of `masters` masters (no replicas), its slots spread by `redis-cli --cluster create`. */
export class RedisClusterServers {
  readonly nodes: RedisProcess[] = [];
  /** With `tls`, the CA that signed the nodes' certificate (give it to clients: NODE_EXTRA_CA_CERTS=caFile). */
  tls?: TestCertificates;

  private constructor(
    private readonly dir: string,
    readonly password: string | null,
  ) {}

  static async start(options: { masters?: number; password?: string; tls?: boolean; timeoutMs?: number } = {}): Promise<RedisClusterServers> {
    const deadline = Date.now() + (options.timeoutMs ?? 30_000);
    const cluster = new RedisClusterServers(mkdtempSync(join(tmpdir(), 'herald-redis-cluster-')), options.password ?? null);
    return startedOrStopped(cluster, async () => {
      if (options.tls) cluster.tls = makeTestCertificates(cluster.dir);
      for (let i = 0; i < (options.masters ?? 3); i++) {
        const [port, busPort] = [await freePort(), await freePort()];
        const args = [
          ...baseArgs(port, cluster.dir, cluster.password, cluster.tls),
          '--cluster-enabled',
          'yes',
          '--cluster-config-file',
          join(cluster.dir, `nodes-${port}.conf`),
          // The bus port is normally port + 10000, which may be taken (or beyond 65535): pick a free one.
          '--cluster-port',
          String(busPort),
          '--cluster-node-timeout',
          '5000',
        ];
        const node = new RedisProcess(port, args, cluster.password, cluster.tls?.ca);
        cluster.nodes.push(node);
        await node.start(deadline);
      }
      const auth = [
        ...(cluster.password ? ['-a', cluster.password, '--no-auth-warning'] : []),
        ...(cluster.tls ? ['--tls', '--cacert', cluster.tls.caFile] : []),
      ];
      const create = spawnSync(
        'redis-cli',
        [...auth, '--cluster', 'create', ...cluster.nodes.map((n) => `127.0.0.1:${n.port}`), '--cluster-replicas', '0', '--cluster-yes'],
        {
          encoding: 'utf8',
          timeout: Math.max(1000, deadline - Date.now()),
        },
      );
      if (create.status !== 0) throw new Error(`redis-cli --cluster create failed: ${create.stdout}${create.stderr}`);
      for (const node of cluster.nodes) {
        await until(
          `cluster_state:ok on port ${node.port}`,
          deadline,
          async () => ((await node.client((r) => r.cluster('INFO'))) as string).includes('cluster_state:ok') || undefined,
        );
      }
    });
  }

  /** `host:port,…` as HERALD_REDIS_CLUSTER_NODES takes it. */
  get nodeList(): string {
    return hostPorts(this.nodes);
  }

  /** The variables that point a Herald app at this cluster (REDIS_URL blanked: the cluster replaces it). */
  env(): Record<string, string> {
    return {
      REDIS_URL: '',
      HERALD_REDIS_CLUSTER_NODES: this.nodeList,
      ...(this.password && { HERALD_REDIS_PASSWORD: this.password }),
      ...(this.tls && { HERALD_REDIS_TLS: 'true', NODE_EXTRA_CA_CERTS: this.tls.caFile }),
    };
  }

  /** Which node serves the slot of `key`. */
  async nodeOf(key: string): Promise<RedisProcess> {
    const [slot, ranges] = await this.nodes[0].client(async (r) => [await r.cluster('KEYSLOT', key), await r.cluster('SLOTS')] as const);
    const owner = ranges.find(([from, to]) => slot >= from && slot <= to)?.[2]?.[1];
    const node = this.nodes.find((n) => n.port === owner);
    if (!node) throw new Error(`no node of ours serves slot ${slot}`);
    return node;
  }

  /** Everything every master holds: what a cluster that lost its data looks like. */
  async flushAll(): Promise<void> {
    for (const node of this.nodes) await node.client((r) => r.flushall());
  }

  async stop(): Promise<void> {
    await Promise.all(this.nodes.map((n) => n.kill()));
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/**
 * A primary, one replica, and three sentinels (quorum 2) that fail over quickly: the primary is
 * down after `downAfterMs` without an answer (production setups use 5–30 s).
 */
export class RedisSentinelServers {
  readonly master = 'herald';
  primary!: RedisProcess;
  replica!: RedisProcess;
  readonly sentinels: RedisProcess[] = [];

  private constructor(
    private readonly dir: string,
    readonly password: string | null,
    readonly sentinelPassword: string | null,
  ) {}

  static async start(options: { password?: string; sentinelPassword?: string; downAfterMs?: number; timeoutMs?: number } = {}): Promise<RedisSentinelServers> {
    const deadline = Date.now() + (options.timeoutMs ?? 45_000);
    const set = new RedisSentinelServers(mkdtempSync(join(tmpdir(), 'herald-redis-sentinel-')), options.password ?? null, options.sentinelPassword ?? null);
    return startedOrStopped(set, async () => {
      const [primaryPort, replicaPort] = [await freePort(), await freePort()];
      set.primary = new RedisProcess(primaryPort, baseArgs(primaryPort, set.dir, set.password), set.password);
      await set.primary.start(deadline);
      set.replica = new RedisProcess(
        replicaPort,
        [...baseArgs(replicaPort, set.dir, set.password), '--replicaof', '127.0.0.1', String(primaryPort)],
        set.password,
      );
      await set.replica.start(deadline);
      await until('the replica in sync', deadline, async () =>
        (await set.replica.client((r) => r.info('replication'))).includes('master_link_status:up') ? true : undefined,
      );

      for (let i = 0; i < 3; i++) {
        const port = await freePort();
        const conf = join(set.dir, `sentinel-${port}.conf`);
        // Sentinel rewrites its configuration file as it learns the topology, so each has its own.
        writeFileSync(
          conf,
          [
            `port ${port}`,
            'bind 127.0.0.1',
            `dir ${set.dir}`,
            ...(set.sentinelPassword ? [`requirepass ${set.sentinelPassword}`] : []),
            `sentinel monitor ${set.master} 127.0.0.1 ${primaryPort} 2`,
            ...(set.password ? [`sentinel auth-pass ${set.master} ${set.password}`] : []),
            `sentinel down-after-milliseconds ${set.master} ${options.downAfterMs ?? 1000}`,
            `sentinel failover-timeout ${set.master} 10000`,
            `sentinel parallel-syncs ${set.master} 1`,
            '',
          ].join('\n'),
        );
        const sentinel = new RedisProcess(port, [conf, '--sentinel'], set.sentinelPassword);
        set.sentinels.push(sentinel);
        await sentinel.start(deadline);
      }
      // A failover needs each sentinel to know the replica and the other sentinels (hello messages every 2 s).
      for (const sentinel of set.sentinels) {
        await until(`sentinel ${sentinel.port} knowing the replica and the other sentinels`, deadline, async () => {
          const [replicas, peers] = await sentinel.client(async (r) => [
            (await r.call('SENTINEL', 'REPLICAS', set.master)) as unknown[],
            (await r.call('SENTINEL', 'SENTINELS', set.master)) as unknown[],
          ]);
          return replicas.length === 1 && peers.length === 2 ? true : undefined;
        });
      }
    });
  }

  get sentinelList(): string {
    return hostPorts(this.sentinels);
  }

  /** The variables that point a Herald app at this set (REDIS_URL blanked: Sentinel replaces it). */
  env(): Record<string, string> {
    return {
      REDIS_URL: '',
      HERALD_REDIS_SENTINELS: this.sentinelList,
      HERALD_REDIS_SENTINEL_MASTER: this.master,
      ...(this.password && { HERALD_REDIS_PASSWORD: this.password }),
      ...(this.sentinelPassword && { HERALD_REDIS_SENTINEL_PASSWORD: this.sentinelPassword }),
    };
  }

  /** The primary's port as a sentinel that still runs reports it. */
  async primaryPort(): Promise<number> {
    for (const sentinel of this.sentinels.filter((s) => s.running)) {
      try {
        const [, port] = (await sentinel.client((r) => r.call('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', this.master))) as [string, string];
        return Number(port);
      } catch {
        // try the next sentinel
      }
    }
    throw new Error('no sentinel answers');
  }

  /** The data nodes by their current role, as the sentinels see it. */
  async roles(): Promise<{ primary: RedisProcess; replica: RedisProcess }> {
    const port = await this.primaryPort();
    const primary = [this.primary, this.replica].find((n) => n.port === port);
    if (!primary) throw new Error(`the primary (port ${port}) is none of ours`);
    return { primary, replica: primary === this.primary ? this.replica : this.primary };
  }

  private stalledLink?: TcpProxy;

  /**
   * Makes the replica fall behind: it is moved onto a link this object controls (a partial resync,
   * at once), which then stops forwarding. From now on the primary's writes are not replicated,
   * and they are lost if the primary dies ({@link killPrimary} drops the link). Freezing the
   * replica process would not do: the kernel keeps receiving for it, and it reads it all later.
   * Sentinel would move a replica off a wrong link after its failover-timeout (10 s): kill the
   * primary sooner.
   */
  async stallReplication(): Promise<void> {
    const { primary, replica } = await this.roles();
    const link = await TcpProxy.start('127.0.0.1', primary.port);
    this.stalledLink = link;
    await replica.client((r) => r.call('REPLICAOF', '127.0.0.1', String(link.port)));
    await until('the replica in sync through the link', Date.now() + 10_000, async () => {
      const info = await replica.client((r) => r.info('replication'));
      return info.includes(`master_port:${link.port}`) && info.includes('master_link_status:up') ? true : undefined;
    });
    link.freeze();
  }

  /** `kill -9` of the current primary (and of a stalled replication link with it); resolves with its port and the time of the kill. */
  async killPrimary(): Promise<{ port: number; at: number }> {
    const { primary } = await this.roles();
    await primary.kill();
    const at = Date.now();
    await this.stalledLink?.down();
    this.stalledLink = undefined;
    return { port: primary.port, at };
  }

  /** Waits until the sentinels name a primary other than `oldPort` and it accepts writes; resolves with that time. */
  async waitForPromotion(oldPort: number, timeoutMs = 30_000): Promise<number> {
    return until('a sentinel failover', Date.now() + timeoutMs, async () => {
      const port = await this.primaryPort();
      if (port === oldPort) return undefined;
      const node = [this.primary, this.replica].find((n) => n.port === port);
      const role = await node?.client((r) => r.call('ROLE') as Promise<[string]>);
      return role?.[0] === 'master' ? Date.now() : undefined;
    });
  }

  async stop(): Promise<void> {
    await this.stalledLink?.down();
    await Promise.all([...this.sentinels, this.primary, this.replica].filter(Boolean).map((n) => n.kill()));
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Commands a Redis server ran so far, by command (INFO commandstats: a script's EVALSHA and every command inside it). */
export async function redisCommandCounts(url: string): Promise<Map<string, number>> {
  const r = new IORedis(url);
  try {
    const info = await r.info('commandstats');
    return new Map([...info.matchAll(/cmdstat_([\w|]+):calls=(\d+)/g)].map((m) => [m[1], Number(m[2])]));
  } finally {
    r.disconnect();
  }
}
