import { feishuFamilyAdapter } from './feishu-family';

export const FEISHU_HOSTS = ['open.feishu.cn'];
export const feishuAdapter = feishuFamilyAdapter('feishu', FEISHU_HOSTS, { env: 'HERALD_FEISHU_API_URL', url: 'https://open.feishu.cn/open-apis' });
