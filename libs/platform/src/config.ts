import { Global, Module, type DynamicModule } from '@nestjs/common';
import { isIP } from 'node:net';
import { parseRetrySchedule } from '@herald/domain';
import { readTracingConfig, type TracingConfig } from './tracing-config';
import { DEFAULT_QUEUE_PREFIX, queuePrefixProblem, readRedisSettings, type RedisSettings } from './redis-config';

/**
 * Herald's configuration (docs/contract.md §1.3), read from environment variables and validated at boot.
 * A bad or missing variable stops the app with a message naming it and saying what is expected.
 */
export class HeraldConfig {
  readonly databaseUrl: string;
  readonly dbPoolSize: number;
  /**
   * `transaction` when DATABASE_URL is a pooler in transaction pooling (PgBouncer): statements run
   * unnamed and nothing relies on session state of a pooled connection.
   */
  readonly databasePoolMode: DatabasePoolMode;
  /**
   * A connection that keeps its session, for LISTEN (cache invalidation, the relay's wake-up):
   * HERALD_DATABASE_LISTEN_URL, else DATABASE_URL in session mode. Null behind a pooler without
   * one: nothing listens, the relay sweeps and caches keep entries only briefly.
   */
  readonly databaseListenUrl: string | null;
  /** statement_timeout of this app's Postgres sessions (0: none). */
  readonly statementTimeoutMs: number;
  /** idle_in_transaction_session_timeout of this app's Postgres sessions (0: none). */
  readonly idleInTransactionTimeoutMs: number;
  /** False when migrations run elsewhere (the Kubernetes Job): the app then waits, not ready, for them. */
  readonly migrateOnStart: boolean;
  readonly redisUrl: string;
  /** Which Redis (one server, a cluster, or a Sentinel-watched primary) and its credentials. */
  readonly redis: RedisSettings;
  readonly queuePrefix: string;
  readonly adminToken: string;
  readonly basicAuth: { user: string; password: string } | null;
  /** Proxies (addresses, CIDR ranges, or loopback/linklocal/uniquelocal) whose X-Forwarded-For names the client. */
  readonly trustedProxies: string[];
  /** HERALD_ENCRYPTION_KEY: one or more keys, newest first (new values use the first). */
  readonly encryptionKeys: Buffer[];
  readonly publicUrl: string;
  readonly retryScheduleMs: number[];
  readonly deliveryTimeoutMs: number;
  readonly maxBodyBytes: number;
  readonly extraAllowedHosts: string[];
  readonly allowPrivateTargets: boolean;
  readonly autoDisableFailures: number;
  readonly autoDisableDays: number;
  readonly host: string;
  readonly gatewayPort: number;
  readonly ingestionPort: number;
  readonly workerPort: number;
  /**
   * Where the gateway forwards intake: one URL (a load balancer or a Kubernetes Service), or
   * several ingestion processes, which the gateway takes in turn, going on to the next when one
   * refuses the connection (apps/api-gateway/src/upstreams.ts).
   */
  readonly ingestionUrls: string[];
  /** The first of `ingestionUrls`. */
  readonly ingestionUrl: string;
  readonly workerConcurrency: number;
  readonly lockDurationMs: number;
  readonly stalledIntervalMs: number;
  readonly outboxSweepMs: number;
  /** How often the reconciler looks for work Redis lost, and how old such work must be. */
  readonly reconcileEveryMs: number;
  readonly reconcileAfterMs: number;
  /**
   * Retention (docs/operations.md#retention): days after which finished events, deliveries and
   * attempts are removed, and DevLake deployments, issues and pull requests; null keeps them forever.
   */
  readonly retentionDays: number | null;
  readonly devLakeRetentionDays: number | null;
  /** How often a worker starts a purge (0: workers never do; `npm run purge` or a CronJob does). */
  readonly retentionEveryMs: number;
  /** Events examined per purge batch (one statement and commit), and the pause between batches. */
  readonly retentionBatch: number;
  readonly retentionPauseMs: number;
  readonly logLevel: string;
  /** OpenTelemetry traces (the standard OTEL_* variables); null, the default, is off. */
  readonly tracing: TracingConfig | null;
  /**
   * The variables this configuration was read from. Features read their own through it (the chat
   * apps' API bases in libs/channels), so a test that passes its own variables to loadConfig
   * configures them too. Not enumerable: the object may be logged, the variables hold secrets.
   */
  declare readonly env: Readonly<Env>;

