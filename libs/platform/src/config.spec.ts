import { ConfigError, loadConfig } from './config';

const KEY = Buffer.alloc(32, 7).toString('base64');
const base = { HERALD_ADMIN_TOKEN: 'x'.repeat(20), HERALD_ENCRYPTION_KEY: KEY };

function problems(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
}

describe('loadConfig (docs/contract.md §1.3)', () => {
  it('applies the documented defaults', () => {
    const config = loadConfig(base);
    expect(config.databaseUrl).toBe('postgres://postgres@127.0.0.1:5432/herald');
    expect(config.redisUrl).toBe('redis://127.0.0.1:6379');
    expect(config.publicUrl).toBe('http://localhost:8080');
    expect(config.retryScheduleMs).toHaveLength(8);
    expect(config.deliveryTimeoutMs).toBe(10_000);
    expect(config.maxBodyBytes).toBe(1_048_576);
    expect(config.allowPrivateTargets).toBe(false);
    expect([config.gatewayPort, config.ingestionPort, config.workerPort]).toEqual([8080, 8081, 8082]);
    expect(config.basicAuth).toBeNull();
  });

  it('keeps the variables it was read from for the features that read their own, out of its enumerable fields', () => {
    const config = loadConfig({ ...base, HERALD_SLACK_API_URL: 'https://slack.example.com/api' });
    expect(config.env.HERALD_SLACK_API_URL).toBe('https://slack.example.com/api');
    // A logged or serialised config shows no variable (they hold secrets).
    expect(Object.keys(config)).not.toContain('env');
    expect(JSON.stringify(config)).not.toContain(KEY);
  });

  it('names a missing required variable', () => {
    expect(problems({ HERALD_ENCRYPTION_KEY: KEY }).join('\n')).toMatch(/HERALD_ADMIN_TOKEN is required/);
    expect(problems({ HERALD_ADMIN_TOKEN: 'x'.repeat(20) }).join('\n')).toMatch(/HERALD_ENCRYPTION_KEY is required/);
  });

  it('treats an empty required variable as missing (docker/compose.yml passes ${VAR:-})', () => {
    const text = problems({ HERALD_ADMIN_TOKEN: '', HERALD_ENCRYPTION_KEY: '  ' }).join('\n');
    expect(text).toMatch(/HERALD_ADMIN_TOKEN is required/);
    expect(text).toMatch(/HERALD_ENCRYPTION_KEY is required/);
  });

  it('names every malformed variable at once, without echoing secrets', () => {
    const found = problems({
      ...base,
      HERALD_ENCRYPTION_KEY: 'c2hvcnQ=',
      HERALD_RETRY_SCHEDULE: '5,6',
      HERALD_DELIVERY_TIMEOUT_MS: 'soon',
      DATABASE_URL: 'mysql://root:hunter2@db/x',
      HERALD_ALLOW_PRIVATE_TARGETS: 'maybe',
      HERALD_BASIC_AUTH: 'nocolon',
    });
    const text = found.join('\n');
    for (const name of [
      'HERALD_ENCRYPTION_KEY',
      'HERALD_RETRY_SCHEDULE',
      'HERALD_DELIVERY_TIMEOUT_MS',
      'DATABASE_URL',
      'HERALD_ALLOW_PRIVATE_TARGETS',
      'HERALD_BASIC_AUTH',
    ]) {
      expect(text).toContain(name);
    }
    expect(text).not.toContain('hunter2');
    expect(text).not.toContain('c2hvcnQ=');
  });

  it('lets an app skip variables it does not need', () => {
    expect(() => loadConfig({ HERALD_ENCRYPTION_KEY: KEY }, { require: ['HERALD_ENCRYPTION_KEY'] })).not.toThrow();
  });

  it('parses Basic auth and the extra allowed hosts', () => {
    const config = loadConfig({ ...base, HERALD_BASIC_AUTH: 'ci:pa:ss-long-enough', HERALD_EXTRA_ALLOWED_HOSTS: 'Example.com, .internal ' });
    expect(config.basicAuth).toEqual({ user: 'ci', password: 'pa:ss-long-enough' });
    expect(config.extraAllowedHosts).toEqual(['example.com', '.internal']);
  });

  it('refuses a HERALD_BASIC_AUTH password shorter than 12 characters, without echoing it (issue 10, item 12)', () => {
    const short = problems({ ...base, HERALD_BASIC_AUTH: 'lake:hunter2abc' }).join('\n');
    expect(short).toMatch(/HERALD_BASIC_AUTH=.* is invalid: the password must be at least 12 characters/);
    expect(short).not.toContain('hunter2');
    expect(() => loadConfig({ ...base, HERALD_BASIC_AUTH: 'lake:123456789012' })).not.toThrow();
  });

  it('reads the trusted proxies: names, addresses and CIDR ranges', () => {
    expect(loadConfig(base).trustedProxies).toEqual(['loopback', 'linklocal', 'uniquelocal']);
    expect(loadConfig({ ...base, HERALD_TRUSTED_PROXIES: '10.1.2.3, 192.168.0.0/16,fd00::/8' }).trustedProxies).toEqual([
      '10.1.2.3',
      '192.168.0.0/16',
      'fd00::/8',
    ]);
    expect(problems({ ...base, HERALD_TRUSTED_PROXIES: '10.0.0.0/33,proxy.example.com' }).join('\n')).toMatch(/HERALD_TRUSTED_PROXIES.*10\.0\.0\.0\/33/);
  });

  it('migrates at start unless HERALD_MIGRATE_ON_START is false (docs/contract.md §1.3)', () => {
    expect(loadConfig(base).migrateOnStart).toBe(true);
    expect(loadConfig({ ...base, HERALD_MIGRATE_ON_START: 'false' }).migrateOnStart).toBe(false);
    expect(problems({ ...base, HERALD_MIGRATE_ON_START: 'later' }).join('\n')).toMatch(/HERALD_MIGRATE_ON_START="later" is invalid: expected true or false/);
  });
  it('reads the retention settings: 30 days for events, forever for DevLake by default (issue 13, item 6)', () => {
    const config = loadConfig(base);
    expect(config.retentionDays).toBe(30);
    expect(config.devLakeRetentionDays).toBeNull();
    expect([config.retentionEveryMs, config.retentionBatch, config.retentionPauseMs]).toEqual([300_000, 500, 200]);
    const set = loadConfig({ ...base, HERALD_RETENTION_DAYS: 'forever', HERALD_DEVLAKE_RETENTION_DAYS: '400', HERALD_RETENTION_EVERY_MS: '0' });
    expect([set.retentionDays, set.devLakeRetentionDays, set.retentionEveryMs]).toEqual([null, 400, 0]);
  });

  it('refuses retention settings that make no sense, saying why', () => {
    const text = problems({
      ...base,
      HERALD_RETENTION_DAYS: '0',
      HERALD_DEVLAKE_RETENTION_DAYS: '1.5',
      HERALD_RETENTION_EVERY_MS: '10',
      HERALD_RETENTION_BATCH: '5',
    }).join('\n');
    expect(text).toMatch(/HERALD_RETENTION_DAYS="0" is invalid: expected a whole number of days between 1 and 36500, or forever/);
    expect(text).toMatch(/HERALD_DEVLAKE_RETENTION_DAYS="1.5" is invalid/);
    expect(text).toMatch(/HERALD_RETENTION_EVERY_MS="10" is invalid: .*or 0 \(workers never purge\)/);
    expect(text).toMatch(/HERALD_RETENTION_BATCH="5" is invalid/);
    // Auto-disable needs the finished deliveries of HERALD_AUTO_DISABLE_DAYS: retention must keep them longer.
    expect(problems({ ...base, HERALD_RETENTION_DAYS: '5' }).join('\n')).toMatch(
      /HERALD_RETENTION_DAYS=5 is invalid: it must be longer than HERALD_AUTO_DISABLE_DAYS \(5\)/,
    );
    expect(problems({ ...base, HERALD_RETENTION_DAYS: '5', HERALD_AUTO_DISABLE_DAYS: '4.5' })).toEqual([]);
  });
});

