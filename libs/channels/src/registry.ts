import { Injectable } from '@nestjs/common';
import { CHANNEL_TYPES, ValidationFailed, type ChannelType, type FieldProblem } from '@herald/domain';
import type { ChannelAdapter } from './channel-adapter';
import type { ImDeclaration } from './im/im-types';
import { checkUrlAgainstAllowList } from './http/target-policy';
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

  /** Every problem with a webhook's channel settings; see `channelConfigProblems`. */
  configProblems(type: ChannelType, config: ChannelConfig, extraHosts: readonly string[] | null): FieldProblem[] {
    return channelConfigProblems(type, config, extraHosts, [...this.byType.values()]);
  }

  /** Types a webhook may be created with (all of CHANNEL_TYPES). */
  types(): ChannelType[] {
    return [...this.byType.keys()];
  }
}

export function buildRegistry(
  adapters: readonly ChannelAdapter[],
  required: readonly ChannelType[] = [...new Set(adapters.map((a) => a.type))],
): Map<ChannelType, ChannelAdapter> {
  const map = new Map<ChannelType, ChannelAdapter>();
  for (const adapter of adapters) {
    if (!(CHANNEL_TYPES as readonly string[]).includes(adapter.type)) throw new Error(`channel adapter for unknown type "${adapter.type}"`);
    if (map.has(adapter.type)) throw new Error(`two channel adapters registered for type "${adapter.type}"`);
    if (adapter.im) checkImDeclaration(adapter.type, adapter.im);
    map.set(adapter.type, adapter);
  }
  const missing = required.filter((t) => !map.has(t));
  if (missing.length) throw new Error(`no channel adapter registered for type(s): ${missing.join(', ')}`);
  return map;
}

/** Names an integration body uses besides the credentials: no credential field may take them. */
export const IM_RESERVED_FIELDS: readonly string[] = ['apiBaseUrl'];

/** An adapter's IM declaration must be about its own type, with distinct fields and usable default bases. */
function checkImDeclaration(type: ChannelType, im: ImDeclaration): void {
  const fail = (problem: string) => {
    throw new Error(`channel adapter "${type}" declares an IM app that ${problem}`);
  };
  if (im.provider !== type) fail(`is for provider "${im.provider}"`);
  const names = im.credentialFields.map((f) => f.name);
  if (!names.length) fail('has no credential fields');
  const twice = names.find((n, i) => names.indexOf(n) !== i);
  if (twice) fail(`lists the credential field "${twice}" twice`);
  const reserved = names.find((n) => IM_RESERVED_FIELDS.includes(n));
  if (reserved) fail(`uses the reserved field name "${reserved}"`);
  for (const [name, base] of Object.entries(im.defaultApiBaseUrl)) {
    if (!/^https?:\/\/[^/]/.test(base.url) || !/^HERALD_[A-Z0-9_]+$/.test(base.env))
      fail(`has an unusable default API base "${name}" (${base.env}=${base.url})`);
  }
}

/** The settings of a webhook its channel judges (docs/contract.md §3.5, §6.5, §6.6); absent ones are not checked. */
export interface ChannelConfig {
  url?: unknown;
  secret?: unknown;
  directMessage?: unknown;
}

/**
 * Every problem with a webhook's URL, secret and directMessage flag for `type`, each naming its
 * field, so one answer can list them all. With `extraHosts` null (the DTO pass, which does not
 * know HERALD_EXTRA_ALLOWED_HOSTS) the URL's form is checked but not the host allow-list. An
 * unknown type gets only the checks every type shares (http or https, no credentials).
 */
export function channelConfigProblems(
  type: string,
  config: ChannelConfig,
  extraHosts: readonly string[] | null,
  adapters: readonly ChannelAdapter[] = CHANNEL_ADAPTERS,
): FieldProblem[] {
  const adapter = adapters.find((a) => a.type === type);
  const problems: FieldProblem[] = [];
  const collect = (check: () => void) => {
    try {
      check();
    } catch (err) {
      if (!(err instanceof ValidationFailed)) throw err;
      problems.push(...err.details);
    }
  };
  const { url, secret, directMessage } = config;
  if (typeof url === 'string' && url !== '') {
    collect(() => {
      if (!adapter) return void checkUrlAgainstAllowList(url, type, null, []);
      // Without the deployment's extra hosts, treat the URL's own host as allowed: its form is still checked.
      adapter.validateUrl(url, extraHosts ?? [hostOf(url)].filter(Boolean));
    });
  }
  if (adapter && typeof secret === 'string' && secret !== '') {
    const validate = adapter.validateSecret;
    if (!validate) {
      const signed = adapters.filter((a) => a.validateSecret).map((a) => a.type);
      problems.push({ field: 'secret', message: `${type} webhooks are not signed; a secret is accepted for ${signed.join(', ')}` });
    } else collect(() => validate(secret));
  }
  if (adapter && directMessage === true && !adapter.im) {
    const capable = adapters.filter((a) => a.im).map((a) => a.type);
    problems.push({ field: 'directMessage', message: `direct messages are available for ${capable.join(', ')} webhooks; this one is ${type}` });
  }
  return problems;
}

function hostOf(url: string): string {
  try {
    return new URL(url).hostname.toLowerCase();
  } catch {
    return '';
  }
}
