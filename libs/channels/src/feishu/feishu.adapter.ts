import { feishuFamilyAdapter } from './feishu-family';

export const FEISHU_HOSTS = ['open.feishu.cn'];
export const feishuAdapter = feishuFamilyAdapter('feishu', FEISHU_HOSTS);
