import { randomUUID } from 'node:crypto';
import type { IncomingMessage, Server as HttpServer } from 'node:http';
import { Server as NetServer } from 'node:net';
import type { DynamicModule, INestApplication, Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Logger } from 'nestjs-pino';
import type { Logger as Pino } from 'pino';
import type { HeraldConfig } from './config';
import { HttpErrorFilter, createValidationPipe, dialectOf, type RouteDialect } from './errors';
import { rootLogger } from './logging';
import { HttpMetrics } from './metrics';
import { installRequestTracing, stopTracing } from './tracing';

export interface HttpAppOptions {
  name: string;
  port: number;
  config: HeraldConfig;
  /** Routes with their own conventions (error envelope, body reading), from the features that serve them. */
  dialects?: readonly RouteDialect[];
  /** Runs after the app is created and before it listens (extra routes, OpenAPI). */
  configure?: (app: NestFastifyApplication, fastify: FastifyInstance) => Promise<void> | void;
}

const SHUTDOWN_DEADLINE_MS = 25_000;

/**
 * Creates one of Herald's HTTP apps on Fastify with the shared conventions: JSON logs with request
 * ids, the API's error shape (a dialect's own on its routes), body limit, JSON-only bodies (a
 * dialect may read any body as JSON), request metrics, and a graceful stop on SIGTERM/SIGINT
 * within 25 s.
 */
export async function createHttpApp(module: Type<unknown> | DynamicModule, options: HttpAppOptions): Promise<NestFastifyApplication> {
  const adapter = new FastifyAdapter({
    bodyLimit: options.config.maxBodyBytes,
    // request.ip is the client's address behind these proxies (the gateway, a load balancer):
    // failed authentication is counted per client address.
    trustProxy: options.config.trustedProxies.length ? options.config.trustedProxies : false,
    genReqId: (req: IncomingMessage) => requestId(req),
    // Deliveries carry their own timeouts; an idle keep-alive socket from a proxy should not linger.
    keepAliveTimeout: 65_000,
    forceCloseConnections: 'idle',
    // A request that reaches a stopping app on a connection it already has is answered (with
    // `Connection: close`), not refused with a bare 503: see stopAccepting.
    return503OnClosing: false,
  });
  // bodyParser: false — Nest would otherwise add its own JSON parser at init, after ours below.
  // abortOnError: false — a failed boot (Postgres unreachable) then rejects, and runMain prints it
  // as one line, instead of Nest printing its buffered start-up lines and a stack trace and exiting.
  const app = await NestFactory.create<NestFastifyApplication>(module, adapter, {
    bufferLogs: true,
    bodyParser: false,
    abortOnError: false,
    autoFlushLogs: false,
  });
  app.useLogger(app.get(Logger));
  app.flushLogs();
  const dialects = options.dialects ?? [];
  app.useGlobalFilters(new HttpErrorFilter(dialects));
  app.useGlobalPipes(createValidationPipe());

  const fastify = app.getHttpAdapter().getInstance() as unknown as FastifyInstance;
  installBodyParsers(fastify, dialects);
  installRequestHooks(fastify, app.get(HttpMetrics), rootLogger(options.config, options.name), options.config.maxBodyBytes, () => isStopping(fastify.server));
  installRequestTracing(fastify, dialects);
  await options.configure?.(app, fastify);
  return app;
}

export async function listen(app: INestApplication, options: HttpAppOptions): Promise<void> {
  stopGracefullyOnSignals(app);
  await app.listen(options.port, options.config.host);
}

/** Servers that are stopping: every answer they send from then on closes its connection. */
const draining = new WeakSet<HttpServer>();

/** True once `stopAccepting(server)` was called: answers then carry `Connection: close`. */
export function isStopping(server: HttpServer): boolean {
  return draining.has(server);
}

/** How long a stopping app waits for its open connections to close before it closes the idle ones. */
export const HTTP_DRAIN_MS = 1000;

