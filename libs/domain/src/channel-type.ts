/** Outgoing webhook types (docs/contract.md §3.5). Each has exactly one channel adapter. */
export const CHANNEL_TYPES = ['slack', 'discord', 'teams', 'dingtalk', 'feishu', 'lark', 'wecom', 'googlechat', 'custom'] as const;
export type ChannelType = (typeof CHANNEL_TYPES)[number];

export function isChannelType(value: unknown): value is ChannelType {
  return typeof value === 'string' && (CHANNEL_TYPES as readonly string[]).includes(value);
}