  constructor(values: Omit<HeraldConfig, 'env'>, env: Readonly<Env> = {}) {
    Object.assign(this, values);
    Object.defineProperty(this, 'env', { value: env, enumerable: false });
  }
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;

export type DatabasePoolMode = 'session' | 'transaction';
export type HeraldAppName = 'api-gateway' | 'ingestion' | 'delivery-worker';

/**
 * Each app's Postgres timeouts unless configured. statement_timeout: the longest statement the app
 * should ever need, with room for a loaded server — the gateway's reports (DORA, lists, recover)
 * get 30 s; intake's inserts 10 s (a producer waiting longer has given up); the worker 15 s, under
 * the watchdog's 30 s (its outbox relay sets its own, lower, per transaction). Herald's
 * transactions never wait on anything but Postgres, so 30 s idle inside one means a dead or wedged
 * client holding locks (and, behind a pooler, a server connection).
 */
export const DATABASE_TIMEOUT_DEFAULTS: Record<HeraldAppName, { statementMs: number; idleInTransactionMs: number }> = {
  'api-gateway': { statementMs: 30_000, idleInTransactionMs: 30_000 },
  ingestion: { statementMs: 10_000, idleInTransactionMs: 30_000 },
  'delivery-worker': { statementMs: 15_000, idleInTransactionMs: 30_000 },
};

/** The shortest HERALD_BASIC_AUTH password accepted (docs/contract.md §1.3). */
export const MIN_BASIC_PASSWORD = 12;
type Requirement = 'HERALD_ADMIN_TOKEN' | 'HERALD_ENCRYPTION_KEY';

export interface LoadConfigOptions {
  /** Variables without a usable default that this app needs. */
  require?: Requirement[];
  /** The app being configured, for its own defaults ({@link DATABASE_TIMEOUT_DEFAULTS}); tools have no timeouts by default. */
  app?: HeraldAppName;
}

export function loadConfig(env: Env = process.env, options: LoadConfigOptions = {}): HeraldConfig {
  const problems: string[] = [];
  const required = new Set(options.require ?? ['HERALD_ADMIN_TOKEN', 'HERALD_ENCRYPTION_KEY']);

  const read = <T>(name: string, fallback: string | undefined, parse: (raw: string) => T, expected: string): T => {
    const raw = env[name]?.trim();
    const value = raw === undefined || raw === '' ? fallback : raw;
    if (value === undefined) {
      problems.push(`${name} is required: ${expected}`);
      return undefined as T;
    }
    try {
      return parse(value);
    } catch (err) {
      problems.push(`${name}=${JSON.stringify(redact(name, value))} is invalid: ${(err as Error).message || expected}`);
      return undefined as T;
    }
  };

  const int = (min: number, max: number) => (raw: string) => {
    if (!/^\d+$/.test(raw)) throw new Error(`expected a whole number between ${min} and ${max}`);
    const n = Number(raw);
    if (n < min || n > max) throw new Error(`expected a whole number between ${min} and ${max}`);
    return n;
  };
  const url = (schemes: string[]) => (raw: string) => {
    let parsed: URL;
    try {
      parsed = new URL(raw);
    } catch {
      throw new Error(`expected a URL such as ${schemes[0]}://host:port`);
    }
    if (!schemes.includes(parsed.protocol.replace(/:$/, ''))) throw new Error(`expected a ${schemes.join(' or ')} URL`);
    return raw.replace(/\/+$/, '');
  };
  const days = (raw: string) => {
    if (/^forever$/i.test(raw)) return null;
    if (!/^\d+$/.test(raw) || Number(raw) < 1 || Number(raw) > 36_500) throw new Error('expected a whole number of days between 1 and 36500, or forever');
    return Number(raw);
  };
  const bool = (raw: string) => {
    if (/^(true|1|yes)$/i.test(raw)) return true;
    if (/^(false|0|no)$/i.test(raw)) return false;
    throw new Error('expected true or false');
  };

  const ingestionPort = read('INGESTION_PORT', '8081', int(1, 65535), 'a TCP port');
  const ingestionUrls = read(
    'HERALD_INGESTION_URL',
    `http://127.0.0.1:${ingestionPort ?? 8081}`,
    (raw) => {
      const list = raw
        .split(',')
        .map((u) => u.trim())
        .filter((u) => u !== '');
      const urls = list.map((u, i) => {
        try {
          return url(['http', 'https'])(u);
        } catch (err) {
          throw new Error(`${list.length > 1 ? `URL ${i + 1} of ${list.length}: ` : ''}${(err as Error).message}`);
        }
      });
      if (urls.length === 0) throw new Error('expected at least one URL');
      if (new Set(urls).size !== urls.length) throw new Error('a URL is listed twice');
      return urls;
    },
    'an http(s) URL, or several separated by commas',
  );
  const databaseUrl = read('DATABASE_URL', 'postgres://postgres@127.0.0.1:5432/herald', url(['postgres', 'postgresql']), 'a postgres:// URL');
  const databasePoolMode = read<DatabasePoolMode>(
    'HERALD_DATABASE_POOL_MODE',
    'session',
    (raw) => {
      if (raw !== 'session' && raw !== 'transaction')
        throw new Error('expected session (a direct connection or a session pooler) or transaction (PgBouncer in transaction pooling)');
      return raw;
    },
    'session or transaction',
  );
  const timeouts = options.app ? DATABASE_TIMEOUT_DEFAULTS[options.app] : { statementMs: 0, idleInTransactionMs: 0 };
  const redisUrl = read('REDIS_URL', 'redis://127.0.0.1:6379', url(['redis', 'rediss']), 'a redis:// URL');
  const redis = readRedisSettings(env, redisUrl, problems);
  const config = new HeraldConfig(
    {
      databaseUrl,
      // At least 2, so a transaction in progress (the relay's, a management change) never holds every connection.
      dbPoolSize: read('HERALD_DB_POOL_SIZE', '20', int(2, 500), 'a pool size'),
      databasePoolMode,
      databaseListenUrl: read(
        'HERALD_DATABASE_LISTEN_URL',
        '',
        (raw) => {
          if (raw === '') return databasePoolMode === 'session' ? databaseUrl : null;
          return url(['postgres', 'postgresql'])(raw);
        },
        'a postgres:// URL that reaches Postgres directly (not through a transaction pooler)',
      ),
      statementTimeoutMs: read('HERALD_DATABASE_STATEMENT_TIMEOUT_MS', String(timeouts.statementMs), int(0, 86_400_000), 'milliseconds, 0 for none'),
      idleInTransactionTimeoutMs: read(
        'HERALD_DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_MS',
        String(timeouts.idleInTransactionMs),
        int(0, 86_400_000),
        'milliseconds, 0 for none',
      ),
      migrateOnStart: read('HERALD_MIGRATE_ON_START', 'true', bool, 'true or false'),
      redisUrl,
      redis,
      queuePrefix: read(
        'HERALD_QUEUE_PREFIX',
        DEFAULT_QUEUE_PREFIX[redis.mode],
        (raw) => {
          // Braces only as one hash tag (`{herald}`), which Redis Cluster hashes keys by.
          if (raw.length > 64 || !/^[A-Za-z0-9_.:-]*(\{[A-Za-z0-9_.:-]+\})?[A-Za-z0-9_.:-]*$/.test(raw) || raw === '') {
            throw new Error('expected letters, digits, "_", ".", ":" or "-", and at most one hash tag such as {herald}');
          }
          const problem = queuePrefixProblem(raw, redis.mode);
          if (problem) throw new Error(problem);
          return raw;
        },
        'a queue key prefix',
      ),
      adminToken: read(
        'HERALD_ADMIN_TOKEN',
        required.has('HERALD_ADMIN_TOKEN') ? undefined : '',
        (raw) => {
          if (raw !== '' && raw.length < 16) throw new Error('expected at least 16 characters');
          return raw;
        },
        'a bearer token of at least 16 characters (npm start generates one for development)',
      ),
      basicAuth: read(
        'HERALD_BASIC_AUTH',
        '',
        (raw) => {
          if (raw === '') return null;
          const i = raw.indexOf(':');
          if (i <= 0 || i === raw.length - 1) throw new Error('expected user:password');
          // It guards intake for every project and is sent on every request: a short one is guessable.
          if (raw.length - i - 1 < MIN_BASIC_PASSWORD)
            throw new Error(`the password must be at least ${MIN_BASIC_PASSWORD} characters (openssl rand -base64 18)`);
          return { user: raw.slice(0, i), password: raw.slice(i + 1) };
        },
        'user:password',
      ),
      trustedProxies: read(
        'HERALD_TRUSTED_PROXIES',
        'loopback,linklocal,uniquelocal',
        (raw) => {
          const list = raw
            .split(',')
            .map((p) => p.trim())
            .filter((p) => p !== '');
          for (const entry of list) {
            const [address, bits, extra] = entry.split('/');
            const named = ['loopback', 'linklocal', 'uniquelocal'].includes(entry);
            const family = isIP(address);
            if (!named && (family === 0 || extra !== undefined || (bits !== undefined && !(/^\d+$/.test(bits) && Number(bits) <= (family === 4 ? 32 : 128))))) {
              throw new Error(`"${entry}" is not an address, a CIDR range, loopback, linklocal or uniquelocal`);
            }
          }
          return list;
        },
        'addresses or CIDR ranges of proxies whose X-Forwarded-For is believed',
      ),
      encryptionKeys: read(
        'HERALD_ENCRYPTION_KEY',
        required.has('HERALD_ENCRYPTION_KEY') ? undefined : '',
        (raw) => {
          if (raw === '') return [];
          const listed = raw.split(',').map((k) => k.trim());
          const keys = listed.map((k, i) => {
            const key = Buffer.from(k, 'base64');
            if (key.length !== 32 || !/^[A-Za-z0-9+/]+=*$/.test(k)) {
              throw new Error(`${listed.length > 1 ? `key ${i + 1} of ${listed.length}: ` : ''}expected 32 bytes encoded as base64 (openssl rand -base64 32)`);
            }
            return key;
          });
          if (new Set(keys.map((k) => k.toString('hex'))).size !== keys.length) throw new Error('a key is listed twice');
          return keys;
        },
        '32 bytes encoded as base64 (openssl rand -base64 32), or several such keys separated by commas, newest first',
      ),
      publicUrl: read('HERALD_PUBLIC_URL', 'http://localhost:8080', url(['http', 'https']), 'an http(s) URL'),
      retryScheduleMs: read('HERALD_RETRY_SCHEDULE', '0s,5s,5m,30m,2h,5h,10h,10h', parseRetrySchedule, 'a list such as 0s,5s,5m'),
      deliveryTimeoutMs: read('HERALD_DELIVERY_TIMEOUT_MS', '10000', int(100, 120_000), 'milliseconds'),
      maxBodyBytes: read('HERALD_MAX_BODY_BYTES', '1048576', int(1024, 64 * 1024 * 1024), 'bytes'),
      extraAllowedHosts: read(
        'HERALD_EXTRA_ALLOWED_HOSTS',
        '',
        (raw) =>
          raw
            .split(',')
            .map((h) => h.trim().toLowerCase())
            .filter((h) => h !== ''),
        'a comma-separated host list',
      ),
      allowPrivateTargets: read('HERALD_ALLOW_PRIVATE_TARGETS', 'false', bool, 'true or false'),
      autoDisableFailures: read('HERALD_AUTO_DISABLE_FAILURES', '20', int(1, 10_000), 'a count'),
      autoDisableDays: read(
        'HERALD_AUTO_DISABLE_DAYS',
        '5',
        (raw) => {
          const n = Number(raw);
          if (!Number.isFinite(n) || n < 0) throw new Error('expected a number of days');
          return n;
        },
        'days',
      ),
      host: read('HOST', '0.0.0.0', (raw) => raw, 'an interface address'),
      gatewayPort: read('GATEWAY_PORT', '8080', int(1, 65535), 'a TCP port'),
      ingestionPort,
      workerPort: read('WORKER_PORT', '8082', int(1, 65535), 'a TCP port'),
      ingestionUrls,
      ingestionUrl: ingestionUrls?.[0],
      workerConcurrency: read('HERALD_WORKER_CONCURRENCY', '200', int(1, 10_000), 'a number of parallel jobs'),
      lockDurationMs: read('HERALD_JOB_LOCK_MS', '30000', int(1000, 600_000), 'milliseconds'),
      stalledIntervalMs: read('HERALD_STALLED_INTERVAL_MS', '15000', int(500, 600_000), 'milliseconds'),
      outboxSweepMs: read('HERALD_OUTBOX_SWEEP_MS', '1000', int(50, 600_000), 'milliseconds'),
      reconcileEveryMs: read('HERALD_RECONCILE_EVERY_MS', '60000', int(100, 3_600_000), 'milliseconds'),
      reconcileAfterMs: read('HERALD_RECONCILE_AFTER_MS', '300000', int(100, 86_400_000), 'milliseconds'),
      retentionDays: read('HERALD_RETENTION_DAYS', '30', days, 'days, or forever'),
      // DORA reads these over any window a user asks for: kept unless the operator says otherwise.
      devLakeRetentionDays: read('HERALD_DEVLAKE_RETENTION_DAYS', 'forever', days, 'days, or forever'),
      retentionEveryMs: read(
        'HERALD_RETENTION_EVERY_MS',
        '300000',
        (raw) => {
          if (raw === '0') return 0;
          try {
            return int(1000, 86_400_000)(raw);
          } catch {
            throw new Error('expected milliseconds between 1000 and 86400000, or 0 (workers never purge)');
          }
        },
        'milliseconds',
      ),
      retentionBatch: read('HERALD_RETENTION_BATCH', '500', int(10, 10_000), 'events per batch'),
      retentionPauseMs: read('HERALD_RETENTION_PAUSE_MS', '200', int(0, 10_000), 'milliseconds'),
      logLevel: read(
        'HERALD_LOG_LEVEL',
        'info',
        (raw) => {
          if (!['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'].includes(raw))
            throw new Error('expected trace, debug, info, warn, error, fatal or silent');
          return raw;
        },
        'a log level',
      ),
      tracing: readTracingConfig(read, bool),
    },
    env,
  );
  // Auto-disable reads the finished deliveries of the last HERALD_AUTO_DISABLE_DAYS (docs/contract.md §6.7): a
  // shorter retention would remove the oldest of a failure streak before it could count.
  if (config.retentionDays != null && config.autoDisableDays != null && config.retentionDays <= config.autoDisableDays) {
    problems.push(
      `HERALD_RETENTION_DAYS=${config.retentionDays} is invalid: it must be longer than HERALD_AUTO_DISABLE_DAYS (${config.autoDisableDays}), ` +
        'or the deliveries auto-disable counts would be removed before a failure streak could span that long',
    );
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}

function redact(name: string, value: string): string {
  if (/TOKEN|KEY|AUTH|SECRET|PASSWORD|HEADERS/.test(name)) return '***';
  return value.replace(/\/\/[^/@]*@/, '//***@');
}

/** The running app's name (`api-gateway`, `ingestion`, `delivery-worker`), e.g. for Postgres' application_name. */
export const APP_NAME = Symbol('APP_NAME');

/** Provides the validated config (and the app's name) to every module; one of the two global modules (with logging). */
@Global()
@Module({})
export class ConfigModule {
  static forRoot(config: HeraldConfig, appName = 'herald'): DynamicModule {
    return {
      module: ConfigModule,
      providers: [
        { provide: HeraldConfig, useValue: config },
        { provide: APP_NAME, useValue: appName },
      ],
      exports: [HeraldConfig, APP_NAME],
    };
  }
}