/**
 * The first step of a graceful stop, before anything else closes. The listening socket closes, so
 * a new connection is refused at once and its client can go to another replica; requests already
 * in flight, and requests that arrive on a kept-alive connection the client already has, are
 * answered as usual but with `Connection: close`, so the client closes that connection after
 * reading the answer and opens its next one elsewhere. Resolves once no connection is left, or
 * after `maxMs`, when the connections still idle are closed (those still busy close after their
 * answer, while the app closes).
 *
 * Node's own `server.close()` closes every idle kept-alive connection at once instead, racing a
 * client that is writing its next request on one: the request is lost in a reset, or (Fastify's
 * default while closing) refused with a 503 that names no retry time.
 */
export async function stopAccepting(server: HttpServer, maxMs = HTTP_DRAIN_MS): Promise<void> {
  draining.add(server);
  // net.Server's close only stops listening; http.Server's also closes the idle connections.
  if (server.listening) NetServer.prototype.close.call(server);
  const deadline = Date.now() + maxMs;
  while (Date.now() < deadline && (await openConnections(server)) > 0) await new Promise((r) => setTimeout(r, 20));
  server.closeIdleConnections();
}

function openConnections(server: HttpServer): Promise<number> {
  return new Promise((resolve) => server.getConnections((err, n) => resolve(err ? 0 : n)));
}

let signalsInstalled = false;
/**
 * SIGTERM/SIGINT: stop accepting connections and answer what is in flight (stopAccepting), then
 * stop taking new work and let in-flight work finish (Nest's shutdown hooks close the HTTP server,
 * workers, queues and the database in order), exit 0; exit 1 if that takes longer than the 25 s
 * deadline (docs/contract.md §1.2).
 */
export function stopGracefullyOnSignals(app: INestApplication): void {
  if (signalsInstalled) return;
  signalsInstalled = true;
  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    // Ctrl-C under `npm start` sends SIGINT to every process of the terminal, and npm start then
    // sends SIGTERM: one shutdown, whatever the number of signals (a second close() would end
    // the database pool twice).
    if (stopping) return;
    stopping = true;
    setTimeout(() => {
      process.stderr.write(`graceful shutdown exceeded ${SHUTDOWN_DEADLINE_MS} ms after ${signal}; exiting\n`);
      process.exit(1);
    }, SHUTDOWN_DEADLINE_MS - 1000).unref();
    // The spans of the last work done are sent before the exit (bounded: a collector that is away does not hold it).
    stopAccepting(app.getHttpServer() as HttpServer)
      .then(() => app.close())
      .then(
        () => stopTracing(2000).then(() => process.exit(0)),
        (err: unknown) => {
          process.stderr.write(`error during shutdown: ${(err as Error).message}\n`);
          process.exit(1);
        },
      );
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

function requestId(req: IncomingMessage): string {
  const given = req.headers['x-request-id'];
  const id = typeof given === 'string' && /^[\w.:-]{1,128}$/.test(given) ? given : randomUUID();
  // pino-http reads the same id, so HTTP log lines and Fastify's agree.
  (req as IncomingMessage & { id?: string }).id = id;
  return id;
}

const JSON_TYPE = /^application\/([\w.+-]+\+)?json\s*(;|$)/i;
/** Deeper bodies are refused: no payload needs them, and recursive code downstream would overflow. */
export const MAX_JSON_DEPTH = 32;

/** True when `value` nests objects/arrays deeper than `max` (iterative: safe on any input). */
export function nestedDeeperThan(value: unknown, max: number): boolean {
  const stack: Array<[unknown, number]> = [[value, 1]];
  while (stack.length) {
    const [v, depth] = stack.pop() as [unknown, number];
    if (v === null || typeof v !== 'object') continue;
    if (depth > max) return true;
    for (const child of Array.isArray(v) ? v : Object.values(v)) if (child !== null && typeof child === 'object') stack.push([child, depth + 1]);
  }
  return false;
}

/** `\u0000` in JSON text, not preceded by an escaped backslash (`\\u0000` is a backslash and "u0000"). */
const ESCAPED_NUL = /(?<!\\)(?:\\\\)*\\u0000/;
/** An escaped UTF-16 surrogate (`\ud800`-`\udfff`) in JSON text: half of a pair, or a lone one. */
const ESCAPED_SURROGATE = /(?<!\\)(?:\\\\)*\\u[dD][89a-fA-F][0-9a-fA-F]{2}/;
/** A surrogate code unit without its other half: JSON.parse makes one from `"\ud800"`, which no UTF-8 text (nor jsonb) can hold. */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** A key no payload of Herald's has, and that object mappers treat specially. */
const RESERVED_KEY = /"(?:constructor|prototype)"\s*:/;
const RESERVED_KEYS = new Set(['constructor', 'prototype']);

/** Why `text` (a string or key) cannot be stored, or null. */
function unstorableText(text: string): string | null {
  if (text.includes('\u0000')) return 'the NUL character (\\u0000)';
  if (LONE_SURROGATE.test(text)) return 'a lone UTF-16 surrogate (\\ud800-\\udfff without its pair)';
  return null;
}

/**
 * The first problem in a parsed body that would fail later: a string or key holding NUL or a lone
 * surrogate (e.g. `body.issue.name: ...`; Postgres stores neither), or a `constructor`/`prototype`
 * key; null if there is none.
 */
export function findUnstorable(value: unknown, path: string): string | null {
  if (typeof value === 'string') {
    const problem = unstorableText(value);
    return problem ? `${path}: text must not contain ${problem}` : null;
  }
  if (value === null || typeof value !== 'object') return null;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = findUnstorable(value[i], `${path}[${i}]`);
      if (found) return found;
    }
    return null;
  }
  for (const [key, child] of Object.entries(value)) {
    const problem = unstorableText(key);
    if (problem) return `${path}: keys must not contain ${problem}`;
    if (RESERVED_KEYS.has(key)) return `${path}.${key}: "${key}" is not an accepted key`;
    const found = findUnstorable(child, `${path}.${key}`);
    if (found) return found;
  }
  return null;
}

