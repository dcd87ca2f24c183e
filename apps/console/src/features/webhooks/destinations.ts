import type { ChannelType } from '../../lib/catalogue';

export interface Destination {
  type: ChannelType;
  name: string;
  /** Two letters on a coloured tile: recognisable without shipping anyone's logo. */
  mark: string;
  colour: string;
  placeholder: string;
  help: string;
  /** Signing secret: none, optional (the platform's), or Herald's own (custom: generated when empty). */
  secret: 'none' | 'optional' | 'generated';
  secretHelp?: string;
  /** The type sends direct messages through an IM app (docs/contract.md §7.4). */
  directMessage: boolean;
}

/** The destination cards of the webhook form (the nine types of docs/contract.md §3.5), with their URL help. */
export const DESTINATIONS: Destination[] = [
  {
    type: 'slack',
    name: 'Slack',
    mark: 'Sl',
    colour: '#4a154b',
    placeholder: 'https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX',
    help: 'In Slack: your app → Incoming Webhooks → Add New Webhook to Workspace, pick the channel, copy the URL.',
    secret: 'none',
    directMessage: true,
  },
  {
    type: 'discord',
    name: 'Discord',
    mark: 'Di',
    colour: '#404eed',
    placeholder: 'https://discord.com/api/webhooks/123456789012345678/abcdef…',
    help: 'Channel settings → Integrations → Webhooks → New Webhook → Copy Webhook URL.',
    secret: 'none',
    directMessage: false,
  },
  {
    type: 'teams',
    name: 'Microsoft Teams',
    mark: 'Te',
    colour: '#464eb8',
    placeholder: 'https://prod-00.westus.logic.azure.com:443/workflows/…',
    help: 'Workflows app → "Post to a channel when a webhook request is received", copy the URL. Older Office 365 connector URLs work too.',
    secret: 'none',
    directMessage: false,
  },
  {
    type: 'dingtalk',
    name: 'DingTalk',
    mark: 'DT',
    colour: '#0958d9',
    placeholder: 'https://oapi.dingtalk.com/robot/send?access_token=…',
    help: 'Group settings → Bots → Add Robot → Custom; copy the Webhook URL. With "Additional Signature" on, paste its SEC… secret below.',
    secret: 'optional',
    secretHelp: 'The robot\'s signing secret (SEC followed by hex), when "Additional Signature" is on.',
    directMessage: true,
  },
  {
    type: 'feishu',
    name: 'Feishu',
    mark: 'Fs',
    colour: '#00796b',
    placeholder: 'https://open.feishu.cn/open-apis/bot/v2/hook/…',
    help: 'Group → Settings → Bots → Add Bot → Custom Bot; copy the webhook address.',
    secret: 'optional',
    secretHelp: 'The bot\'s signing secret, when "Set signature verification" is on.',
    directMessage: true,
  },
  {
    type: 'lark',
    name: 'Lark',
    mark: 'La',
    colour: '#1554c0',
    placeholder: 'https://open.larksuite.com/open-apis/bot/v2/hook/…',
    help: 'Group → Settings → Bots → Add Bot → Custom Bot; copy the webhook address.',
    secret: 'optional',
    secretHelp: "The bot's signing secret, when signature verification is on.",
    directMessage: true,
  },
  {
    type: 'wecom',
    name: 'WeCom',
    mark: 'WC',
    colour: '#1a7f37',
    placeholder: 'https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=…',
    help: 'Group chat → ⋯ → Group Robots → Add; copy the Webhook address.',
    secret: 'none',
    directMessage: true,
  },
  {
    type: 'googlechat',
    name: 'Google Chat',
    mark: 'GC',
    colour: '#137333',
    placeholder: 'https://chat.googleapis.com/v1/spaces/AAAA…/messages?key=…&token=…',
    help: 'Space → Apps & integrations → Webhooks → Add webhook; copy the URL (it carries key and token).',
    secret: 'none',
    directMessage: false,
  },
  {
    type: 'custom',
    name: 'Custom HTTP',
    mark: '{}',
    colour: '#57606a',
    placeholder: 'https://example.com/hooks/herald',
    help: 'Any HTTPS endpoint of yours. Requests are signed with Standard Webhooks (webhook-id, webhook-timestamp, webhook-signature).',
    secret: 'generated',
    secretHelp: 'Leave empty and Herald generates a whsec_… secret, shown once after saving. Or give your own whsec_… value.',
    directMessage: false,
  },
];

export const destination = (type: string): Destination => DESTINATIONS.find((d) => d.type === type) ?? DESTINATIONS[DESTINATIONS.length - 1];
