import { Injectable } from '@nestjs/common';
import { MetricsRegistry } from '@herald/platform';

/** What intake records (the events API and the DevLake routes). Names are fixed: dashboards and alerts read them. */
@Injectable()
export class IntakeMetrics {
  readonly intakeEvents;

  constructor(metrics: MetricsRegistry) {
    this.intakeEvents = metrics.counter({
      name: 'herald_intake_events_total',
      help: 'Events accepted at intake, by source and route',
      labelNames: ['source', 'route'] as const,
    });
  }
}
