import { hostname } from 'node:os';
import {
  DiagLogLevel,
  INVALID_SPAN_CONTEXT,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  defaultTextMapGetter,
  defaultTextMapSetter,
  diag,
  trace,
  type Attributes,
  type Context,
  type DiagLogger,
  type Span,
  type TimeInput,
  type Tracer,
} from '@opentelemetry/api';
import { W3CTraceContextPropagator, parseTraceParent } from '@opentelemetry/core';
import { ATTR_HTTP_REQUEST_METHOD, ATTR_HTTP_RESPONSE_STATUS_CODE, ATTR_HTTP_ROUTE, ATTR_SERVICE_NAME } from '@opentelemetry/semantic-conventions';
import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import type { HeraldConfig } from './config';
import { dialectOf, type RouteDialect } from './errors';
import { rootLogger } from './logging';

/**
 * OpenTelemetry traces, one per event: the intake request (through the gateway's forward), the
 * write of the event and its outbox row, the relay's fan-out, and each delivery attempt with its
 * HTTP send (docs/operations.md#tracing).
 *
 * Off unless configured (HeraldConfig.tracing). While off, nothing here does any work: every
 * caller asks {@link tracingEnabled} (a null check) before touching a span, the SDK is not even
 * loaded, and no context is propagated. Context is passed explicitly (a span, or a W3C
 * `traceparent` string in the outbox row and the job data), never through async-local storage,
 * so even with tracing on the hot path pays for its spans only.
 */
export type TraceSpan = Span;
export { SpanKind, SpanStatusCode };

let tracer: Tracer | null = null;
let provider: { shutdown(): Promise<void> } | null = null;

/** Whether spans are recorded; the one check the hot path makes while tracing is off. */
export function tracingEnabled(): boolean {
  return tracer !== null;
}

/**
 * Starts the SDK when the configuration asks for it (an OTLP endpoint): call it first thing in an
 * app's main, before Nest builds the app. `app` names the service (`herald-<app>`) unless
 * OTEL_SERVICE_NAME does.
 */
export async function startTracing(config: HeraldConfig, app: string): Promise<void> {
  const settings = config.tracing;
  if (!settings || tracer) return;
  // Loaded only when tracing is on: an app without it does not pay for the SDK at start.
  const [sdk, { resourceFromAttributes }, { OTLPTraceExporter }] = await Promise.all([
    import('@opentelemetry/sdk-trace-base'),
    import('@opentelemetry/resources'),
    settings.protocol === 'http/json' ? import('@opentelemetry/exporter-trace-otlp-http') : import('@opentelemetry/exporter-trace-otlp-proto'),
  ]);
  const ratio = new sdk.TraceIdRatioBasedSampler(settings.samplerRatio);
  const samplers = {
    always_on: new sdk.AlwaysOnSampler(),
    always_off: new sdk.AlwaysOffSampler(),
    traceidratio: ratio,
    parentbased_always_on: new sdk.ParentBasedSampler({ root: new sdk.AlwaysOnSampler() }),
    parentbased_always_off: new sdk.ParentBasedSampler({ root: new sdk.AlwaysOffSampler() }),
    parentbased_traceidratio: new sdk.ParentBasedSampler({ root: ratio }),
  };
  const exporter = new OTLPTraceExporter({
    url: settings.endpoint,
    headers: settings.headers,
    timeoutMillis: settings.timeoutMs,
    compression: settings.compression as NonNullable<ConstructorParameters<typeof OTLPTraceExporter>[0]>['compression'],
  });
  const sdkProvider = new sdk.BasicTracerProvider({
    resource: resourceFromAttributes({
      'service.namespace': 'herald',
      'service.instance.id': `${hostname()}/${process.pid}`,
      ...settings.resourceAttributes,
      // OTEL_SERVICE_NAME wins over a service.name in OTEL_RESOURCE_ATTRIBUTES (the specification's rule).
      [ATTR_SERVICE_NAME]: settings.serviceName ?? settings.resourceAttributes[ATTR_SERVICE_NAME] ?? `herald-${app}`,
    }),
    sampler: samplers[settings.sampler],
    spanProcessors: [
      new sdk.BatchSpanProcessor(exporter, {
        scheduledDelayMillis: settings.batch.scheduledDelayMs,
        exportTimeoutMillis: settings.batch.exportTimeoutMs,
        maxQueueSize: settings.batch.maxQueueSize,
        maxExportBatchSize: settings.batch.maxExportBatchSize,
      }),
    ],
  });
  // The SDK reports a failed export through `diag`, silent by default: a collector that is away
  // should show in the logs (once in a while, not once per batch).
  diag.setLogger(throttledDiag(rootLogger(config, app)), DiagLogLevel.WARN);
  trace.setGlobalTracerProvider(sdkProvider);
  tracer = sdkProvider.getTracer('herald');
  provider = sdkProvider;
  rootLogger(config, app).info(
    { endpoint: settings.endpoint.replace(/\/\/[^/@]*@/, '//***@'), sampler: settings.sampler },
    'tracing: exporting spans over OTLP/HTTP',
  );
}