/** True when the JSON text may hold something `findUnstorable` refuses (a cheap test before the walk). */
export function mayHoldUnstorable(text: string): boolean {
  return ESCAPED_NUL.test(text) || ESCAPED_SURROGATE.test(text) || RESERVED_KEY.test(text);
}

function installBodyParsers(fastify: FastifyInstance, dialects: readonly RouteDialect[]): void {
  const defaultJson = fastify.getDefaultJsonParser('error', 'error');
  const tooDeep = () => Object.assign(new Error(`body: JSON nested deeper than ${MAX_JSON_DEPTH} levels`), { statusCode: 400 });
  const parseJson = (request: FastifyRequest, text: string, done: (err: Error | null, body?: unknown) => void) => {
    try {
      defaultJson(request, text, (err: Error | null, body?: unknown) => {
        // Fastify's own text claims a JSON Content-Type, which DevLake routes do not require.
        if (err && (err as { code?: string }).code === 'FST_ERR_CTP_INVALID_JSON_BODY') {
          return done(Object.assign(new Error('body: malformed JSON; send one JSON object'), { statusCode: 400 }));
        }
        if (err) return done(err);
        if (nestedDeeperThan(body, MAX_JSON_DEPTH)) return done(tooDeep());
        // Postgres stores no NUL character and no lone surrogate in text or jsonb, and
        // class-transformer crashes on a nested "constructor" key: refuse them here, naming where
        // they are, rather than failing later with a 500. The scan runs only when the text could hold one.
        const problem = mayHoldUnstorable(text) ? findUnstorable(body, 'body') : null;
        if (problem) return done(Object.assign(new Error(problem), { statusCode: 400 }));
        return done(null, body);
      });
    } catch (err) {
      // The prototype-poisoning scan recurses; thousands of levels overflow the stack.
      if (err instanceof RangeError) return done(tooDeep());
      throw err;
    }
  };
  fastify.removeAllContentTypeParsers();
  fastify.addContentTypeParser('*', { parseAs: 'string' }, (request: FastifyRequest, body: string | Buffer, done) => {
    const text = typeof body === 'string' ? body : body.toString('utf8');
    if (dialectOf(request.url, dialects)?.anyContentTypeIsJson) {
      if (text.trim() === '') return done(null, {});
      return parseJson(request, text, done);
    }
    if (!JSON_TYPE.test(request.headers['content-type'] ?? '')) {
      const err = Object.assign(new Error(`unsupported Content-Type "${request.headers['content-type'] ?? ''}": send application/json`), {
        statusCode: 415,
        code: 'FST_ERR_CTP_INVALID_MEDIA_TYPE',
      });
      return done(err, undefined);
    }
    if (text.trim() === '') {
      return done(Object.assign(new Error('body: expected a JSON document, got an empty body'), { statusCode: 400 }), undefined);
    }
    return parseJson(request, text, done);
  });
}

