import { Injectable } from '@nestjs/common';
import { request } from 'undici';
import { HeraldConfig } from '@herald/platform';

/** An IM API failed (transport, HTTP status or the provider's own error code). */
export class ImApiError extends Error {
  constructor(readonly provider: string, message: string, readonly tokenInvalid = false) {
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
}

export interface ImHttpResponse {
  status: number;
  body: Record<string, unknown>;
}

/**
 * HTTP for the IM APIs. Their bases are operator configuration (HERALD_*_API_URL), not user input,
 * so the webhook SSRF guard does not apply; each call has the delivery timeout, which Bytebase's
 * clients lacked.
 */
@Injectable()
export class ImHttp {
  private readonly timeoutMs: number;
  constructor(config: HeraldConfig) {
    this.timeoutMs = config.deliveryTimeoutMs;
  }

  async call(provider: string, req: ImHttpRequest): Promise<ImHttpResponse> {
    const headers: Record<string, string> = { 'user-agent': 'Herald-Webhooks/1', ...req.headers };
    let body: string | undefined;
    if (req.json !== undefined) {
      headers['content-type'] = 'application/json; charset=utf-8';
      body = JSON.stringify(req.json);
    } else if (req.form) {
      headers['content-type'] = 'application/x-www-form-urlencoded';
      body = new URLSearchParams(req.form).toString();
    }
    let status: number;
    let text: string;
    try {
      const res = await request(req.url, { method: req.method, headers, body, signal: AbortSignal.timeout(this.timeoutMs) });
      status = res.statusCode;
      text = await res.body.text();
    } catch (err) {
      throw new ImApiError(provider, `${new URL(req.url).pathname} unreachable: ${(err as { code?: string }).code ?? (err as Error).message}`);
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) {
      throw new ImApiError(provider, `${new URL(req.url).pathname} answered HTTP ${status} without JSON`);
    }
    return { status, body: parsed as Record<string, unknown> };
  }
}
