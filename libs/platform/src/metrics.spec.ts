import { HttpMetrics, MetricsRegistry } from './metrics';

describe('MetricsRegistry', () => {
  it('returns the metric already registered under a name, so two providers of one feature class share it', async () => {
    const registry = new MetricsRegistry();
    const config = { name: 'herald_test_total', help: 'test', labelNames: ['kind'] as const };
    const a = registry.counter(config);
    const b = registry.counter(config);
    expect(b).toBe(a);
    a.inc({ kind: 'x' });
    b.inc({ kind: 'x' });
    expect(await registry.registry.metrics()).toContain('herald_test_total{kind="x"} 2');
  });

  it('refuses one name for two kinds of metric', () => {
    const registry = new MetricsRegistry();
    registry.counter({ name: 'herald_test_total', help: 'test' });
    expect(() => registry.gauge({ name: 'herald_test_total', help: 'test' })).toThrow(/already registered as another kind/);
  });

  it('serves what every app records under the names the dashboards read', async () => {
    const registry = new MetricsRegistry();
    const http = new HttpMetrics(registry);
    http.httpDuration.observe({ method: 'GET', route: '/v1/x', status: '200' }, 0.01);
    http.dependencyUp.set({ dependency: 'postgres' }, 1);
    const text = await registry.registry.metrics();
    expect(text).toContain('herald_http_request_duration_seconds_count{method="GET",route="/v1/x",status="200"} 1');
    expect(text).toContain('herald_dependency_up{dependency="postgres"} 1');
    // Process metrics come with the registry.
    expect(text).toContain('process_cpu_user_seconds_total');
  });
});