/** Sends the spans still buffered and stops the SDK (at a graceful stop, after the app closed). */
export async function stopTracing(timeoutMs = 5000): Promise<void> {
  const stopping = provider;
  tracer = null;
  provider = null;
  if (!stopping) return;
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([stopping.shutdown().catch(() => undefined), new Promise((resolve) => (timer = setTimeout(resolve, timeoutMs)))]);
  clearTimeout(timer);
}

export interface StartSpanOptions {
  kind?: SpanKind;
  /** The parent: a span of this process, or a W3C traceparent carried from another (none, or an invalid one: a new trace). */
  parent?: Span | string | null;
  attributes?: Attributes;
  startTime?: TimeInput;
}

const propagator = new W3CTraceContextPropagator();

function parentContext(parent: Span | string | null | undefined): Context {
  if (!parent) return ROOT_CONTEXT;
  if (typeof parent !== 'string') return trace.setSpan(ROOT_CONTEXT, parent);
  const carried = parseTraceParent(parent);
  return carried ? trace.setSpanContext(ROOT_CONTEXT, { ...carried, isRemote: true }) : ROOT_CONTEXT;
}

/** Starts a span. Call only when {@link tracingEnabled}; otherwise it returns a span that records nothing. */
export function startSpan(name: string, options: StartSpanOptions = {}): Span {
  if (!tracer) return trace.wrapSpanContext(INVALID_SPAN_CONTEXT);
  return tracer.startSpan(
    name,
    { kind: options.kind ?? SpanKind.INTERNAL, attributes: options.attributes, startTime: options.startTime },
    parentContext(options.parent),
  );
}

/** The span's context as a W3C `traceparent` (what the outbox row and the job data carry). */
export function traceparentOf(span: Span): string {
  const { traceId, spanId, traceFlags } = span.spanContext();
  return `00-${traceId}-${spanId}-${traceFlags & 1 ? '01' : '00'}`;
}

/** A span's status for a failure: the error's class and message (never a stack: messages are written to be read). */
export function failSpan(span: Span, err: unknown, message?: string): void {
  span.setAttribute('error.type', err instanceof Error ? err.name : typeof err);
  span.setStatus({ code: SpanStatusCode.ERROR, message: message ?? (err instanceof Error ? err.message : String(err)) });
}

/** Runs `fn` in a new span (see {@link startSpan}), which ends with `fn`: an error status if it throws. */
export async function inSpan<T>(name: string, options: StartSpanOptions, fn: (span: Span) => Promise<T>): Promise<T> {
  const span = startSpan(name, options);
  try {
    return await fn(span);
  } catch (err) {
    failSpan(span, err);
    throw err;
  } finally {
    span.end();
  }
}