describe('Postgres behind a pooler and its timeouts (issue 13 item 3; docs/contract.md §1.3)', () => {
  it('defaults to session mode, listening on DATABASE_URL', () => {
    const config = loadConfig({ ...base, DATABASE_URL: 'postgres://h@db:5432/herald' });
    expect([config.databasePoolMode, config.databaseListenUrl]).toEqual(['session', 'postgres://h@db:5432/herald']);
  });

  it('has no LISTEN URL in transaction mode unless HERALD_DATABASE_LISTEN_URL gives one', () => {
    const pooled = { ...base, DATABASE_URL: 'postgres://h@pgbouncer:6432/herald', HERALD_DATABASE_POOL_MODE: 'transaction' };
    expect(loadConfig(pooled).databaseListenUrl).toBeNull();
    expect(loadConfig({ ...pooled, HERALD_DATABASE_LISTEN_URL: 'postgres://h@db:5432/herald' }).databaseListenUrl).toBe('postgres://h@db:5432/herald');
  });

  it('refuses an unknown pool mode and a LISTEN URL that is not a postgres URL, naming them', () => {
    const text = problems({ ...base, HERALD_DATABASE_POOL_MODE: 'statement', HERALD_DATABASE_LISTEN_URL: 'redis://x:1' }).join('\n');
    expect(text).toMatch(/HERALD_DATABASE_POOL_MODE="statement" is invalid: expected session .* or transaction/);
    expect(text).toMatch(/HERALD_DATABASE_LISTEN_URL="redis:\/\/x:1" is invalid: expected a postgres or postgresql URL/);
  });

  it('gives each app its own timeouts, none to tools, and lets a variable override them', () => {
    const timeouts = (app?: 'api-gateway' | 'ingestion' | 'delivery-worker', env: Record<string, string> = {}) => {
      const c = loadConfig({ ...base, ...env }, { app });
      return [c.statementTimeoutMs, c.idleInTransactionTimeoutMs];
    };
    expect(timeouts('api-gateway')).toEqual([30_000, 30_000]);
    expect(timeouts('ingestion')).toEqual([10_000, 30_000]);
    expect(timeouts('delivery-worker')).toEqual([15_000, 30_000]);
    expect(timeouts()).toEqual([0, 0]);
    expect(timeouts('ingestion', { HERALD_DATABASE_STATEMENT_TIMEOUT_MS: '2500', HERALD_DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_MS: '0' })).toEqual([2500, 0]);
    expect(problems({ ...base, HERALD_DATABASE_STATEMENT_TIMEOUT_MS: '10s' }).join('\n')).toMatch(
      /HERALD_DATABASE_STATEMENT_TIMEOUT_MS="10s" is invalid: expected a whole number between 0 and 86400000/,
    );
  });

  it('takes one ingestion URL or several (the gateway spreads over them), and names a bad one', () => {
    expect(loadConfig({ ...base, INGESTION_PORT: '9001' }).ingestionUrls).toEqual(['http://127.0.0.1:9001']);
    const two = loadConfig({ ...base, HERALD_INGESTION_URL: 'http://10.0.0.1:8081/, http://10.0.0.2:8081' });
    expect(two.ingestionUrls).toEqual(['http://10.0.0.1:8081', 'http://10.0.0.2:8081']);
    expect(two.ingestionUrl).toBe('http://10.0.0.1:8081');
    expect(problems({ ...base, HERALD_INGESTION_URL: 'http://a:1,ftp://b:2' }).join('\n')).toMatch(
      /HERALD_INGESTION_URL=.* is invalid: URL 2 of 2: expected a http or https URL/,
    );
    expect(problems({ ...base, HERALD_INGESTION_URL: 'http://a:1,http://a:1/' }).join('\n')).toMatch(/is invalid: a URL is listed twice/);
    expect(problems({ ...base, HERALD_INGESTION_URL: ' , ' }).join('\n')).toMatch(/HERALD_INGESTION_URL=.* is invalid: expected at least one URL/);
  });
});
