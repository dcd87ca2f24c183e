import { Controller, Get, Header, Injectable, Module } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { Public } from './auth';

/**
 * Herald's Prometheus metrics. One class for all apps so names and labels stay consistent; an app
 * simply leaves the ones it does not produce at zero.
 */
@Injectable()
export class Metrics {
  readonly registry = new Registry();

  readonly intakeEvents = new Counter({
    name: 'herald_intake_events_total',
    help: 'Events accepted at intake, by source and route',
    labelNames: ['source', 'route'] as const,
    registers: [this.registry],
  });
  readonly intakeRejected = new Counter({
    name: 'herald_intake_rejected_total',
    help: 'Intake requests refused, by status code',
    labelNames: ['status'] as const,
    registers: [this.registry],
  });
  readonly httpDuration = new Histogram({
    name: 'herald_http_request_duration_seconds',
    help: 'HTTP request latency by route and status',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [this.registry],
  });
  readonly deliveries = new Counter({
    name: 'herald_deliveries_total',
    help: 'Delivery attempts by channel and outcome (delivered, rate_limited, retryable, rejected)',
    labelNames: ['channel', 'outcome'] as const,
    registers: [this.registry],
  });
  readonly deliveriesFinished = new Counter({
    name: 'herald_deliveries_finished_total',
    help: 'Deliveries that reached a final status, by channel and status (succeeded, failed, dead)',
    labelNames: ['channel', 'status'] as const,
    registers: [this.registry],
  });
  readonly attemptDuration = new Histogram({
    name: 'herald_delivery_attempt_duration_seconds',
    help: 'Duration of one HTTP attempt to a webhook, by channel',
    labelNames: ['channel'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });
  readonly deliveryLatency = new Histogram({
    name: 'herald_delivery_latency_seconds',
    help: 'Time from event accepted to successful delivery, by channel',
    labelNames: ['channel'] as const,
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5, 30, 300, 3600],
    registers: [this.registry],
  });
  readonly rateLimitDeferrals = new Counter({
    name: 'herald_rate_limit_deferrals_total',
    help: 'Deliveries put back because their webhook was over its rate limit or paused by the platform',
    labelNames: ['channel', 'reason'] as const,
    registers: [this.registry],
  });
  readonly webhooksDisabled = new Counter({
    name: 'herald_webhooks_disabled_total',
    help: 'Webhooks disabled automatically, by reason',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });
  readonly templateFallbacks = new Counter({
    name: 'herald_template_fallbacks_total',
    help: "Messages sent with the built-in text because the webhook's template for the event type failed to render (the worker's log says why)",
    labelNames: ['channel'] as const,
    registers: [this.registry],
  });
  readonly filteredOut = new Counter({
    name: 'herald_filtered_out_total',
    help: "(event, webhook) pairs the relay left without a delivery because the webhook's filter did not pass the event",
    registers: [this.registry],
  });
  readonly queueDepth = new Gauge({
    name: 'herald_queue_jobs',
    help: 'Jobs in each queue by state',
    labelNames: ['queue', 'state'] as const,
    registers: [this.registry],
  });
  readonly reconciled = new Counter({
    name: 'herald_reconciled_total',
    help: 'Delivery jobs re-queued by the reconciler because Redis no longer held them',
    labelNames: ['kind'] as const,
    registers: [this.registry],
  });

  readonly outboxRelayed = new Counter({
    name: 'herald_outbox_relayed_total',
    help: 'Outbox rows relayed, by kind (event: fanned out and its deliveries queued; delivery: a replay queued)',
    labelNames: ['kind'] as const,
    registers: [this.registry],
  });
  readonly outboxPassDuration = new Histogram({
    name: 'herald_outbox_relay_pass_seconds',
    help: 'Duration of one outbox relay pass (lease and fan out, queue the jobs, delete the rows), by outcome (ok, failed)',
    labelNames: ['outcome'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });
  readonly outboxBacklog = new Gauge({
    name: 'herald_outbox_backlog',
    help: 'Outbox rows not yet relayed (counted every few seconds by each worker, up to 100 000)',
    registers: [this.registry],
  });

  /**
   * What KEDA scales the workers on (docs/kubernetes.md): jobs a worker could start now, i.e.
   * waiting + prioritized + delayed jobs already due. Rate-limited and retry-delayed jobs that are
   * not due yet are left out: more workers would not send them sooner.
   */
  readonly queueBacklog = new Gauge({
    name: 'herald_queue_backlog',
    help: 'Jobs ready to run now (waiting + prioritized + delayed and already due), per queue; every worker reports the same number',
    labelNames: ['queue'] as const,
    registers: [this.registry],
  });
  readonly dependencyUp = new Gauge({
    name: 'herald_dependency_up',
    help: 'Result of the last readiness check of each dependency (1 up, 0 down; the schema check counts as postgres)',
    labelNames: ['dependency'] as const,
    registers: [this.registry],
  });

  readonly retentionRemoved = new Counter({
    name: 'herald_retention_removed_total',
    help: 'Rows removed by the retention purge, by table (a deployment\'s commits and a delivery\'s attempts counted in their own tables)',
    labelNames: ['table'] as const,
    registers: [this.registry],
  });
  readonly retentionBatchDuration = new Histogram({
    name: 'herald_retention_batch_seconds',
    help: 'Duration of one retention purge batch (one statement and its commit), by phase (the table walked)',
    labelNames: ['phase'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [this.registry],
  });
  readonly retentionRuns = new Counter({
    name: 'herald_retention_runs_total',
    help: 'Retention purges started by this worker, by outcome (done, stopped, lease-lost, failed; busy: another process held the purge lease)',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry });
  }
}

@ApiExcludeController()
@Controller()
export class MetricsController {
  constructor(private readonly metrics: Metrics) {}

  @Public()
  @Get('metrics')
  @Header('Content-Type', 'text/plain; version=0.0.4; charset=utf-8')
  scrape(): Promise<string> {
    return this.metrics.registry.metrics();
  }
}

@Module({ providers: [Metrics], controllers: [MetricsController], exports: [Metrics] })
export class MetricsModule {}
