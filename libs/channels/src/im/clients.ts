import type { HeraldConfig } from '@herald/platform';
import type { TokenCache } from './caches';
import { DingtalkImClient } from './dingtalk.client';
import { FeishuImClient } from './feishu.client';
import type { ImClient } from './im-client';
import type { ImHttp } from './im-http';
import type { DmProvider, ImCredentials } from './im-types';
import { SlackImClient } from './slack.client';
import { WecomImClient } from './wecom.client';

/** One client per IM provider, on the configured API bases (direct messages and the IM test). */
export function createImClients(http: ImHttp, api: HeraldConfig['imApi'], tokens: TokenCache): Record<DmProvider, ImClient<ImCredentials>> {
  return {
    slack: new SlackImClient(http, api.slack),
    feishu: new FeishuImClient('feishu', http, api.feishu, tokens),
    lark: new FeishuImClient('lark', http, api.lark, tokens),
    wecom: new WecomImClient(http, api.wecom, tokens),
    dingtalk: new DingtalkImClient(http, api.dingtalk, api.dingtalkOapi, tokens),
  } as Record<DmProvider, ImClient<ImCredentials>>;
}
