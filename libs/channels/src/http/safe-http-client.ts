import { Inject, Injectable, Optional, type OnApplicationShutdown } from '@nestjs/common';
import { Agent, errors as undiciErrors, request } from 'undici';
import { HeraldConfig } from '@herald/platform';
import type { ChannelResponse, PreparedRequest } from '../channel-adapter';
import { TargetRejected, assertLiteralTargetAllowed, systemResolver, vettedLookup, type HostResolver } from './target-policy';

/** How much of a response is read; the rest is discarded (a webhook answer is small). */
export const RESPONSE_CAP_BYTES = 64 * 1024;

/** A send that never got an HTTP answer: the outcome is retryable unless the target itself is refused. */
export class TransportError extends Error {
  constructor(
    message: string,
    readonly retryable: boolean,
  ) {
    super(message);
    this.name = 'TransportError';
  }
}

export type { HostResolver } from './target-policy';
export const HOST_RESOLVER = Symbol('HOST_RESOLVER');

/**
 * The only way Herald talks to webhooks (docs/contract.md §6.6): keep-alive connection pools, one deadline
 * per attempt, no redirects, a response-size cap, and an SSRF guard. The guard resolves the host once,
 * refuses private, loopback, link-local, CGNAT, multicast and unspecified addresses, and the
 * connection uses exactly the addresses it vetted, so DNS rebinding cannot slip past it.
 */
@Injectable()
export class SafeHttpClient implements OnApplicationShutdown {
  private readonly agent: Agent;
  private readonly allowPrivate: boolean;
  private readonly timeoutMs: number;

  private readonly resolve: HostResolver;

  constructor(config: HeraldConfig, @Optional() @Inject(HOST_RESOLVER) resolver?: HostResolver) {
    this.resolve = resolver ?? systemResolver;
    this.allowPrivate = config.allowPrivateTargets;
    this.timeoutMs = config.deliveryTimeoutMs;
    this.agent = new Agent({
      keepAliveTimeout: 30_000,
      keepAliveMaxTimeout: 120_000,
      // Backstops only: each request's AbortSignal is the deadline (undici's own timers run on a
      // coarse clock and restart per phase).
      headersTimeout: config.deliveryTimeoutMs * 2,
      bodyTimeout: config.deliveryTimeoutMs * 2,
      connect: { timeout: config.deliveryTimeoutMs, lookup: vettedLookup(this.resolve, this.allowPrivate) },
    });
  }

  /** Checks a target before any connection: IP literals never reach the DNS hook. */
  assertTargetAllowed(url: URL): void {
    assertLiteralTargetAllowed(url, this.allowPrivate);
  }

  async send(prepared: PreparedRequest, timeoutMs = this.timeoutMs): Promise<ChannelResponse> {
    const url = parseTarget(prepared.url);
    try {
      this.assertTargetAllowed(url);
    } catch (err) {
      throw new TransportError((err as Error).message, false);
    }
    // One deadline for the whole exchange (connect, headers, every body chunk): separate timers
    // per phase let an attempt run two or three times its budget (issue 10). Cleared when the
    // exchange ends: AbortSignal.timeout's timer would fire anyway, building an error and an abort
    // event for every request long after its answer (about 1 % of a draining worker's CPU).
    const controller = new AbortController();
    const deadline = controller.signal;
    const timer = setTimeout(() => controller.abort(new DOMException(`deadline of ${timeoutMs} ms passed`, 'TimeoutError')), timeoutMs);
    timer.unref();
    try {
      const response = await request(url, {
        method: prepared.method,
        headers: prepared.headers,
        body: prepared.body,
        dispatcher: this.agent,
        signal: deadline,
      });
      const body = await readCapped(response.body, RESPONSE_CAP_BYTES);
      return { statusCode: response.statusCode, headers: response.headers, body };
    } catch (err) {
      throw toTransportError(deadline.aborted ? deadline.reason : err, url.hostname, timeoutMs);
    } finally {
      clearTimeout(timer);
    }
  }

  async onApplicationShutdown(): Promise<void> {
    await this.agent.close();
  }
}

/**
 * A stored URL that no longer parses (it was checked when saved) would fail every attempt the same
 * way: refused, and without echoing it (it is a credential).
 */
function parseTarget(raw: string): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new TransportError('the webhook URL is not a valid absolute URL: update the webhook', false);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new TransportError(`target ${url.hostname || 'of the webhook'} is not allowed: scheme ${url.protocol.replace(':', '')} (use http or https)`, false);
  }
  return url;
}

/** Reads at most `cap` bytes; the request's deadline signal ends a body that keeps trickling in. */
async function readCapped(body: AsyncIterable<Buffer> & { destroy(): void }, cap: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    chunks.push(chunk);
    size += chunk.length;
    if (size >= cap) {
      body.destroy();
      break;
    }
  }
  return Buffer.concat(chunks).subarray(0, cap).toString('utf8');
}

function toTransportError(err: unknown, host: string, timeoutMs: number): TransportError {
  const e = err as { name?: string; code?: string; message?: string; cause?: { code?: string; message?: string } };
  if (e?.code === 'EHERALDTARGET' || e?.cause?.code === 'EHERALDTARGET' || err instanceof TargetRejected) {
    return new TransportError((e.cause?.code === 'EHERALDTARGET' ? e.cause.message : e.message) ?? 'target refused', false);
  }
  if (
    e?.name === 'TimeoutError' ||
    e?.name === 'AbortError' ||
    err instanceof undiciErrors.HeadersTimeoutError ||
    err instanceof undiciErrors.BodyTimeoutError ||
    e?.code === 'UND_ERR_CONNECT_TIMEOUT'
  ) {
    return new TransportError(`timeout: ${host} did not answer within ${timeoutMs} ms`, true);
  }
  const code = e?.code ?? e?.cause?.code;
  const detail = code ? `${code}` : (e?.message ?? 'unknown error');
  return new TransportError(`network error reaching ${host}: ${detail}`, true);
}
