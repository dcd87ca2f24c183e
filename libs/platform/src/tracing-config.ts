/**
 * OpenTelemetry's standard variables (https://opentelemetry.io/docs/specs/otel/configuration/sdk-environment-variables/),
 * the subset Herald's tracing honours, read and checked with the rest of the configuration so a bad
 * value stops the app with a message naming it (the SDK itself would only warn and fall back).
 */

export type TracesSampler = 'always_on' | 'always_off' | 'traceidratio' | 'parentbased_always_on' | 'parentbased_always_off' | 'parentbased_traceidratio';
export const TRACES_SAMPLERS: readonly TracesSampler[] = [
  'always_on',
  'always_off',
  'traceidratio',
  'parentbased_always_on',
  'parentbased_always_off',
  'parentbased_traceidratio',
];

export interface TracingConfig {
  /** The OTLP/HTTP traces URL spans are posted to. */
  endpoint: string;
  protocol: 'http/protobuf' | 'http/json';
  headers: Record<string, string>;
  timeoutMs: number;
  compression: 'gzip' | 'none';
  /** OTEL_SERVICE_NAME; null: `herald-<app>` (the three apps share one ConfigMap, and each needs its own name). */
  serviceName: string | null;
  resourceAttributes: Record<string, string>;
  sampler: TracesSampler;
  /** OTEL_TRACES_SAMPLER_ARG: the ratio of the traceidratio samplers. */
  samplerRatio: number;
  /** The batch span processor: spans wait at most `scheduledDelayMs`; past `maxQueueSize` waiting, new ones are dropped. */
  batch: { scheduledDelayMs: number; exportTimeoutMs: number; maxQueueSize: number; maxExportBatchSize: number };
}

/** The configuration's reader (config.ts): a variable, its default, how to parse it, what is expected. */
export type ConfigReader = <T>(name: string, fallback: string | undefined, parse: (raw: string) => T, expected: string) => T;

/** Where an OTLP/HTTP collector listens when OTEL_TRACES_EXPORTER=otlp names no endpoint (the specification's default). */
export const DEFAULT_OTLP_ENDPOINT = 'http://localhost:4318';

const whole = (min: number, max: number) => (raw: string) => {
  if (!/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) throw new Error(`expected a whole number between ${min} and ${max}`);
  return Number(raw);
};

const httpUrl = (raw: string) => {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new Error('expected an http(s) URL such as http://otel-collector:4318');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new Error("expected an http(s) URL: Herald exports OTLP over HTTP (the collector's port 4318), not gRPC");
  return url;
};

/** `key=value,key=value` with percent-encoded values (the format of OTEL_EXPORTER_OTLP_HEADERS and OTEL_RESOURCE_ATTRIBUTES). */
export function parseKeyValues(raw: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [n, pair] of raw.split(',').entries()) {
    if (pair.trim() === '') continue;
    const i = pair.indexOf('=');
    const key = i > 0 ? pair.slice(0, i).trim() : '';
    // The entry is not echoed: these variables carry credentials (an Authorization header).
    if (key === '') throw new Error(`entry ${n + 1} is not key=value; expected key=value pairs separated by commas`);
    try {
      out[key] = decodeURIComponent(pair.slice(i + 1).trim());
    } catch {
      throw new Error(`the value of ${key} has a malformed percent-encoding`);
    }
  }
  return out;
}

const protocol = (raw: string): TracingConfig['protocol'] => {
  if (raw === 'http/protobuf' || raw === 'http/json') return raw;
  if (raw === 'grpc') throw new Error("grpc is not supported: use http/protobuf (the collector's OTLP/HTTP port, 4318) or http/json");
  throw new Error('expected http/protobuf or http/json');
};

const compression = (raw: string): TracingConfig['compression'] => {
  if (raw === 'gzip' || raw === 'none') return raw;
  throw new Error('expected gzip or none');
};

/**
 * Reads the tracing variables; null (tracing off) unless an OTLP endpoint is configured or
 * OTEL_TRACES_EXPORTER=otlp asks for the default one, and OTEL_SDK_DISABLED is not true. Every
 * variable is checked either way: a typo should not wait for the day tracing is turned on.
 */