/** How much of a refused body is read and dropped before its connection is closed anyway. */
const DRAIN_MIN_BYTES = 8 * 1024 * 1024;
const DRAIN_MS = 10_000;

/**
 * Reads and drops the rest of a request body that will not be used, and makes the connection's
 * close a lingering one (RFC 9112 §9.6): the answer is sent and the sending side closed, and the
 * socket is closed only once the client has finished sending. Closing it at once, with unread data
 * in the kernel's buffer, sends a reset that reaches the client before (or instead of) the answer.
 * A client sending more than `limits.bytes`, or for longer than `limits.ms`, is cut off.
 */
export function drainRequest(req: IncomingMessage, limits: { bytes: number; ms: number }): void {
  const socket = req.socket;
  const cut = () => socket.destroy();
  const timer = setTimeout(cut, limits.ms);
  timer.unref();
  socket.once('close', () => clearTimeout(timer));
  req.once('end', () => clearTimeout(timer));
  let received = 0;
  req.on('data', (chunk: Buffer) => {
    received += chunk.length;
    if (received > limits.bytes) cut();
  });
  req.resume();
  // Node's server calls destroySoon once the answer is written when the connection is not kept.
  socket.destroySoon = () => {
    if (socket.writable) socket.end();
    const close = () => (socket.writableFinished ? socket.destroy() : socket.once('finish', () => socket.destroy()));
    if (req.complete) close();
    else req.once('end', close);
  };
}

/** One log line and one latency sample per request; probes and scrapes are left out of both. */
function installRequestHooks(fastify: FastifyInstance, metrics: HttpMetrics, logger: Pino, maxBodyBytes: number, stopping: () => boolean): void {
  const drainLimits = { bytes: Math.max(DRAIN_MIN_BYTES, 4 * maxBodyBytes), ms: DRAIN_MS };
  fastify.addHook('onSend', async (request: FastifyRequest, reply: FastifyReply) => {
    reply.header('x-request-id', request.id);
    // A stopping app's answers close their connections (stopAccepting); set here, after the
    // handler, so a forwarded answer's own `connection: keep-alive` does not win.
    if (stopping()) reply.header('connection', 'close');
    // Fastify refuses an unreadable body (too large, malformed) with `Connection: close` while the
    // client may still be sending it; so does any answer to a client that asked for `close`.
    if (!request.raw.complete) drainRequest(request.raw, drainLimits);
  });
  fastify.addHook('onResponse', async (request: FastifyRequest, reply: FastifyReply) => {
    const route = request.routeOptions?.url ?? 'unmatched';
    if (route === '/metrics' || route === '/healthz' || route === '/readyz') return;
    metrics.httpDuration.observe({ method: request.method, route, status: String(reply.statusCode) }, reply.elapsedTime / 1000);
    if (logger.isLevelEnabled('info')) {
      logger.info(
        {
          reqId: request.id,
          req: { method: request.method, url: request.url },
          res: { statusCode: reply.statusCode },
          responseTime: Math.round(reply.elapsedTime),
        },
        'request completed',
      );
    }
  });
}
