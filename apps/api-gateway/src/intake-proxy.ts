import { Readable } from 'node:stream';
import replyFrom from '@fastify/reply-from';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { DEVLAKE_ROUTES, DEVLAKE_ROUTE_PREFIXES } from '@herald/intake';
import { errorEnvelope, rootLogger, toErrorBody, withTraceHeaders, type ErrorBody, type HeraldConfig } from '@herald/platform';
import { Upstreams, failedBeforeSending } from './upstreams';

/** Intake paths the gateway forwards to ingestion unchanged (docs/contract.md §1.1, §5). */
const FORWARDED: Array<{ method: 'POST'; url: string }> = [
  { method: 'POST', url: '/v1/projects/:key/events' },
  { method: 'POST', url: '/v1/projects/:key/events/batch' },
  ...DEVLAKE_ROUTE_PREFIXES.map((prefix) => ({ method: 'POST' as const, url: `${prefix}*` })),
];

/**
 * Forwards intake requests to ingestion byte for byte (the body is streamed, not parsed, here), with the
 * request id (and, when tracing is on, the gateway span's traceparent), so ingestion authenticates,
 * validates and answers exactly as it would directly.
 * With several ingestion URLs each request goes to the next in turn, and one whose connection fails
 * before the request is sent (refused: a process stopping or restarting) goes to the next URL.
 * When no ingestion can be reached the caller gets 503 with Retry-After: nothing was accepted (the
 * answer does not say where ingestion is; the log does).
 */
export async function registerIntakeProxy(fastify: FastifyInstance, config: HeraldConfig): Promise<void> {
  const logger = rootLogger(config, 'api-gateway');
  const upstreams = new Upstreams(config.ingestionUrls);
  /** Each forwarded body as read, so a request refused by one ingestion can be sent to the next. */
  const bodies = new WeakMap<object, Buffer>();
  await fastify.register(async (scope) => {
    await scope.register(replyFrom, {
      // No base: each request names its ingestion (getUpstream below); one keep-alive pool per URL.
      undici: { connections: 128, pipelining: 1, keepAliveTimeout: 30_000, headersTimeout: 30_000, bodyTimeout: 30_000 },
      disableRequestLogging: true,
    });
    // The body is forwarded unread (ingestion decides how to read it), but the size limit is
    // enforced here too, so an oversized body gets its 413 instead of a broken forward. It is
    // handed on as a stream: reply-from would re-encode a parsed or Buffer JSON body.
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: config.maxBodyBytes }, (request, body, done) => {
      bodies.set(request.raw, body as Buffer);
      done(null, Readable.from([body]));
    });
    // Errors raised here (body too large) use the same envelopes as ingestion's answers.
    scope.setErrorHandler((error, request, reply) => {
      const body = toErrorBody(error);
      if (body.status >= 500) logger.error({ err: error, reqId: request.id, url: request.url }, 'intake forward failed');
      reply.code(body.status).send(envelope(request.url, body));
    });
    const forward = (request: FastifyRequest, reply: FastifyReply, order: string[], index: number): FastifyReply => {
      const target = order[index];
      return reply.from(request.url, {
        getUpstream: () => target,
        // Ingestion counts failed authentication per client (it trusts the gateway's X-Forwarded-For),
        // and continues the trace of the gateway's span (its traceparent replaces the client's).
        rewriteRequestHeaders: (req, headers) =>
          withTraceHeaders(req, { ...headers, 'x-request-id': req.id, 'x-forwarded-for': forwardedFor(headers['x-forwarded-for'], req.socket.remoteAddress) }),
        onResponse: (_req, rep, res) => {
          upstreams.answered(target);
          rep.send((res as unknown as { stream: Readable }).stream);
        },
        onError: (rep, { error }) => {
          if (failedBeforeSending(error)) {
            if (upstreams.refused(target)) {
              const reason = (error as Error & { cause?: Error }).cause?.message ?? error.message;
              logger.warn({ ingestion: target, reason }, 'cannot connect to ingestion; sending intake to the others first for 2 s');
            }
            if (index + 1 < order.length) {
              // The first attempt's body stream was handed to a connection that never opened.
              const raw = bodies.get(request.raw);
              if (raw) request.body = Readable.from([raw]);
              return void forward(request, rep as unknown as FastifyReply, order, index + 1);
            }
          }
          logger.error({ err: error, reqId: request.id, url: request.url, ingestion: order }, 'intake unavailable: cannot reach ingestion');
          const body = { status: 503, error: 'Service Unavailable', message: 'intake unavailable; nothing was accepted, retry later' };
          rep.code(503).header('retry-after', '5').send(envelope(request.url, body));
        },
      });
    };
    for (const route of FORWARDED) {
      scope.route({
        method: route.method,
        url: route.url,
        handler: (request: FastifyRequest, reply: FastifyReply) => {
          // reply-from decodes the URL to look for path traversal, and a stray `%` makes that throw.
          const malformed = malformedPercentEncoding(request.url);
          if (malformed) return reply.code(400).send(envelope(request.url, { status: 400, error: 'Bad Request', message: malformed }));
          return forward(request, reply, upstreams.order(), 0);
        },
      });
    }
  });
}

/** Why `url` cannot be decoded (a `%` not followed by two hex digits, or bytes that are not UTF-8), or null. */
export function malformedPercentEncoding(url: string): string | null {
  if (decodable(url)) return null;
  const part = decodable(url.split('?')[0]) ? 'query' : 'path';
  return `${part}: malformed percent-encoding; a "%" must start a UTF-8 escape such as %20 (send a literal "%" as %25)`;
}

function decodable(text: string): boolean {
  try {
    decodeURIComponent(text);
    return true;
  } catch {
    return false;
  }
}

/** The X-Forwarded-For chain with the address this request came from appended. */
function forwardedFor(chain: string | string[] | undefined, peer: string | undefined): string {
  return [...(Array.isArray(chain) ? chain : chain ? [chain] : []), peer ?? 'unknown'].join(', ');
}

function envelope(url: string, body: ErrorBody) {
  return errorEnvelope(url, body, [DEVLAKE_ROUTES]);
}
