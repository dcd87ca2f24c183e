import createClient, { type Client } from 'openapi-fetch';
import { HeraldApiError } from './errors';
import type { paths } from './generated/openapi';

export interface HeraldClientOptions {
  /** Where the gateway answers, e.g. `http://localhost:8080` (or `''` in a page it serves). */
  baseUrl: string;
  /** The admin token or a project API key; a function is asked on every request (sign-out, switch). */
  token: string | (() => string | null | undefined);
  fetch?: typeof fetch;
}

/** openapi-fetch over the generated `paths`: every route, parameter and answer is typed. */
export type HeraldClient = Client<paths>;

export function createHeraldClient(options: HeraldClientOptions): HeraldClient {
  const client = createClient<paths>({ baseUrl: options.baseUrl.replace(/\/+$/, ''), fetch: options.fetch });
  client.use({
    onRequest({ request }) {
      const token = typeof options.token === 'function' ? options.token() : options.token;
      if (token) request.headers.set('authorization', `Bearer ${token}`);
      return request;
    },
  });
  return client;
}

/**
 * The data of an openapi-fetch answer, or a `HeraldApiError` carrying the status, the message,
 * the fields a 400 names and Retry-After.
 */
export async function unwrap<T>(call: Promise<{ data?: T; error?: unknown; response: Response }>): Promise<T> {
  const { data, error, response } = await call;
  if (!response.ok) throw await HeraldApiError.from(response, error);
  return data as T;
}
