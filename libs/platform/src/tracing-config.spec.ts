import { ConfigError, loadConfig } from './config';

const KEY = Buffer.alloc(32, 7).toString('base64');
const base = { HERALD_ADMIN_TOKEN: 'x'.repeat(20), HERALD_ENCRYPTION_KEY: KEY };
const tracing = (env: Record<string, string>) => loadConfig({ ...base, ...env }).tracing;

function problems(env: Record<string, string>): string {
  try {
    loadConfig({ ...base, ...env });
  } catch (err) {
    if (err instanceof ConfigError) return err.problems.join('\n');
    throw err;
  }
  return '';
}

describe('tracing configuration (the standard OTEL_* variables)', () => {
  it('is off unless an endpoint is configured', () => {
    expect(tracing({})).toBeNull();
    expect(tracing({ OTEL_SERVICE_NAME: 'herald', OTEL_TRACES_SAMPLER: 'always_on' })).toBeNull();
  });

  it("sends to /v1/traces under OTEL_EXPORTER_OTLP_ENDPOINT, with the specification's defaults", () => {
    expect(tracing({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' })).toEqual({
      endpoint: 'http://collector:4318/v1/traces',
      protocol: 'http/protobuf',
      headers: {},
      timeoutMs: 10_000,
      compression: 'none',
      serviceName: null,
      resourceAttributes: {},
      sampler: 'parentbased_always_on',
      samplerRatio: 1,
      batch: { scheduledDelayMs: 5000, exportTimeoutMs: 30_000, maxQueueSize: 2048, maxExportBatchSize: 512 },
    });
    expect(tracing({ OTEL_EXPORTER_OTLP_ENDPOINT: 'https://otel.example.com/otlp/' })?.endpoint).toBe('https://otel.example.com/otlp/v1/traces');
  });

  it('uses OTEL_EXPORTER_OTLP_TRACES_ENDPOINT as it is, before the general endpoint', () => {
    expect(tracing({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://c:4318/custom/path', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://other:4318' })?.endpoint).toBe(
      'http://c:4318/custom/path',
    );
  });

  it('turns on with OTEL_TRACES_EXPORTER=otlp alone (localhost:4318), and off with none or OTEL_SDK_DISABLED', () => {
    expect(tracing({ OTEL_TRACES_EXPORTER: 'otlp' })?.endpoint).toBe('http://localhost:4318/v1/traces');
    expect(tracing({ OTEL_TRACES_EXPORTER: 'none', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318' })).toBeNull();
    expect(tracing({ OTEL_SDK_DISABLED: 'true', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318' })).toBeNull();
  });

  it('lets the traces-specific setting win over the general one', () => {
    const t = tracing({
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318',
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf',
      OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/json',
      OTEL_EXPORTER_OTLP_HEADERS: 'x-general=1',
      OTEL_EXPORTER_OTLP_TRACES_HEADERS: 'Authorization=Bearer%20abc,x-tenant=herald',
      OTEL_EXPORTER_OTLP_TIMEOUT: '2000',
      OTEL_EXPORTER_OTLP_TRACES_COMPRESSION: 'gzip',
    });
    expect(t).toMatchObject({ protocol: 'http/json', headers: { Authorization: 'Bearer abc', 'x-tenant': 'herald' }, timeoutMs: 2000, compression: 'gzip' });
  });

  it('reads the service name, resource attributes, sampler and batch settings', () => {
    const t = tracing({
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318',
      OTEL_SERVICE_NAME: 'herald-eu',
      OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment.name=prod, team=platform',
      OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
      OTEL_TRACES_SAMPLER_ARG: '0.05',
      OTEL_BSP_SCHEDULE_DELAY: '1000',
      OTEL_BSP_MAX_QUEUE_SIZE: '100',
    });
    expect(t).toMatchObject({
      serviceName: 'herald-eu',
      resourceAttributes: { 'deployment.environment.name': 'prod', team: 'platform' },
      sampler: 'parentbased_traceidratio',
      samplerRatio: 0.05,
      // The default batch is capped by a smaller queue.
      batch: { scheduledDelayMs: 1000, maxQueueSize: 100, maxExportBatchSize: 100 },
    });
  });

  it('names every bad variable, even while tracing is off, without echoing headers', () => {
    const text = problems({
      OTEL_TRACES_SAMPLER: 'jaeger_remote',
      OTEL_TRACES_SAMPLER_ARG: '2',
      OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc',
      OTEL_TRACES_EXPORTER: 'zipkin',
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'collector:4317',
      OTEL_EXPORTER_OTLP_HEADERS: 'Bearer sekrit-token',
      OTEL_BSP_MAX_QUEUE_SIZE: '10',
      OTEL_BSP_MAX_EXPORT_BATCH_SIZE: '20',
      OTEL_SDK_DISABLED: 'perhaps',
    });
    expect(text).toMatch(/OTEL_TRACES_SAMPLER="jaeger_remote" is invalid: expected one of always_on, .*parentbased_traceidratio/);
    expect(text).toMatch(/OTEL_TRACES_SAMPLER_ARG="2" is invalid: expected a ratio between 0 and 1/);
    expect(text).toMatch(/OTEL_EXPORTER_OTLP_PROTOCOL="grpc" is invalid: grpc is not supported: use http\/protobuf/);
    expect(text).toMatch(/OTEL_TRACES_EXPORTER="zipkin" is invalid: expected otlp or none/);
    expect(text).toMatch(/OTEL_EXPORTER_OTLP_TRACES_ENDPOINT="collector:4317" is invalid: expected an http\(s\) URL/);
    expect(text).toMatch(/OTEL_EXPORTER_OTLP_HEADERS="\*\*\*" is invalid: entry 1 is not key=value/);
    expect(text).toMatch(/OTEL_BSP_MAX_EXPORT_BATCH_SIZE="20" is invalid: expected at most OTEL_BSP_MAX_QUEUE_SIZE \(10\)/);
    expect(text).toMatch(/OTEL_SDK_DISABLED="perhaps" is invalid/);
    expect(text).not.toContain('sekrit');
  });
});
