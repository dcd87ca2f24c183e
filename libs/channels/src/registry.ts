import { Injectable } from '@nestjs/common';
import { CHANNEL_TYPES, type ChannelType } from '@herald/domain';
import type { ChannelAdapter } from './channel-adapter';
import { customAdapter } from './custom/custom.adapter';
import { dingtalkAdapter } from './dingtalk/dingtalk.adapter';
import { discordAdapter } from './discord/discord.adapter';
import { feishuAdapter } from './feishu/feishu.adapter';
import { googlechatAdapter } from './googlechat/googlechat.adapter';
import { larkAdapter } from './lark/lark.adapter';
import { slackAdapter } from './slack/slack.adapter';
import { teamsAdapter } from './teams/teams.adapter';
import { wecomAdapter } from './wecom/wecom.adapter';

/** Every channel adapter. Adding a channel: one folder, one line here. */
export const CHANNEL_ADAPTERS: readonly ChannelAdapter[] = [
  slackAdapter,
  discordAdapter,
  teamsAdapter,
  dingtalkAdapter,
  feishuAdapter,
  larkAdapter,
  wecomAdapter,
  googlechatAdapter,
  customAdapter,
];

/**
 * Looks adapters up by webhook type. Built at boot: a type without an adapter, or with two, stops
 * the app, so a webhook type can never reach a worker that cannot send it.
 */
@Injectable()
export class ChannelRegistry {
  private readonly byType: ReadonlyMap<ChannelType, ChannelAdapter>;

  constructor() {
    // Every webhook type must have exactly one adapter, or the app does not start.
    this.byType = buildRegistry(CHANNEL_ADAPTERS, CHANNEL_TYPES);
  }

  get(type: ChannelType): ChannelAdapter {
    const adapter = this.byType.get(type);
    if (!adapter) throw new Error(`no channel adapter for webhook type "${type}"`);
    return adapter;
  }

  /** Types a webhook may be created with (all of CHANNEL_TYPES). */
  types(): ChannelType[] {
    return [...this.byType.keys()];
  }
}

export function buildRegistry(adapters: readonly ChannelAdapter[], required: readonly ChannelType[] = [...new Set(adapters.map((a) => a.type))]): Map<ChannelType, ChannelAdapter> {
  const map = new Map<ChannelType, ChannelAdapter>();
  for (const adapter of adapters) {
    if (!(CHANNEL_TYPES as readonly string[]).includes(adapter.type)) throw new Error(`channel adapter for unknown type "${adapter.type}"`);
    if (map.has(adapter.type)) throw new Error(`two channel adapters registered for type "${adapter.type}"`);
    map.set(adapter.type, adapter);
  }
  const missing = required.filter((t) => !map.has(t));
  if (missing.length) throw new Error(`no channel adapter registered for type(s): ${missing.join(', ')}`);
  return map;
}
