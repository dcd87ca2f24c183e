/**
 * Renders one event with every adapter and every shape (test code only): Teams has two shapes,
 * the others one. Specs read the parsed bodies.
 */
import type { HeraldEvent } from '@herald/domain';
import type { ChannelAdapter, ChannelTarget, PreparedRequest, RenderContext } from '../channel-adapter';
import { CHANNEL_ADAPTERS } from '../registry';
import { GOLDEN_CONTEXT, target } from './golden';

export const SHAPE_URLS = {
  slack: 'https://hooks.slack.com/services/T000/B000/XXXXXXXXXXXXXXXX',
  discord: 'https://discord.com/api/webhooks/1234567890/abcdefTOKEN',
  'teams-workflow': 'https://prod-01.westus.logic.azure.com/workflows/abc123/triggers/manual/paths/invoke?api-version=2016-06-01&sig=SIGNATURE',
  'teams-connector': 'https://contoso.webhook.office.com/webhookb2/aaaa@bbbb/IncomingWebhook/cccc/dddd',
  dingtalk: 'https://oapi.dingtalk.com/robot/send?access_token=0123456789abcdef',
  feishu: 'https://open.feishu.cn/open-apis/bot/v2/hook/00000000-1111-2222-3333-444444444444',
  lark: 'https://open.larksuite.com/open-apis/bot/v2/hook/00000000-1111-2222-3333-555555555555',
  wecom: 'https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=693a91f6-7xxx-4bc4-97a0-0ec2sifa5aaa',
  googlechat: 'https://chat.googleapis.com/v1/spaces/AAAAbbbbCCC/messages?key=AIzaSyKEY&token=TOKEN123',
  custom: 'https://receiver.example.com/hooks/herald',
} as const;
export type Shape = keyof typeof SHAPE_URLS;
export const SHAPES = Object.keys(SHAPE_URLS) as Shape[];

export function adapterFor(shape: Shape): ChannelAdapter {
  const type = shape.startsWith('teams') ? 'teams' : shape;
  const adapter = CHANNEL_ADAPTERS.find((a) => a.type === type);
  if (!adapter) throw new Error(`no adapter for ${shape}`);
  return adapter;
}

export function targetFor(shape: Shape, locale?: 'en' | 'zh', extra: Partial<ChannelTarget> = {}): ChannelTarget {
  const secret = shape === 'custom' ? `whsec_${Buffer.alloc(32, 9).toString('base64')}` : null;
  return target(SHAPE_URLS[shape], { locale: locale ?? adapterFor(shape).defaultLocale, secret, ...extra });
}

export function renderShape(shape: Shape, event: HeraldEvent, locale?: 'en' | 'zh', context: RenderContext = GOLDEN_CONTEXT): PreparedRequest {
  return adapterFor(shape).render(event, targetFor(shape, locale), context);
}

/** The parsed body; specs read platform JSON loosely. */
export function bodyOf(shape: Shape, event: HeraldEvent, locale?: 'en' | 'zh', context?: RenderContext) {
  return JSON.parse(renderShape(shape, event, locale, context).body);
}

export const bytes = (request: PreparedRequest): number => Buffer.byteLength(request.body, 'utf8');
