import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeImCall {
  provider: string;
  path: string;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/**
 * Local stand-ins for the Slack, Feishu/Lark, WeCom and DingTalk APIs used for direct messages
 * (docs/contract.md §7.4), answering as the real ones do. Point HERALD_*_API_URL at `env`, or an integration's
 * apiBaseUrl at `base` + `/<provider>`. Knobs: known users,
 * tokens that expire after N uses (the next call answers "token invalid"), and forced failures.
 */
export class FakeImApis {
  readonly calls: FakeImCall[] = [];
  /** email or mobile → provider user id */
  readonly users = new Map<string, string>();
  /** Sends to these user ids fail. */
  readonly failingUsers = new Set<string>();
  /** A token stops working after this many uses (then "expired"). */
  tokenUses = Infinity;
  /** When set, user lookups answer a server-side API error. */
  lookupError = false;
  private server?: Server;
  private tokenSeq = 0;
  private readonly tokenUsed = new Map<string, number>();

  static async start(): Promise<FakeImApis> {
    const fake = new FakeImApis();
    fake.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        const url = new URL(req.url ?? '/', 'http://fake');
        const [, provider, ...rest] = url.pathname.split('/');
        const path = `/${rest.join('/')}`;
        fake.calls.push({ provider, path, headers: req.headers, body });
        const [status, answer] = fake.answer(provider, path, url.searchParams, req.headers, body);
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(answer));
      });
    });
    await new Promise<void>((resolve) => fake.server?.listen(0, '127.0.0.1', resolve));
    return fake;
  }

  get base(): string {
    return `http://127.0.0.1:${(this.server?.address() as AddressInfo).port}`;
  }

  /** HERALD_*_API_URL values pointing here. */
  get env(): Record<string, string> {
    return {
      HERALD_SLACK_API_URL: `${this.base}/slack`,
      HERALD_FEISHU_API_URL: `${this.base}/feishu`,
      HERALD_LARK_API_URL: `${this.base}/lark`,
      HERALD_WECOM_API_URL: `${this.base}/wecom`,
      HERALD_DINGTALK_API_URL: `${this.base}/dingtalk`,
      HERALD_DINGTALK_OAPI_URL: `${this.base}/dingtalk-oapi`,
    };
  }

  callsTo(provider: string, path: string): FakeImCall[] {
    return this.calls.filter((c) => c.provider === provider && c.path === path);
  }

  private issueToken(): string {
    const token = `tok-${++this.tokenSeq}`;
    this.tokenUsed.set(token, 0);
    return token;
  }

  /** True when the token is known and still fresh; counts the use. */
  private useToken(token: string | null | undefined): boolean {
    if (!token || !this.tokenUsed.has(token)) return false;
    const used = (this.tokenUsed.get(token) ?? 0) + 1;
    this.tokenUsed.set(token, used);
    return used <= this.tokenUses;
  }

  private answer(
    provider: string,
    path: string,
    query: URLSearchParams,
    headers: Record<string, string | string[] | undefined>,
    raw: string,
  ): [number, unknown] {
    const json = raw && raw.startsWith('{') ? JSON.parse(raw) : Object.fromEntries(new URLSearchParams(raw));
    const bearer = String(headers.authorization ?? '').replace(/^Bearer /, '');
    // Lark is Feishu's API on another host; DingTalk's two hosts may also share one base (an
    // integration's own apiBaseUrl serves both), so its oapi paths are answered under either prefix.
    const family = provider === 'lark' ? 'feishu' : provider === 'dingtalk' && path.startsWith('/topapi/') ? 'dingtalk-oapi' : provider;
    switch (`${family}${path}`) {
      case 'slack/users.lookupByEmail': {
        if (this.lookupError) return [200, { ok: false, error: 'internal_error' }];
        const id = this.users.get(query.get('email') ?? '');
        return [200, id ? { ok: true, user: { id } } : { ok: false, error: 'users_not_found' }];
      }
      case 'slack/conversations.open':
        return [200, { ok: true, channel: { id: `D-${json.users}` } }];
      case 'slack/chat.postMessage': {
        const user = String(json.channel).replace(/^D-/, '');
        return [200, this.failingUsers.has(user) ? { ok: false, error: 'cannot_dm_bot' } : { ok: true, ts: '1.2' }];
      }
      case 'feishu/auth/v3/tenant_access_token/internal':
        return [200, { code: 0, msg: 'ok', tenant_access_token: this.issueToken(), expire: 7200 }];
      case 'feishu/contact/v3/users/batch_get_id': {
        if (!this.useToken(bearer)) return [400, { code: 99991663, msg: 'Invalid access token for authorization.' }];
        if (this.lookupError) return [500, { code: 1, msg: 'internal error' }];
        const list = (json.emails as string[]).map((email) => (this.users.has(email) ? { email, user_id: this.users.get(email) } : { email }));
        return [200, { code: 0, msg: 'success', data: { user_list: list } }];
      }
      case 'feishu/im/v1/messages': {
        if (!this.useToken(bearer)) return [400, { code: 99991663, msg: 'Invalid access token for authorization.' }];
        return [
          200,
          this.failingUsers.has(json.receive_id) ? { code: 230013, msg: 'Bot has NO availability to this user.' } : { code: 0, msg: 'success', data: {} },
        ];
      }
      case 'wecom/gettoken':
        return [200, { errcode: 0, errmsg: 'ok', access_token: this.issueToken(), expires_in: 7200 }];
      case 'wecom/user/get_userid_by_email': {
        if (!this.useToken(query.get('access_token'))) return [200, { errcode: 42001, errmsg: 'access_token expired' }];
        if (this.lookupError) return [200, { errcode: -1, errmsg: 'system busy' }];
        const id = this.users.get(json.email);
        return [200, id ? { errcode: 0, errmsg: 'ok', userid: id } : { errcode: 46004, errmsg: 'user no exist' }];
      }
      case 'wecom/message/send': {
        if (!this.useToken(query.get('access_token'))) return [200, { errcode: 42001, errmsg: 'access_token expired' }];
        const invalid = String(json.touser)
          .split('|')
          .filter((u) => this.failingUsers.has(u));
        return [200, { errcode: 0, errmsg: 'ok', invaliduser: invalid.join('|') }];
      }
      case 'dingtalk/v1.0/oauth2/accessToken':
        return [200, { accessToken: this.issueToken(), expireIn: 7200 }];
      case 'dingtalk-oapi/topapi/v2/user/getbymobile': {
        if (!this.useToken(query.get('access_token'))) return [200, { errcode: 88, errmsg: 'access_token expired' }];
        if (this.lookupError) return [200, { errcode: -1, errmsg: 'system busy' }];
        const id = this.users.get(json.mobile);
        return [200, id ? { errcode: 0, errmsg: 'ok', result: { userid: id } } : { errcode: 60121, errmsg: '找不到该用户' }];
      }
      case 'dingtalk/v1.0/robot/oToMessages/batchSend': {
        if (!this.useToken(String(headers['x-acs-dingtalk-access-token'] ?? ''))) return [401, { code: 'InvalidAuthentication', message: 'token invalid' }];
        return [
          200,
          { processQueryKey: 'q1', invalidStaffIdList: (json.userIds as string[]).filter((u) => this.failingUsers.has(u)), flowControlledStaffIdList: [] },
        ];
      }
      default:
        return [404, { error: `fake has no ${provider}${path}` }];
    }
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => {
      this.server?.closeAllConnections();
      this.server?.close(() => resolve());
    });
  }
}
