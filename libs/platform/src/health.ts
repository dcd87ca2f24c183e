import {
  Controller,
  Get,
  Inject,
  Logger,
  Module,
  ServiceUnavailableException,
  type DynamicModule,
  type ModuleMetadata,
  type Provider,
  Res,
} from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { HealthCheckService, HealthIndicatorService, TerminusModule, type HealthCheckResult } from '@nestjs/terminus';
import { Public } from './auth';
import { HttpMetrics, MetricsModule } from './metrics';
import { HeraldConfig } from './config';
import { LIVENESS_SOURCES, Watchdog, watchdogStallMs, type LivenessSource } from './watchdog';

/** Something `/readyz` must reach (Postgres; Redis for the apps that use it). `check` rejects when it cannot. */
export interface ReadinessProbe {
  readonly name: string;
  check(): Promise<void>;
}
export const READINESS_PROBES = Symbol('READINESS_PROBES');

/**
 * A probe failure whose message may be shown to anyone who asks `/readyz` (it names no address and
 * carries no driver error text), such as the migrations a schema lacks. Other failures show only
 * the dependency's name; their text goes to the log.
 */
export class PublicProbeFailure extends Error {}

const PROBE_TIMEOUT_MS = 2000;

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

interface StatusReply {
  status(code: number): unknown;
}

@ApiExcludeController()
@Controller()
export class HealthController {
  private readonly logger = new Logger('Readiness');

  constructor(
    private readonly health: HealthCheckService,
    private readonly indicators: HealthIndicatorService,
    @Inject(READINESS_PROBES) private readonly probes: ReadinessProbe[],
    private readonly metrics: HttpMetrics,
    private readonly watchdog: Watchdog,
  ) {}

  /**
   * Liveness: the process answers and its work moves (the watchdog). It does not look at
   * dependencies, so an outage never restarts pods; work stuck with its dependencies up does
   * (503, naming what is stuck; the details are in the log).
   */
  @Public()
  @Get('healthz')
  live(@Res({ passthrough: true }) reply: StatusReply): { status: 'ok' } | { status: 'stalled'; stalled: string[] } {
    const verdict = this.watchdog.check();
    if (verdict.healthy) return { status: 'ok' };
    reply.status(503);
    return { status: 'stalled', stalled: [...new Set(verdict.stalls.map((s) => s.source))] };
  }

  /** Readiness: every probe of this app answers (ingestion: Postgres; gateway and worker: Postgres and Redis); 503 naming the failing dependency otherwise. */
  @Public()
  @Get('readyz')
  async ready(@Res({ passthrough: true }) reply: StatusReply): Promise<HealthCheckResult> {
    try {
      return await this.health.check(
        this.probes.map((probe) => async () => {
          const session = this.indicators.check(probe.name);
          try {
            await withTimeout(probe.check(), PROBE_TIMEOUT_MS, probe.name);
            this.metrics.dependencyUp.set({ dependency: probe.name }, 1);
            return session.up();
          } catch (err) {
            // The answer is public: it names the dependency, the log says why (addresses, errors).
            // A failure meant for operators (the missing migrations) is shown as it is.
            this.logger.warn(`not ready: ${probe.name}: ${(err as Error).message}`);
            // Kept as a metric too: the kubelet sees readiness, Prometheus (and the not-ready alert) this.
            this.metrics.dependencyUp.set({ dependency: probe.name }, 0);
            return session.down(err instanceof PublicProbeFailure ? { message: err.message } : undefined);
          }
        }),
      );
    } catch (err) {
      if (err instanceof ServiceUnavailableException) {
        reply.status(503);
        return err.getResponse() as HealthCheckResult;
      }
      throw err;
    }
  }
}

@Module({})
export class HealthModule {
  /**
   * `probes` lists the classes `/readyz` checks; `liveness`, the work the watchdog follows for
   * `/healthz` (none: `/healthz` only says the process answers); `imports` are the modules that
   * provide them.
   */
  static forRoot(options: {
    imports: ModuleMetadata['imports'];
    probes: Array<new (...args: never[]) => ReadinessProbe>;
    liveness?: Array<new (...args: never[]) => LivenessSource>;
  }): DynamicModule {
    const probesProvider: Provider = {
      provide: READINESS_PROBES,
      useFactory: (...probes: ReadinessProbe[]) => probes,
      inject: options.probes,
    };
    const livenessProvider: Provider = {
      provide: LIVENESS_SOURCES,
      useFactory: (...sources: LivenessSource[]) => sources,
      inject: options.liveness ?? [],
    };
    const watchdogProvider: Provider = {
      provide: Watchdog,
      useFactory: (config: HeraldConfig, sources: LivenessSource[]) => new Watchdog(sources, watchdogStallMs(config)),
      inject: [HeraldConfig, LIVENESS_SOURCES],
    };
    return {
      module: HealthModule,
      imports: [TerminusModule.forRoot({ logger: false }), MetricsModule, ...(options.imports ?? [])],
      controllers: [HealthController],
      providers: [probesProvider, livenessProvider, watchdogProvider],
    };
  }
}
