import type { TokenCache } from '../im/caches';
import { chunks, emailKey, fingerprint, withToken, type ImClient } from '../im/im-client';
import { ImApiError, type ImCaller, type ImHttpResponse } from '../im/im-http';
import type { MessageView } from '../render/message';
import { feishuCard } from './feishu-family';

/** A Feishu or Lark custom app (`PUT /v1/integrations/im/feishu`, `…/lark`). */
export type FeishuImCredentials = { appId: string; appSecret: string };
type Creds = FeishuImCredentials;
/** Feishu/Lark codes meaning "this tenant token is invalid or expired". */
const TOKEN_INVALID = new Set([99991661, 99991663, 99991668]);
/** `contact/v3/users/batch_get_id` takes at most 50 emails per call. */
export const FEISHU_LOOKUP_BATCH = 50;

/**
 * Feishu and Lark (same API, different bases): `tenant_access_token/internal` →
 * `contact/v3/users/batch_get_id` → `im/v1/messages`.
 */
export class FeishuImClient implements ImClient<Creds> {
  readonly maxBatch = 1;
  constructor(
    readonly provider: 'feishu' | 'lark',
    private readonly http: ImCaller,
    private readonly base: string,
    private readonly tokens: TokenCache,
  ) {}

  userKey = emailKey;
  identity = (c: Creds) => fingerprint(this.provider, c.appId, c.appSecret);

  private check(path: string, res: ImHttpResponse): Record<string, unknown> {
    const code = Number(res.body.code);
    if (res.status === 200 && code === 0) return res.body;
    throw new ImApiError(this.provider, `${path} failed: HTTP ${res.status} code ${res.body.code} ${String(res.body.msg ?? '')}`, TOKEN_INVALID.has(code));
  }

  private fetchToken = (c: Creds) => async () => {
    const path = '/auth/v3/tenant_access_token/internal';
    const body = this.check(
      path,
      await this.http.call(this.provider, { method: 'POST', url: `${this.base}${path}`, json: { app_id: c.appId, app_secret: c.appSecret } }),
    );
    return { token: String(body.tenant_access_token), expiresInSec: Number(body.expire) || 7200 };
  };

  private authed<T>(c: Creds, call: (auth: Record<string, string>) => Promise<T>): Promise<T> {
    return withToken(this.tokens, this.identity(c), this.fetchToken(c), (token) => call({ authorization: `Bearer ${token}` }));
  }

  async lookup(c: Creds, keys: string[]): Promise<Map<string, string | null>> {
    const path = '/contact/v3/users/batch_get_id?user_id_type=open_id';
    const out = new Map<string, string | null>(keys.map((k) => [k, null]));
    for (const emails of chunks(keys, FEISHU_LOOKUP_BATCH)) {
      const body = await this.authed(c, async (headers) =>
        this.check(path, await this.http.call(this.provider, { method: 'POST', url: `${this.base}${path}`, headers, json: { emails } })),
      );
      const list = (body.data as { user_list?: Array<{ email?: string; user_id?: string }> } | undefined)?.user_list ?? [];
      for (const u of list) if (u.email && u.user_id) out.set(u.email.toLowerCase(), u.user_id);
    }
    return out;
  }

  async send(c: Creds, userIds: string[], view: MessageView): Promise<{ failed: string[] }> {
    const path = '/im/v1/messages?receive_id_type=open_id';
    const content = JSON.stringify(feishuCard(view));
    for (const id of userIds) {
      await this.authed(c, async (headers) =>
        this.check(
          path,
          await this.http.call(this.provider, {
            method: 'POST',
            url: `${this.base}${path}`,
            headers,
            json: { receive_id: id, msg_type: 'interactive', content },
            delivers: true,
          }),
        ),
      );
    }
    return { failed: [] };
  }
}
