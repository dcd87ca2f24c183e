import { feishuFamilyAdapter } from '../feishu/feishu-family';

export const LARK_HOSTS = ['open.larksuite.com'];
export const larkAdapter = feishuFamilyAdapter('lark', LARK_HOSTS, { env: 'HERALD_LARK_API_URL', url: 'https://open.larksuite.com/open-apis' });
