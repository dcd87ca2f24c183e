import { randomBytes } from 'node:crypto';
import { Injectable, Logger, Module } from '@nestjs/common';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { Test } from '@nestjs/testing';
import { ConfigModule, loadConfig } from './config';
import { HealthModule } from './health';
import { Watchdog, watchdogStallMs, type LivenessSource, type WorkInProgress } from './watchdog';

/** Work whose progress a test controls. */
@Injectable()
class FakeWork implements LivenessSource {
  readonly name = 'fake work';
  work: WorkInProgress[] = [];
  inProgress(): WorkInProgress[] {
    return this.work;
  }
}

@Module({ providers: [FakeWork], exports: [FakeWork] })
class FakeWorkModule {}

describe('Watchdog', () => {
  let now = 1_000_000;
  const clock = () => now;
  let errors: string[];
  let warnings: string[];

  beforeEach(() => {
    errors = [];
    warnings = [];
    jest.spyOn(Logger.prototype, 'error').mockImplementation((_ctx: unknown, message?: unknown) => void errors.push(String(message)));
    jest.spyOn(Logger.prototype, 'warn').mockImplementation((message: unknown) => void warnings.push(String(message)));
  });
  afterEach(() => jest.restoreAllMocks());

  it('is healthy while work moves, stalled (with what it waits on) once any piece has not moved for longer than the limit', () => {
    const work = new FakeWork();
    const watchdog = new Watchdog([work], 10_000, clock);
    work.work = [{ waitingOn: 'delivery d1: send to hooks.slack.com', since: now }];
    expect(watchdog.check()).toEqual({ healthy: true, stalls: [] });
    now += 10_000;
    expect(watchdog.check().healthy).toBe(true);
    now += 1;
    expect(watchdog.check()).toEqual({ healthy: false, stalls: [{ source: 'fake work', waitingOn: 'delivery d1: send to hooks.slack.com', forMs: 10_001 }] });
    expect(errors).toHaveLength(1);
    expect(errors[0]).toContain('waiting on: delivery d1: send to hooks.slack.com (10 s)');
    expect(errors[0]).toContain('/healthz answers 503');
    // Logged again only once a minute while it stays stalled.
    now += 5000;
    watchdog.check();
    expect(errors).toHaveLength(1);
    now += 60_000;
    watchdog.check();
    expect(errors).toHaveLength(2);
    // The work moves again: healthy, and it says so.
    work.work = [{ waitingOn: 'delivery d1: record', since: now }];
    expect(watchdog.check().healthy).toBe(true);
    expect(warnings).toEqual([expect.stringContaining('progress again')]);
  });

  it('does not count work waiting on a dependency that is down (readiness reports that; a restart would not help)', () => {
    const work = new FakeWork();
    const watchdog = new Watchdog([work], 1000, clock);
    work.work = [{ waitingOn: 'delivery d2: requeue', since: now - 60_000, dependencyDown: true }];
    expect(watchdog.check().healthy).toBe(true);
  });

  it('allows several delivery timeouts, and never less than 30 s', () => {
    expect(watchdogStallMs({ deliveryTimeoutMs: 10_000 })).toBe(50_000);
    expect(watchdogStallMs({ deliveryTimeoutMs: 1000 })).toBe(30_000);
  });
});

describe('/healthz with a watchdog', () => {
  let app: NestFastifyApplication;
  let work: FakeWork;

  beforeAll(async () => {
    const config = loadConfig({
      HERALD_ADMIN_TOKEN: 'x'.repeat(32),
      HERALD_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
      HERALD_DELIVERY_TIMEOUT_MS: '1000',
    });
    const moduleRef = await Test.createTestingModule({
      imports: [ConfigModule.forRoot(config), HealthModule.forRoot({ imports: [FakeWorkModule], probes: [], liveness: [FakeWork] })],
    }).compile();
    app = moduleRef.createNestApplication<NestFastifyApplication>(new FastifyAdapter(), { logger: false });
    await app.init();
    await app.getHttpAdapter().getInstance().ready();
    work = app.get(FakeWork);
  });
  afterAll(() => app.close());

  it('answers 200 while work moves and 503 naming the stuck part (no details) once it has not moved for several delivery timeouts', async () => {
    const get = () => app.getHttpAdapter().getInstance().inject({ method: 'GET', url: '/healthz' });
    work.work = [{ waitingOn: 'outbox relay: lease statement', since: Date.now() - 5000 }];
    let res = await get();
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ status: 'ok' });
    jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    work.work = [{ waitingOn: 'outbox relay: lease statement', since: Date.now() - 31_000 }];
    res = await get();
    expect(res.statusCode).toBe(503);
    expect(res.json()).toEqual({ status: 'stalled', stalled: ['fake work'] });
    jest.restoreAllMocks();
  });
});
