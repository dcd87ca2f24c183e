import type { EventPerson } from '@herald/domain';
import type { TokenCache } from '../im/caches';
import { fingerprint, withToken, type ImClient } from '../im/im-client';
import { ImApiError, type ImCaller } from '../im/im-http';
import { dingtalkMobile, type MessageView } from '../render/message';
import { DINGTALK_DM_PARAM_BYTES, dingtalkMarkdown } from './dingtalk.adapter';

/** A DingTalk internal app with the Robot capability (`PUT /v1/integrations/im/dingtalk`). */
export type DingtalkImCredentials = { clientId: string; clientSecret: string; robotCode: string };
type Creds = DingtalkImCredentials;

const OAPI_TOKEN_INVALID = new Set([40014, 42001, 88]);
const USER_NOT_FOUND = 60121;

/**
 * DingTalk: `oauth2/accessToken` → `topapi/v2/user/getbymobile` → `robot/oToMessages/batchSend`.
 * Users are matched by mobile number, as DingTalk has no lookup by email for robots. The oapi call
 * carries its token from the first request (Bytebase added it after building the request).
 */
export class DingtalkImClient implements ImClient<Creds> {
  readonly provider = 'dingtalk' as const;
  // robot/oToMessages/batchSend takes at most 20 userIds per call.
  readonly maxBatch = 20;
  constructor(
    private readonly http: ImCaller,
    private readonly api: string,
    private readonly oapi: string,
    private readonly tokens: TokenCache,
  ) {}

  userKey = (p: EventPerson) => dingtalkMobile(p.phone);
  identity = (c: Creds) => fingerprint('dingtalk', c.clientId, c.clientSecret);

  private fetchToken = (c: Creds) => async () => {
    const res = await this.http.call('dingtalk', {
      method: 'POST',
      url: `${this.api}/v1.0/oauth2/accessToken`,
      json: { appKey: c.clientId, appSecret: c.clientSecret },
    });
    if (res.status !== 200 || typeof res.body.accessToken !== 'string') {
      throw new ImApiError('dingtalk', `oauth2/accessToken failed: HTTP ${res.status} ${String(res.body.code ?? '')} ${String(res.body.message ?? '')}`);
    }
    return { token: res.body.accessToken, expiresInSec: Number(res.body.expireIn) || 7200 };
  };

  private authed<T>(c: Creds, call: (token: string) => Promise<T>): Promise<T> {
    return withToken(this.tokens, this.identity(c), this.fetchToken(c), call);
  }

  async lookup(c: Creds, keys: string[]): Promise<Map<string, string | null>> {
    const out = new Map<string, string | null>();
    for (const mobile of keys) {
      const body = await this.authed(c, async (token) => {
        const res = await this.http.call('dingtalk', {
          method: 'POST',
          url: `${this.oapi}/topapi/v2/user/getbymobile?access_token=${encodeURIComponent(token)}`,
          json: { mobile },
        });
        const code = Number(res.body.errcode);
        if (res.status === 200 && (code === 0 || code === USER_NOT_FOUND)) return res.body;
        throw new ImApiError(
          'dingtalk',
          `topapi/v2/user/getbymobile failed: HTTP ${res.status} errcode ${res.body.errcode} ${String(res.body.errmsg ?? '')}`,
          OAPI_TOKEN_INVALID.has(code),
        );
      });
      const userid = (body.result as { userid?: unknown } | undefined)?.userid;
      out.set(mobile, Number(body.errcode) === 0 && userid ? String(userid) : null);
    }
    return out;
  }

  async send(c: Creds, userIds: string[], view: MessageView): Promise<{ failed: string[] }> {
    const { title, text } = dingtalkMarkdown({ ...view, mentions: [] }, DINGTALK_DM_PARAM_BYTES);
    const body = await this.authed(c, async (token) => {
      const res = await this.http.call('dingtalk', {
        method: 'POST',
        url: `${this.api}/v1.0/robot/oToMessages/batchSend`,
        headers: { 'x-acs-dingtalk-access-token': token },
        json: { robotCode: c.robotCode, userIds, msgKey: 'sampleMarkdown', msgParam: JSON.stringify({ title, text }) },
        delivers: true,
      });
      if (res.status === 200 && !res.body.code) return res.body;
      const code = String(res.body.code ?? '');
      throw new ImApiError(
        'dingtalk',
        `robot/oToMessages/batchSend failed: HTTP ${res.status} ${code} ${String(res.body.message ?? '')}`,
        res.status === 401 || /InvalidAuthentication/i.test(code),
      );
    });
    const refused = [...((body.invalidStaffIdList as string[] | undefined) ?? []), ...((body.flowControlledStaffIdList as string[] | undefined) ?? [])];
    return { failed: userIds.filter((id) => refused.includes(id)) };
  }
}