export function readTracingConfig(read: ConfigReader, bool: (raw: string) => boolean): TracingConfig | null {
  const disabled = read('OTEL_SDK_DISABLED', 'false', bool, 'true or false');
  const exporter = read(
    'OTEL_TRACES_EXPORTER',
    '',
    (raw) => {
      if (raw === '' || raw === 'otlp' || raw === 'none') return raw;
      throw new Error('expected otlp or none (Herald exports traces over OTLP/HTTP only)');
    },
    'otlp or none',
  );
  const tracesEndpoint = read(
    'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT',
    '',
    (raw) => (raw === '' ? null : httpUrl(raw) && raw),
    'the OTLP/HTTP traces URL, used as it is (e.g. http://otel-collector:4318/v1/traces)',
  );
  const baseEndpoint = read(
    'OTEL_EXPORTER_OTLP_ENDPOINT',
    '',
    (raw) => (raw === '' ? null : httpUrl(raw)),
    "the collector's OTLP/HTTP base URL (e.g. http://otel-collector:4318); traces go to /v1/traces under it",
  );
  // The signal-specific variable wins over the general one (the specification's rule), for each setting.
  const pick = <T>(name: string, fallback: string, parse: (raw: string) => T, expected: string): T => {
    const general = read(`OTEL_EXPORTER_OTLP_${name}`, fallback, parse, expected);
    return read(`OTEL_EXPORTER_OTLP_TRACES_${name}`, '', (raw) => (raw === '' ? general : parse(raw)), expected);
  };
  const config: Omit<TracingConfig, 'endpoint'> = {
    protocol: pick('PROTOCOL', 'http/protobuf', protocol, 'http/protobuf or http/json'),
    headers: pick('HEADERS', '', parseKeyValues, 'key=value pairs separated by commas'),
    timeoutMs: pick('TIMEOUT', '10000', whole(1, 600_000), 'milliseconds'),
    compression: pick('COMPRESSION', 'none', compression, 'gzip or none'),
    serviceName: read('OTEL_SERVICE_NAME', '', (raw) => (raw === '' ? null : raw), 'a service name'),
    resourceAttributes: read('OTEL_RESOURCE_ATTRIBUTES', '', parseKeyValues, 'key=value pairs separated by commas'),
    sampler: read(
      'OTEL_TRACES_SAMPLER',
      'parentbased_always_on',
      (raw) => {
        if ((TRACES_SAMPLERS as readonly string[]).includes(raw)) return raw as TracesSampler;
        throw new Error(`expected one of ${TRACES_SAMPLERS.join(', ')}`);
      },
      'a sampler name',
    ),
    samplerRatio: read(
      'OTEL_TRACES_SAMPLER_ARG',
      '1',
      (raw) => {
        const n = Number(raw);
        if (raw === '' || !Number.isFinite(n) || n < 0 || n > 1) throw new Error('expected a ratio between 0 and 1, such as 0.1');
        return n;
      },
      'a ratio between 0 and 1',
    ),
    batch: readBatch(read),
  };
  if (disabled || exporter === 'none') return null;
  let endpoint: string;
  if (tracesEndpoint) endpoint = tracesEndpoint;
  else if (baseEndpoint || exporter === 'otlp') {
    const base = baseEndpoint ?? new URL(DEFAULT_OTLP_ENDPOINT);
    base.pathname = `${base.pathname.replace(/\/+$/, '')}/v1/traces`;
    endpoint = base.toString();
  } else return null;
  return { endpoint, ...config };
}

function readBatch(read: ConfigReader): TracingConfig['batch'] {
  const maxQueueSize = read('OTEL_BSP_MAX_QUEUE_SIZE', '2048', whole(1, 1_000_000), 'a number of spans');
  return {
    scheduledDelayMs: read('OTEL_BSP_SCHEDULE_DELAY', '5000', whole(1, 600_000), 'milliseconds'),
    exportTimeoutMs: read('OTEL_BSP_EXPORT_TIMEOUT', '30000', whole(1, 600_000), 'milliseconds'),
    maxQueueSize,
    // The processor cannot send a batch larger than its queue.
    maxExportBatchSize: read(
      'OTEL_BSP_MAX_EXPORT_BATCH_SIZE',
      String(Math.min(512, maxQueueSize ?? 512)),
      (raw) => {
        const n = whole(1, 1_000_000)(raw);
        if (maxQueueSize !== undefined && n > maxQueueSize) throw new Error(`expected at most OTEL_BSP_MAX_QUEUE_SIZE (${maxQueueSize})`);
        return n;
      },
      'a number of spans',
    ),
  };
}
