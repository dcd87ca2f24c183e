import { Injectable } from '@nestjs/common';
import { MetricsRegistry } from '@herald/platform';

/** What the outbox relay records (it moves with the relay). Names are fixed: the dashboard and the alerts read them. */
@Injectable()
export class OutboxMetrics {
  readonly outboxRelayed;
  readonly outboxPassDuration;
  readonly outboxBacklog;
  readonly filteredOut;

  constructor(metrics: MetricsRegistry) {
    this.outboxRelayed = metrics.counter({
      name: 'herald_outbox_relayed_total',
      help: 'Outbox rows relayed, by kind (event: fanned out and its deliveries queued; delivery: a replay queued)',
      labelNames: ['kind'] as const,
    });
    this.outboxPassDuration = metrics.histogram({
      name: 'herald_outbox_relay_pass_seconds',
      help: 'Duration of one outbox relay pass (lease and fan out, queue the jobs, delete the rows), by outcome (ok, failed)',
      labelNames: ['outcome'] as const,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    });
    this.outboxBacklog = metrics.gauge({
      name: 'herald_outbox_backlog',
      help: 'Outbox rows not yet relayed (counted every few seconds by each worker, up to 100 000)',
    });
    this.filteredOut = metrics.counter({
      name: 'herald_filtered_out_total',
      help: "(event, webhook) pairs the relay left without a delivery because the webhook's filter did not pass the event",
    });
  }
}