/** Each request's server span, by its Node request object. */
const requestSpans = new WeakMap<object, Span>();

/** API routes are traced: the management API, the events API and the dialects' routes (DevLake's); not probes, metrics, docs or the console. */
function tracedRoute(route: string, dialects: readonly RouteDialect[]): boolean {
  return route.startsWith('/v1/') || dialectOf(route, dialects) !== undefined;
}

/**
 * A server span per API request, continuing the caller's trace from its `traceparent` header
 * (the gateway's, for a forwarded intake request). Installs nothing while tracing is off.
 */
export function installRequestTracing(fastify: FastifyInstance, dialects: readonly RouteDialect[] = []): void {
  const active = tracer;
  if (!active) return;
  fastify.addHook('onRequest', (request: FastifyRequest, _reply: FastifyReply, done: () => void) => {
    const route = request.routeOptions?.url;
    if (route && tracedRoute(route, dialects)) {
      const parent = propagator.extract(ROOT_CONTEXT, request.headers, defaultTextMapGetter);
      const span = active.startSpan(
        `${request.method} ${route}`,
        { kind: SpanKind.SERVER, attributes: { [ATTR_HTTP_REQUEST_METHOD]: request.method, [ATTR_HTTP_ROUTE]: route } },
        parent,
      );
      requestSpans.set(request.raw, span);
    }
    done();
  });
  const end = (request: FastifyRequest, status: number | null) => {
    const span = requestSpans.get(request.raw);
    if (!span) return;
    requestSpans.delete(request.raw);
    if (status === null) span.setStatus({ code: SpanStatusCode.ERROR, message: 'the client closed the connection before the answer' });
    else {
      span.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, status);
      if (status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
    }
    span.end();
  };
  fastify.addHook('onResponse', (request: FastifyRequest, reply: FastifyReply, done: () => void) => {
    end(request, reply.statusCode);
    done();
  });
  fastify.addHook('onRequestAbort', (request: FastifyRequest, done: () => void) => {
    end(request, null);
    done();
  });
}

/** The server span of a request (Fastify's request or Node's), if it is traced. */
export function requestSpan(request: { raw: object }): Span | undefined {
  return tracer ? requestSpans.get(request.raw) : undefined;
}

/** A controller's parameter: the request's server span, or undefined (tracing off, or an untraced route). */
export const RequestSpan = createParamDecorator((_: unknown, context: ExecutionContext): Span | undefined =>
  tracer ? requestSpans.get(context.switchToHttp().getRequest<{ raw: object }>().raw) : undefined,
);

/**
 * Sets the request span's context as `traceparent` (and `tracestate`) on headers sent on its
 * behalf (the gateway's forward to ingestion); returns them unchanged while tracing is off.
 */
export function withTraceHeaders<H extends Record<string, unknown>>(request: { raw: object }, headers: H): H {
  const span = tracer ? requestSpans.get(request.raw) : undefined;
  if (span) propagator.inject(trace.setSpan(ROOT_CONTEXT, span), headers, defaultTextMapSetter);
  return headers;
}

/** The SDK's own warnings (a failed export) as log lines, at most one per message kind every 30 s. */
function throttledDiag(logger: Logger): DiagLogger {
  const last = new Map<string, number>();
  const log =
    (level: 'warn' | 'error') =>
    (message: string, ...args: unknown[]) => {
      const kind = message.slice(0, 60);
      if (Date.now() - (last.get(kind) ?? 0) < 30_000) return;
      last.set(kind, Date.now());
      const detail = args.map((a) => (a instanceof Error ? a.message : typeof a === 'string' ? a : JSON.stringify(a))).join(' ');
      logger[level]({ component: 'tracing' }, `tracing: ${message}${detail ? ` ${detail}` : ''}`.slice(0, 1000));
    };
  const ignore = () => undefined;
  return { error: log('error'), warn: log('warn'), info: ignore, debug: ignore, verbose: ignore };
}
