import { Controller, Get, Header, Injectable, Module } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import {
  Counter,
  Gauge,
  Histogram,
  Registry,
  collectDefaultMetrics,
  type CounterConfiguration,
  type GaugeConfiguration,
  type HistogramConfiguration,
  type Metric,
} from 'prom-client';
import { Public } from './auth';

/**
 * The app's Prometheus registry, served at `/metrics`: the process metrics, plus those each feature
 * registers through it (intake in libs/intake, delivery and retention in libs/delivery, queues and
 * the outbox in libs/queue). Registering a name twice returns the metric already there, so two
 * modules may provide the same feature's metrics class.
 */
@Injectable()
export class MetricsRegistry {
  readonly registry = new Registry();

  constructor() {
    collectDefaultMetrics({ register: this.registry });
  }

  counter<L extends string>(config: Omit<CounterConfiguration<L>, 'registers'>): Counter<L> {
    return this.existing<Counter<L>>(config.name, Counter) ?? new Counter<L>({ ...config, registers: [this.registry] });
  }

  gauge<L extends string>(config: Omit<GaugeConfiguration<L>, 'registers'>): Gauge<L> {
    return this.existing<Gauge<L>>(config.name, Gauge) ?? new Gauge<L>({ ...config, registers: [this.registry] });
  }

  histogram<L extends string>(config: Omit<HistogramConfiguration<L>, 'registers'>): Histogram<L> {
    return this.existing<Histogram<L>>(config.name, Histogram) ?? new Histogram<L>({ ...config, registers: [this.registry] });
  }

  private existing<M>(name: string, kind: abstract new (...args: never[]) => Metric): M | undefined {
    const found = this.registry.getSingleMetric(name);
    if (!found) return undefined;
    if (!(found instanceof kind)) throw new Error(`metric ${name} is already registered as another kind`);
    return found as M;
  }
}

/** What every HTTP app records itself: request latency (the HTTP bootstrap) and its dependencies' readiness (health). */
@Injectable()
export class HttpMetrics {
  readonly httpDuration;
  readonly dependencyUp;

  constructor(metrics: MetricsRegistry) {
    this.httpDuration = metrics.histogram({
      name: 'herald_http_request_duration_seconds',
      help: 'HTTP request latency by route and status',
      labelNames: ['method', 'route', 'status'] as const,
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    });
    this.dependencyUp = metrics.gauge({
      name: 'herald_dependency_up',
      help: 'Result of the last readiness check of each dependency (1 up, 0 down; the schema check counts as postgres)',
      labelNames: ['dependency'] as const,
    });
  }
}

@ApiExcludeController()
@Controller()
export class MetricsController {
  constructor(private readonly metrics: MetricsRegistry) {}

  @Public()
  @Get('metrics')
  @Header('Content-Type', 'text/plain; version=0.0.4; charset=utf-8')
  scrape(): Promise<string> {
    return this.metrics.registry.metrics();
  }
}

/** The registry and `/metrics`; a feature module imports it and provides its own metrics class. */
@Module({ providers: [MetricsRegistry, HttpMetrics], controllers: [MetricsController], exports: [MetricsRegistry, HttpMetrics] })
export class MetricsModule {}
