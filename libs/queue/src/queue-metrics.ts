import { Injectable } from '@nestjs/common';
import { MetricsRegistry } from '@herald/platform';

/** What the queue reporters record. Names are fixed: the dashboard and the worker autoscaler (KEDA) read them. */
@Injectable()
export class QueueMetrics {
  readonly queueDepth;
  /**
   * What KEDA scales the workers on (docs/kubernetes.md): jobs a worker could start now, i.e.
   * waiting + prioritized + delayed jobs already due. Rate-limited and retry-delayed jobs that are
   * not due yet are left out: more workers would not send them sooner.
   */
  readonly queueBacklog;

  constructor(metrics: MetricsRegistry) {
    this.queueDepth = metrics.gauge({
      name: 'herald_queue_jobs',
      help: 'Jobs in each queue by state',
      labelNames: ['queue', 'state'] as const,
    });
    this.queueBacklog = metrics.gauge({
      name: 'herald_queue_backlog',
      help: 'Jobs ready to run now (waiting + prioritized + delayed and already due), per queue; every worker reports the same number',
      labelNames: ['queue'] as const,
    });
  }
}
