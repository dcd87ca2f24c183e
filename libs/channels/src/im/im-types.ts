import type { ChannelType } from '@herald/domain';
import type { TokenCache } from './caches';
import type { ImClient } from './im-client';
import type { ImCaller } from './im-http';

/**
 * A webhook type whose channel adapter declares an IM app (`adapter.im`): its users can get direct
 * messages (docs/channels.md#direct-messages). The list is the registry's (`DM_PROVIDERS`).
 */
export type DmProvider = ChannelType;

/** Workspace-wide IM app credentials, as the provider's `credentialFields` describe them. */
export type ImCredentials = Record<string, string | number>;

/** One setting of an IM app, as `PUT /v1/integrations/im/{provider}` takes it. */
export interface ImCredentialField {
  readonly name: string;
  /** What the console's form calls it. */
  readonly label: string;
  /** Masked on read (`****` and the last 4 characters); identifiers are shown in full. */
  readonly secret: boolean;
  /** `integer`: a positive whole number (a string of digits is accepted and stored as a number). Default `string`. */
  readonly type?: 'string' | 'integer';
  /** The message when an integer field holds something else. */
  readonly invalid?: string;
  /** A further rule on a non-empty string value: the problem, or null when it is fine. */
  readonly check?: (value: string) => string | null;
}

/** One base of a provider's API when the integration stores none: the public URL, which the deployment's variable replaces. */
export interface ImApiBase {
  /** The environment variable that replaces `url` for the whole deployment (tests point it at a fake). */
  readonly env: string;
  readonly url: string;
}

/** What `createClient` is given. */
export interface ImClientDeps {
  /** HTTP for this client: with the SSRF guard when the base is the integration's own. */
  readonly http: ImCaller;
  /** Each base of `defaultApiBaseUrl` resolved: the integration's `apiBaseUrl`, the variable, or the public URL. */
  readonly bases: Readonly<Record<string, string>>;
  /** Tokens per credential set, shared by the clients of one owner (the worker, the IM test). */
  readonly tokens: TokenCache;
}

/**
 * A platform's IM app, declared by its channel adapter (`adapter.im`): what an integration stores,
 * where the API is, and the client that finds users and messages them. The provider list, the
 * validation of an integration and the clients all come from these declarations.
 */
export interface ImDeclaration {
  /** The webhook type (the adapter's `type`); also the `{provider}` of `/v1/integrations/im/{provider}`. */
  readonly provider: ChannelType;
  readonly credentialFields: readonly ImCredentialField[];
  /**
   * The API's base(s) when the integration has no `apiBaseUrl` of its own: `api`, plus any other
   * host the platform uses (DingTalk's `oapi`). An integration's `apiBaseUrl` replaces every base:
   * a self-hosted platform or a proxy serves all of its paths at one address.
   */
  readonly defaultApiBaseUrl: { readonly api: ImApiBase } & Readonly<Record<string, ImApiBase>>;
  createClient(deps: ImClientDeps): ImClient<ImCredentials>;
}

/** A stored IM integration, as the worker reads it (persistence implements the source). */
export interface StoredImIntegration {
  /** The credentials as encrypted JSON (SecretBox, `secretContext.imCredentials`). */
  credentialsEncrypted: string;
  /** The integration's own API base (a self-hosted platform, a proxy); null: the default. */
  apiBaseUrl: string | null;
}

/** Where stored IM integrations come from (persistence implements it; bound by the app). */
export interface ImIntegrationSource {
  /** The provider's integration as stored, or null when not configured. */
  find(provider: DmProvider): Promise<StoredImIntegration | null>;
}
export const IM_INTEGRATION_SOURCE = Symbol('IM_INTEGRATION_SOURCE');

/**
 * Which users a delivery has messaged (persistence implements it with a unique
 * (delivery_id, provider, user_key) key). A user is claimed before the send and marked sent after
 * it, so a retry — or another worker — never messages the same user twice for one delivery.
 */
export interface DmRecipientLedger {
  /** States recorded for this delivery: `claimed` (a send was started) or `sent`. */
  states(deliveryId: string, provider: DmProvider): Promise<Map<string, 'claimed' | 'sent'>>;
  /** Claims users; returns those this call claimed (a user already claimed is not returned). */
  claim(deliveryId: string, provider: DmProvider, userKeys: string[]): Promise<string[]>;
  markSent(deliveryId: string, provider: DmProvider, userKeys: string[]): Promise<void>;
  /** Gives claims back after a send that certainly failed, so a later attempt may try again. */
  release(deliveryId: string, provider: DmProvider, userKeys: string[]): Promise<void>;
}
export const DM_RECIPIENT_LEDGER = Symbol('DM_RECIPIENT_LEDGER');
