import type { ChannelType, EventProject, HeraldEvent, RateLimit } from '@herald/domain';
import type { ImDeclaration } from './im/im-types';

/** The HTTP request an adapter wants sent. Everything needed is in it, signatures included. */
export interface PreparedRequest {
  url: string;
  method: 'POST';
  headers: Record<string, string>;
  body: string;
}

/** What the sender saw. `body` is at most the first few KiB of the response. */
export interface ChannelResponse {
  statusCode: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** The one place an outcome is decided (docs/contract.md §6.2–6.4): the delivery engine only maps these. */
export type Classification =
  | { kind: 'delivered' }
  | { kind: 'rate_limited'; retryAfterMs: number; reason: string }
  | { kind: 'retryable'; reason: string }
  | { kind: 'rejected'; reason: string; gone?: boolean };

/** A webhook's stored target, decrypted. */
export interface ChannelTarget {
  url: string;
  /** Custom: the `whsec_` signing secret; DingTalk/Feishu/Lark: the bot's signing secret. */
  secret: string | null;
  /** During a rotation, the previous signing secret (custom webhooks sign with both). */
  previousSecret: string | null;
  locale: 'en' | 'zh';
  /** The webhook's message template for the event's type (issue 16), if any: see renderMessage. */
  template?: string | null;
  /**
   * The text that template rendered (renderMessage sets it): chat adapters show it instead of the
   * built-in description, tile and facts. Custom webhooks ignore both: their body is the event.
   */
  text?: string;
}

export interface RenderContext {
  /** The delivery id: `webhook-id` for custom webhooks, unchanged across attempts. */
  deliveryId: string;
  now: Date;
  project: EventProject;
}

export interface ChannelAdapter {
  readonly type: ChannelType;
  /** The platform's published limit (docs/contract.md §6.3); null means none. */
  readonly defaultRateLimit: RateLimit | null;
  /** The language used when a webhook sets none. */
  readonly defaultLocale: 'en' | 'zh';
  /**
   * Throws a `ValidationFailed` naming the host and the rule when `url` is not one of this
   * platform's webhook URLs (docs/contract.md §6.6). `extraHosts` come from HERALD_EXTRA_ALLOWED_HOSTS.
   */
  validateUrl(url: string, extraHosts: readonly string[]): void;
  /**
   * How a webhook's `secret` is checked (docs/contract.md §6.5): throws a `ValidationFailed` on the `secret`
   * field when it has the wrong form. Null for a type that does not sign: a secret is refused.
   */
  readonly validateSecret: ((secret: string) => void) | null;
  /**
   * For a type that always signs (custom): a fresh secret, used when none is given and by
   * rotate-secret. Absent for types whose secret comes from the platform.
   */
  readonly newSecret?: () => string;
  /**
   * The platform's IM app, when its users can get direct messages (docs/channels.md#direct-messages):
   * the integration's credential fields, the API's default base and the client. A webhook accepts
   * `directMessage: true` exactly when its adapter has one, and the integrations API takes exactly
   * these providers.
   */
  readonly im?: ImDeclaration;
  /** Pure: the same event, target and context always give the same request. */
  render(event: HeraldEvent, target: ChannelTarget, context: RenderContext): PreparedRequest;
  /**
   * Judges the answer. `request` is the request `render` produced (Teams needs its URL: Workflows
   * and Office 365 connector URLs have different success rules); without it an adapter falls back
   * to what the response alone tells.
   */
  classify(response: ChannelResponse, request?: PreparedRequest): Classification;
}
