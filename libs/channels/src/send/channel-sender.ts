import { Injectable } from '@nestjs/common';
import { ValidationFailed, effectiveLocale, type ChannelType, type HeraldEvent } from '@herald/domain';
import { SecretBox, SpanKind, SpanStatusCode, inSpan, secretContext, type SecretContext, type TraceSpan } from '@herald/platform';
import type { ChannelAdapter, ChannelResponse, ChannelTarget, Classification, PreparedRequest, RenderContext } from '../channel-adapter';
import { SafeHttpClient, TransportError } from '../http/safe-http-client';
import { ChannelRegistry } from '../registry';
import { renderMessage } from '../render/templated';

/** How much of a response the attempt log keeps, and a test send shows (docs/contract.md §3.6). */
export const LOGGED_BODY_CHARS = 1024;
/** Decrypted webhook URLs and secrets kept per process (keyed by place and ciphertext, so an update misses). */
const PLAINTEXT_CACHE_SIZE = 10_000;
/** Secrets shorter than this are not searched for in texts (they would match ordinary words). */
const SCRUBBED_SECRET_MIN_CHARS = 8;

/** A saved webhook's target as stored: URL and secrets encrypted (a WebhookEntity and a claimed delivery's webhook fit). */
export interface StoredEndpoint {
  id: string;
  type: ChannelType;
  urlEncrypted: string;
  secretEncrypted: string | null;
  previousSecretEncrypted: string | null;
  previousSecretExpiresAt: Date | null;
  locale: string | null;
  /** The webhook's message template for the event's type (issue 16), if any. */
  template?: string | null;
}

/** A webhook not saved yet (the console's "try it" before saving): its URL and secret as typed. */
export interface PlainEndpoint {
  type: ChannelType;
  url: string;
  secret: string | null;
  locale?: string | null;
  /** The message template for the event's type, as typed (issue 16). */
  template?: string | null;
}

export interface SendRequest {
  endpoint: StoredEndpoint | PlainEndpoint;
  event: HeraldEvent;
  context: RenderContext;
  /**
   * Checks the URL against the channel's allow-list first, with these extra hosts
   * (HERALD_EXTRA_ALLOWED_HOSTS): a test send, for which the list may have changed since the
   * webhook was saved. Deliveries are not checked again (the safe client's address rules still hold).
   */
  allowListExtraHosts?: readonly string[];
  /** Called just before the request goes out, with the target's host (never its path: a credential). */
  onSend?: (host: string) => void;
  /** With tracing on: the post becomes a client span under this one. */
  span?: TraceSpan;
  /**
   * A body other than the event's own message (a digest, issue 16): rendered for the decrypted
   * target instead of the adapter's `render`; the adapter still classifies the answer.
   */
  render?: (target: ChannelTarget) => PreparedRequest;
}

export interface SendResult {
  /** The channel's verdict. Its reason names the host, never the URL or a secret. */
  classification: Classification;
  /** The HTTP status, null when no answer came. */
  statusCode: number | null;
  /** The first {@link LOGGED_BODY_CHARS} characters of the answer, with the URL and secrets taken out. */
  responseBody: string | null;
  startedAt: Date;
  durationMs: number;
  /** Why the webhook's template could not be used, so the built-in message went out; null otherwise. */
  templateError: string | null;
}

/** What a stored target that does not decrypt means, and how to fix it. No retry can help. */
export const UNDECRYPTABLE_TARGET =
  "the webhook's stored URL or secret cannot be decrypted: HERALD_ENCRYPTION_KEY changed since it was saved (or the value is damaged); restore the key it was saved with, or set the webhook's url (and secret) again";

/**
 * The one way a message reaches a channel, for deliveries and test sends alike: decrypt the
 * stored target (cached), pick the language, render with the channel's adapter (signing
 * included), send through the safe HTTP client, let the adapter classify the answer, and keep the
 * URL and secrets out of whatever is reported. It never throws for a problem of the target or
 * the answer: every outcome is a classification (an undecryptable target is `rejected`, an
 * internal error while rendering or sending is `retryable`), so a caller records it as an attempt.
 * Rate limits, direct messages and retries are the caller's.
 */
@Injectable()
export class ChannelSender {
  private readonly plaintexts = new Map<string, string>();

  constructor(
    private readonly channels: ChannelRegistry,
    private readonly http: SafeHttpClient,
    private readonly secrets: SecretBox,
  ) {}

