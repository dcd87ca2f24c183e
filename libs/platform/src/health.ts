import { Controller, Get, Inject, Logger, Module, ServiceUnavailableException, type DynamicModule, type ModuleMetadata, type Provider, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { HealthCheckService, HealthIndicatorService, TerminusModule, type HealthCheckResult } from '@nestjs/terminus';
import { Public } from './auth';
import { Metrics, MetricsModule } from './metrics';

/** Something `/readyz` must reach (Postgres, Redis). `check` rejects when it cannot. */
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
    private readonly metrics: Metrics,
  ) {}

  /** Liveness: the process answers. It does not look at dependencies, so an outage never restarts pods. */
  @Public()
  @Get('healthz')
  live(): { status: 'ok' } {
    return { status: 'ok' };
  }

  /** Readiness: Postgres and Redis answer; 503 with the failing dependency otherwise. */
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
  /** `probes` lists the classes to check; `imports` are the modules that provide them. */
  static forRoot(options: { imports: ModuleMetadata['imports']; probes: Array<new (...args: never[]) => ReadinessProbe> }): DynamicModule {
    const probesProvider: Provider = {
      provide: READINESS_PROBES,
      useFactory: (...probes: ReadinessProbe[]) => probes,
      inject: options.probes,
    };
    return {
      module: HealthModule,
      imports: [TerminusModule.forRoot({ logger: false }), MetricsModule, ...(options.imports ?? [])],
      controllers: [HealthController],
      providers: [probesProvider],
    };
  }
}
