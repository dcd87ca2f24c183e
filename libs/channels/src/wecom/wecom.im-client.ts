import type { TokenCache } from '../im/caches';
import { emailKey, fingerprint, withToken, type ImClient } from '../im/im-client';
import { ImApiError, type ImCaller, type ImHttpResponse } from '../im/im-http';
import type { MessageView } from '../render/message';
import { WECOM_APP_MARKDOWN_BYTES, wecomMarkdown } from './wecom.adapter';

/** A WeCom self-built app (`PUT /v1/integrations/im/wecom`). */
export type WecomImCredentials = { corpId: string; agentId: number; secret: string };
type Creds = WecomImCredentials;

/** invalid / expired / missing access_token (Bytebase checked these after returning, so never). */
const TOKEN_INVALID = new Set([40014, 42001, 41001]);
const USER_NOT_FOUND = 46004;

/** WeCom app: `gettoken` → `user/get_userid_by_email` → `message/send` (one call for all users). */
export class WecomImClient implements ImClient<Creds> {
  readonly provider = 'wecom' as const;
  // message/send takes up to 1000 user ids in `touser`.
  readonly maxBatch = 1000;
  constructor(
    private readonly http: ImCaller,
    private readonly base: string,
    private readonly tokens: TokenCache,
  ) {}

  userKey = emailKey;
  identity = (c: Creds) => fingerprint('wecom', c.corpId, c.agentId, c.secret);

  private check(path: string, res: ImHttpResponse, allow: number[] = []): Record<string, unknown> {
    const code = Number(res.body.errcode);
    if (res.status === 200 && (code === 0 || allow.includes(code))) return res.body;
    throw new ImApiError('wecom', `${path} failed: HTTP ${res.status} errcode ${res.body.errcode} ${String(res.body.errmsg ?? '')}`, TOKEN_INVALID.has(code));
  }

  private fetchToken = (c: Creds) => async () => {
    const query = new URLSearchParams({ corpid: c.corpId, corpsecret: c.secret });
    const body = this.check('/gettoken', await this.http.call('wecom', { method: 'GET', url: `${this.base}/gettoken?${query}` }));
    return { token: String(body.access_token), expiresInSec: Number(body.expires_in) || 7200 };
  };

  private authed<T>(c: Creds, call: (token: string) => Promise<T>): Promise<T> {
    return withToken(this.tokens, this.identity(c), this.fetchToken(c), call);
  }

  async lookup(c: Creds, keys: string[]): Promise<Map<string, string | null>> {
    const out = new Map<string, string | null>();
    for (const email of keys) {
      let found: string | null = null;
      // Work (1) and then personal (2) email addresses.
      for (const emailType of [1, 2]) {
        const body = await this.authed(c, async (token) =>
          this.check(
            '/user/get_userid_by_email',
            await this.http.call('wecom', {
              method: 'POST',
              url: `${this.base}/user/get_userid_by_email?access_token=${encodeURIComponent(token)}`,
              json: { email, email_type: emailType },
            }),
            [USER_NOT_FOUND],
          ),
        );
        if (Number(body.errcode) === 0 && body.userid) {
          found = String(body.userid);
          break;
        }
      }
      out.set(email, found);
    }
    return out;
  }

  async send(c: Creds, userIds: string[], view: MessageView): Promise<{ failed: string[] }> {
    const body = await this.authed(c, async (token) =>
      this.check(
        '/message/send',
        await this.http.call('wecom', {
          method: 'POST',
          url: `${this.base}/message/send?access_token=${encodeURIComponent(token)}`,
          json: { touser: userIds.join('|'), msgtype: 'markdown', agentid: c.agentId, markdown: { content: wecomMarkdown(view, WECOM_APP_MARKDOWN_BYTES) } },
          delivers: true,
        }),
      ),
    );
    const invalid = String(body.invaliduser ?? '')
      .split('|')
      .filter(Boolean);
    return { failed: userIds.filter((id) => invalid.includes(id)) };
  }
}
