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
 * Forwards intake requests to ingestion byte for byte (the body is read but not parsed here), with the
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
  await fastify.register(async (scope) => {
    await scope.register(replyFrom, {
      // No base: each request names its ingestion (getUpstream below); one keep-alive pool per URL.
      undici: { connections: 128, pipelining: 1, keepAliveTimeout: 30_000, headersTimeout: 30_000, bodyTimeout: 30_000 },
      disableRequestLogging: true,
    });
    // The body is forwarded unread (ingestion decides how to read it), but the size limit is
    // enforced here too, so an oversized body gets its 413 instead of a broken forward. It is kept
    // as the bytes received and handed to reply-from whole (see forward).
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: config.maxBodyBytes }, (_request, body, done) => done(null, body));
    // Errors raised here (body too large) use the same envelopes as ingestion's answers.
    scope.setErrorHandler((error, request, reply) => {
      const body = toErrorBody(error);
      if (body.status >= 500) logger.error({ err: error, reqId: request.id, url: request.url }, 'intake forward failed');
      reply.code(body.status).send(envelope(request.url, body));
    });
    const forward = (request: FastifyRequest, reply: FastifyReply, order: string[], index: number): FastifyReply => {
      const target = order[index];
      const body = Buffer.isBuffer(request.body) ? request.body : undefined;
      return reply.from(request.url, {
        getUpstream: () => target,
        // The bytes as received, in one write with the headers (a stream costs a write per chunk
        // and its end). Any contentType makes reply-from send a given body as it is; the client's
        // own Content-Type header (or none) is put back below.
        ...(body ? { body, contentType: 'application/octet-stream' } : {}),
        // Ingestion counts failed authentication per client (it trusts the gateway's X-Forwarded-For),
        // and continues the trace of the gateway's span (its traceparent replaces the client's).
        rewriteRequestHeaders: (req, headers) => {
          const forwarded = { ...headers, 'x-request-id': req.id, 'x-forwarded-for': forwardedFor(headers['x-forwarded-for'], req.socket.remoteAddress) };
          if (req.headers['content-type'] === undefined) delete forwarded['content-type'];
          else forwarded['content-type'] = req.headers['content-type'];
          return withTraceHeaders(req, forwarded);
        },
        onResponse: (_req, rep, res) => {
          upstreams.answered(target);
          // Intake's answers are small: read whole, they go out with their headers in one write.
          readAll((res as unknown as { stream: Readable }).stream).then(
            (answer) => rep.send(answer),
            (error: unknown) => {
              logger.error({ err: error, reqId: request.id, url: request.url, ingestion: target }, "intake forward failed: ingestion's answer was cut off");
              const message = "ingestion's answer was cut off; the request may have been accepted (retry with the same Idempotency-Key)";
              rep
                .code(502)
                .header('connection', 'close')
                .send(envelope(request.url, { status: 502, error: 'Bad Gateway', message }));
            },
          );
        },
        onError: (rep, { error }) => {
          if (failedBeforeSending(error)) {
            if (upstreams.refused(target)) {
              const reason = (error as Error & { cause?: Error }).cause?.message ?? error.message;
              logger.warn({ ingestion: target, reason }, 'cannot connect to ingestion; sending intake to the others first for 2 s');
            }
            // Nothing was sent: the next ingestion gets the same bytes.
            if (index + 1 < order.length) return void forward(request, rep as unknown as FastifyReply, order, index + 1);
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

/** The whole of an answer's body. */
async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return chunks.length === 1 ? chunks[0] : Buffer.concat(chunks);
}

/** The X-Forwarded-For chain with the address this request came from appended. */
function forwardedFor(chain: string | string[] | undefined, peer: string | undefined): string {
  return [...(Array.isArray(chain) ? chain : chain ? [chain] : []), peer ?? 'unknown'].join(', ');
}

function envelope(url: string, body: ErrorBody) {
  return errorEnvelope(url, body, [DEVLAKE_ROUTES]);
}
