import { Injectable } from '@nestjs/common';
import { MetricsRegistry } from '@herald/platform';

/** What the deliver processor and the reconciler record. Names are fixed: dashboards, alerts and the autoscaler read them. */
@Injectable()
export class DeliveryMetrics {
  readonly deliveries;
  readonly deliveriesFinished;
  readonly attemptDuration;
  readonly deliveryLatency;
  readonly rateLimitDeferrals;
  readonly webhooksDisabled;
  readonly reconciled;
  readonly templateFallbacks;

  constructor(metrics: MetricsRegistry) {
    this.deliveries = metrics.counter({
      name: 'herald_deliveries_total',
      help: 'Delivery attempts by channel and outcome (delivered, rate_limited, retryable, rejected)',
      labelNames: ['channel', 'outcome'] as const,
    });
    this.deliveriesFinished = metrics.counter({
      name: 'herald_deliveries_finished_total',
      help: 'Deliveries that reached a final status, by channel and status (succeeded, failed, dead)',
      labelNames: ['channel', 'status'] as const,
    });
    this.attemptDuration = metrics.histogram({
      name: 'herald_delivery_attempt_duration_seconds',
      help: 'Duration of one HTTP attempt to a webhook, by channel',
      labelNames: ['channel'] as const,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    });
    this.deliveryLatency = metrics.histogram({
      name: 'herald_delivery_latency_seconds',
      help: 'Time from event accepted to successful delivery, by channel',
      labelNames: ['channel'] as const,
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5, 30, 300, 3600],
    });
    this.rateLimitDeferrals = metrics.counter({
      name: 'herald_rate_limit_deferrals_total',
      help: 'Deliveries put back because their webhook was over its rate limit or paused by the platform',
      labelNames: ['channel', 'reason'] as const,
    });
    this.webhooksDisabled = metrics.counter({
      name: 'herald_webhooks_disabled_total',
      help: 'Webhooks disabled automatically, by reason',
      labelNames: ['reason'] as const,
    });
    this.templateFallbacks = metrics.counter({
      name: 'herald_template_fallbacks_total',
      help: "Messages sent with the built-in text because the webhook's template for the event type failed to render (the worker's log says why)",
      labelNames: ['channel'] as const,
    });
    this.reconciled = metrics.counter({
      name: 'herald_reconciled_total',
      help: 'Delivery jobs re-queued by the reconciler because Redis no longer held them',
      labelNames: ['kind'] as const,
    });
  }
}

/** What the retention purge records. */
@Injectable()
export class RetentionMetrics {
  readonly retentionRemoved;
  readonly retentionBatchDuration;
  readonly retentionRuns;

  constructor(metrics: MetricsRegistry) {
    this.retentionRemoved = metrics.counter({
      name: 'herald_retention_removed_total',
      help: "Rows removed by the retention purge, by table (a deployment's commits and a delivery's attempts counted in their own tables)",
      labelNames: ['table'] as const,
    });
    this.retentionBatchDuration = metrics.histogram({
      name: 'herald_retention_batch_seconds',
      help: 'Duration of one retention purge batch (one statement and its commit), by phase (the table walked)',
      labelNames: ['phase'] as const,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    });
    this.retentionRuns = metrics.counter({
      name: 'herald_retention_runs_total',
      help: 'Retention purges started by this worker, by outcome (done, stopped, lease-lost, failed; busy: another process held the purge lease)',
      labelNames: ['outcome'] as const,
    });
  }
}
