import { Readable } from 'node:stream';
import replyFrom from '@fastify/reply-from';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { DEVLAKE_PATH, apiEnvelope, devlakeEnvelope, toErrorBody, type ErrorBody, type HeraldConfig } from '@herald/platform';

/** Intake paths the gateway forwards to ingestion unchanged (SPEC §1, §5). */
const FORWARDED: Array<{ method: 'POST'; url: string }> = [
  { method: 'POST', url: '/v1/projects/:key/events' },
  { method: 'POST', url: '/v1/projects/:key/events/batch' },
  ...['/api/plugins/webhook/*', '/plugins/webhook/*', '/api/rest/plugins/webhook/*', '/rest/plugins/webhook/*'].map((url) => ({
    method: 'POST' as const,
    url,
  })),
];

/**
 * Forwards intake requests to ingestion byte for byte (the body is streamed, not parsed, here), with the
 * request id, so ingestion authenticates, validates and answers exactly as it would directly.
 * When ingestion cannot be reached the caller gets 503 with Retry-After: nothing was accepted.
 */
export async function registerIntakeProxy(fastify: FastifyInstance, config: HeraldConfig): Promise<void> {
  await fastify.register(async (scope) => {
    await scope.register(replyFrom, {
      base: config.ingestionUrl,
      undici: { connections: 128, pipelining: 1, keepAliveTimeout: 30_000, headersTimeout: 30_000, bodyTimeout: 30_000 },
      disableRequestLogging: true,
    });
    // The body is forwarded unread (ingestion decides how to read it), but the size limit is
    // enforced here too, so an oversized body gets its 413 instead of a broken forward. It is
    // handed on as a stream: reply-from would re-encode a parsed or Buffer JSON body.
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: config.maxBodyBytes }, (_request, body, done) => done(null, Readable.from([body])));
    // Errors raised here (body too large) use the same envelopes as ingestion's answers.
    scope.setErrorHandler((error, request, reply) => {
      const body = toErrorBody(error);
      reply.code(body.status).send(envelope(request.url, body));
    });
    for (const route of FORWARDED) {
      scope.route({
        method: route.method,
        url: route.url,
        handler: (request: FastifyRequest, reply: FastifyReply) =>
          reply.from(request.url, {
            rewriteRequestHeaders: (req, headers) => ({ ...headers, 'x-request-id': req.id }),
            onError: (rep, { error }) => {
              const body = { status: 503, error: 'Service Unavailable', message: `intake is unavailable (${error.message}); nothing was accepted, retry later` };
              rep.code(503).header('retry-after', '5').send(envelope(request.url, body));
            },
          }),
      });
    }
  });
}

function envelope(url: string, body: ErrorBody) {
  return DEVLAKE_PATH.test(url.split('?')[0]) ? devlakeEnvelope(body) : apiEnvelope(body);
}
