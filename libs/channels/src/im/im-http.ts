import { AsyncLocalStorage } from 'node:async_hooks';
import { Inject, Injectable, Optional, type OnApplicationShutdown } from '@nestjs/common';
import { Agent, request, type Dispatcher } from 'undici';
import { HeraldConfig } from '@herald/platform';
import { HOST_RESOLVER } from '../http/safe-http-client';
import { assertLiteralTargetAllowed, systemResolver, vettedLookup, type HostResolver } from '../http/target-policy';

/** An IM API failed (transport, HTTP status or the provider's own error code). */
export class ImApiError extends Error {
  constructor(
    readonly provider: string,
    message: string,
    readonly tokenInvalid = false,
    /**
     * True when a message-sending call got no verdict (unreachable, timed out, 5xx or an answer
     * that is not the provider's JSON): the provider may have delivered it, so it must not be
     * sent again. False is a definite refusal: nothing was delivered.
     */
    readonly outcomeUnknown = false,
  ) {
    super(`${provider} API: ${message}`);
    this.name = 'ImApiError';
  }
}

export interface ImHttpRequest {
  method: 'GET' | 'POST';
  url: string;
  headers?: Record<string, string>;
  json?: unknown;
  form?: Record<string, string>;
  /** This call delivers a message: a failure without a verdict is then tagged `outcomeUnknown`. */
  delivers?: boolean;
}

export interface ImHttpResponse {
  status: number;
  body: Record<string, unknown>;
}

/** What an IM client calls its provider with (an {@link ImHttp}, or its SSRF-guarded view). */
export interface ImCaller {
  call(provider: string, req: ImHttpRequest): Promise<ImHttpResponse>;
}

/**
 * HTTP for the IM APIs. Each call ends at the delivery timeout (one AbortSignal for connect,
 * headers and body), which Bytebase's clients lacked; calls made inside {@link ImHttp.withBudget}
 * also share that budget's deadline, so a chain of lookups and sends for one delivery cannot add up
 * past it.
 *
 * Two ways out: the default bases (the public APIs, or the operator's HERALD_*_API_URL variables)
 * are deployment configuration and go out directly; a base stored with an integration (`apiBaseUrl`,
 * set through the API) is user input and goes through {@link ImHttp.guarded}, the webhooks' SSRF
 * policy: no private, loopback or link-local address, literal or resolved, unless
 * HERALD_ALLOW_PRIVATE_TARGETS is set.
 */
@Injectable()
export class ImHttp implements ImCaller, OnApplicationShutdown {
  private readonly timeoutMs: number;
  private readonly allowPrivate: boolean;
  private readonly budget = new AsyncLocalStorage<{ deadline: number }>();
  private readonly guardedAgent: Agent | undefined;
  /** The same calls, through the SSRF guard: for a base stored with an integration. */
  readonly guarded: ImCaller;

  constructor(config: HeraldConfig, @Optional() @Inject(HOST_RESOLVER) resolver?: HostResolver) {
    this.timeoutMs = config.deliveryTimeoutMs;
    this.allowPrivate = config.allowPrivateTargets;
    this.guardedAgent = this.allowPrivate
      ? undefined
      : new Agent({ connect: { timeout: config.deliveryTimeoutMs, lookup: vettedLookup(resolver ?? systemResolver, false) } });
    this.guarded = { call: (provider, req) => this.send(provider, req, true) };
  }

  async onApplicationShutdown(): Promise<void> {
    await this.guardedAgent?.close();
  }

  /** Runs `work` with every IM call inside it ending by `totalMs` from now. */
  withBudget<T>(totalMs: number, work: () => Promise<T>): Promise<T> {
    return this.budget.run({ deadline: Date.now() + totalMs }, work);
  }

  call(provider: string, req: ImHttpRequest): Promise<ImHttpResponse> {
    return this.send(provider, req, false);
  }

  private async send(provider: string, req: ImHttpRequest, guard: boolean): Promise<ImHttpResponse> {
    const headers: Record<string, string> = { 'user-agent': 'Herald-Webhooks/1', ...req.headers };
    let body: string | undefined;
    if (req.json !== undefined) {
      headers['content-type'] = 'application/json; charset=utf-8';
      body = JSON.stringify(req.json);
    } else if (req.form) {
      headers['content-type'] = 'application/x-www-form-urlencoded';
      body = new URLSearchParams(req.form).toString();
    }
    const url = new URL(req.url);
    const path = url.pathname;
    const unknown = req.delivers === true;
    let dispatcher: Dispatcher | undefined;
    if (guard) {
      // Refused before anything is sent: a definite "no".
      try {
        assertLiteralTargetAllowed(url, this.allowPrivate);
      } catch (err) {
        throw new ImApiError(provider, `${path} not called: ${(err as Error).message} (the integration's apiBaseUrl; HERALD_ALLOW_PRIVATE_TARGETS allows it)`);
      }
      dispatcher = this.guardedAgent;
    }
    const deadline = this.budget.getStore()?.deadline;
    const timeoutMs = deadline === undefined ? this.timeoutMs : Math.min(this.timeoutMs, deadline - Date.now());
    // Nothing was sent: a definite "no", so a claimed user is released for the next attempt.
    if (timeoutMs <= 0) throw new ImApiError(provider, `${path} not called: the delivery's time budget for direct messages is spent`);
    let status: number;
    let text: string;
    try {
      const res = await request(req.url, { method: req.method, headers, body, signal: AbortSignal.timeout(timeoutMs), ...(dispatcher ? { dispatcher } : {}) });
      status = res.statusCode;
      text = await res.body.text();
    } catch (err) {
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      if ((err as { code?: string }).code === 'EHERALDTARGET' || cause?.code === 'EHERALDTARGET') {
        // The guard refused the address before connecting: nothing was sent.
        throw new ImApiError(
          provider,
          `${path} not called: ${cause?.code === 'EHERALDTARGET' ? cause.message : (err as Error).message} (the integration's apiBaseUrl; HERALD_ALLOW_PRIVATE_TARGETS allows it)`,
        );
      }
      // The request may have reached the provider before the connection broke or the timer fired.
      const reason =
        (err as Error).name === 'TimeoutError' || (err as Error).name === 'AbortError'
          ? `timed out after ${timeoutMs} ms`
          : ((err as { code?: string }).code ?? (err as Error).message);
      throw new ImApiError(provider, `${path} unreachable: ${reason}`, false, unknown);
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) {
      throw new ImApiError(provider, `${path} answered HTTP ${status} without JSON`, false, unknown);
    }
    // A 5xx says the provider failed somewhere, not that it refused: the message may be out.
    if (status >= 500) throw new ImApiError(provider, `${path} answered HTTP ${status}: ${text.slice(0, 200)}`, false, unknown);
    return { status, body: parsed as Record<string, unknown> };
  }
}