  async send(request: SendRequest): Promise<SendResult> {
    const startedAt = new Date();
    const adapter = this.channels.get(request.endpoint.type);
    let target: ChannelTarget | null = null;
    let classification: Classification;
    let statusCode: number | null = null;
    let responseBody: string | null = null;
    let templateError: string | null = null;
    try {
      target = 'urlEncrypted' in request.endpoint ? this.target(request.endpoint, adapter, startedAt.getTime()) : plainTarget(request.endpoint, adapter);
    } catch {
      return {
        classification: { kind: 'rejected', reason: UNDECRYPTABLE_TARGET },
        statusCode: null,
        responseBody: null,
        startedAt,
        durationMs: Date.now() - startedAt.getTime(),
        templateError: null,
      };
    }
    try {
      if (request.allowListExtraHosts) adapter.validateUrl(target.url, request.allowListExtraHosts);
      // A digest (issue 16) brings its own body and is not templated: a template speaks for one
      // event. Otherwise through the webhook's template when it has one for the event's type; one
      // that fails to render gives the built-in message, and the caller says why (issue 16).
      let prepared: PreparedRequest;
      if (request.render) {
        prepared = request.render(target);
      } else {
        const rendered = renderMessage(adapter, request.event, target, request.context);
        templateError = rendered.templateError;
        prepared = rendered.request;
      }
      request.onSend?.(hostOf(prepared.url));
      try {
        const response = request.span ? await this.tracedSend(request.span, prepared) : await this.http.send(prepared);
        statusCode = response.statusCode;
        responseBody = scrub(response.body, target).slice(0, LOGGED_BODY_CHARS);
        classification = adapter.classify(response, prepared);
      } catch (err) {
        if (!(err instanceof TransportError)) throw err;
        classification = err.retryable ? { kind: 'retryable', reason: err.message } : { kind: 'rejected', reason: err.message };
      }
    } catch (err) {
      // Never thrown on: a delivery would otherwise be retried by BullMQ without a trace in its log.
      // A URL the allow-list refuses (ValidationFailed) is the target's fault: no retry helps.
      const message = (err as Error).message ?? String(err);
      classification =
        err instanceof ValidationFailed
          ? { kind: 'rejected', reason: message }
          : { kind: 'retryable', reason: `internal error rendering or sending: ${message}` };
    }
    if (classification.kind !== 'delivered') classification = { ...classification, reason: scrub(classification.reason, target) };
    return { classification, statusCode, responseBody, startedAt, durationMs: Date.now() - startedAt.getTime(), templateError };
  }

  /**
   * A stored target, decrypted: URL, signing secret, the previous secret while a rotation keeps it
   * valid (custom webhooks then sign with both), and the language. Throws when a value does not
   * decrypt with the configured keys.
   */
  target(endpoint: StoredEndpoint, adapter: Pick<ChannelAdapter, 'defaultLocale'> = this.channels.get(endpoint.type), nowMs = Date.now()): ChannelTarget {
    const previousValid = endpoint.previousSecretEncrypted && endpoint.previousSecretExpiresAt && endpoint.previousSecretExpiresAt.getTime() > nowMs;
    return {
      url: this.decrypt(endpoint.urlEncrypted, secretContext.webhookUrl(endpoint.id)),
      secret: endpoint.secretEncrypted ? this.decrypt(endpoint.secretEncrypted, secretContext.webhookSecret(endpoint.id)) : null,
      previousSecret: previousValid ? this.decrypt(endpoint.previousSecretEncrypted as string, secretContext.webhookSecret(endpoint.id)) : null,
      locale: effectiveLocale(endpoint.locale, adapter.defaultLocale),
      template: endpoint.template ?? null,
    };
  }

  /**
   * AES-GCM per attempt costs more than the rest of rendering; a ciphertext always decrypts to the
   * same plaintext in the same place, so the answer is cached (bounded, oldest entry evicted
   * first) by place and ciphertext: one copied onto another webhook must miss, and fail to open.
   */
  private decrypt(ciphertext: string, context: SecretContext): string {
    const key = `${context.column}:${context.row}:${ciphertext}`;
    let plain = this.plaintexts.get(key);
    if (plain === undefined) {
      plain = this.secrets.decrypt(ciphertext, context);
      if (this.plaintexts.size >= PLAINTEXT_CACHE_SIZE) this.plaintexts.delete(this.plaintexts.keys().next().value as string);
      this.plaintexts.set(key, plain);
    }
    return plain;
  }

  /** The post as a client span: method, host and port, status code (never the URL: it is a credential). */
  private async tracedSend(parent: TraceSpan, prepared: PreparedRequest): Promise<ChannelResponse> {
    let host = 'unknown';
    let port = 0;
    try {
      const url = new URL(prepared.url);
      host = url.hostname;
      port = Number(url.port) || (url.protocol === 'https:' ? 443 : 80);
    } catch {
      // the send refuses it, and the span says why
    }
    return inSpan(
      prepared.method,
      { kind: SpanKind.CLIENT, parent, attributes: { 'http.request.method': prepared.method, 'server.address': host, 'server.port': port } },
      async (span) => {
        const response = await this.http.send(prepared);
        span.setAttribute('http.response.status_code', response.statusCode);
        if (response.statusCode >= 400) span.setStatus({ code: SpanStatusCode.ERROR });
        return response;
      },
    );
  }
}

function plainTarget(endpoint: PlainEndpoint, adapter: Pick<ChannelAdapter, 'defaultLocale'>): ChannelTarget {
  return {
    url: endpoint.url,
    secret: endpoint.secret,
    previousSecret: null,
    locale: effectiveLocale(endpoint.locale, adapter.defaultLocale),
    template: endpoint.template ?? null,
  };
}

/** The host of a URL, for logs and the watchdog (never its path or query: they carry credentials). */
export function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return 'an unparsable URL';
  }
}

/** Whatever an error or an answer says, the URL (a credential) and the secrets never leave: the URL becomes its host. */
export function scrub(text: string, target: ChannelTarget | null): string {
  if (!target) return text;
  let out = text;
  if (target.url && out.includes(target.url)) out = out.split(target.url).join(hostnameOf(target.url));
  for (const secret of [target.secret, target.previousSecret]) {
    if (secret && secret.length >= SCRUBBED_SECRET_MIN_CHARS && out.includes(secret)) out = out.split(secret).join('<secret>');
  }
  return out;
}

function hostnameOf(url: string): string {
  try {
    return new URL(url).hostname || '<webhook URL>';
  } catch {
    return '<webhook URL>';
  }
}
