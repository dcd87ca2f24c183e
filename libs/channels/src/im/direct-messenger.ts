import { Inject, Injectable, Logger, Module, type DynamicModule, type ModuleMetadata, type Type } from '@nestjs/common';
import { effectiveLocale, isEventType, supportsDirectMessage, type ChannelType, type HeraldEvent } from '@herald/domain';
import { HeraldConfig, SecretBox, secretContext } from '@herald/platform';
import type { RenderContext } from '../channel-adapter';
import { buildMessage, type Locale } from '../render/message';
import { ExpiringCache } from './caches';
import { chunks, type ImClient } from './im-client';
import { ImApiError, ImHttp } from './im-http';
import { ImClients, isDmProvider, parseImCredentials } from './im-registry';
import { DM_RECIPIENT_LEDGER, IM_INTEGRATION_SOURCE, type DmProvider, type DmRecipientLedger, type ImCredentials, type ImIntegrationSource } from './im-types';

/** The part of a webhook direct messages depend on (a WebhookEntity fits). */
export interface DirectMessageWebhook {
  type: ChannelType;
  directMessage: boolean;
  /** `en`, `zh`, or null for the channel's default (zh for DingTalk). */
  locale?: string | null;
}

export interface DirectMessageResult {
  /** False when DMs do not apply: flag off, event type without DMs, no mentions, or no IM integration. */
  attempted: boolean;
  /** Why nothing was attempted, for the log. */
  skipped?: 'disabled' | 'event type' | 'no mentions' | 'not an IM channel' | 'no integration';
  /** Users (email, or mobile for DingTalk) messaged by this call. */
  messaged: string[];
  /** Users messaged by an earlier attempt of the same delivery (not messaged again). */
  alreadyMessaged: string[];
  /** Users not found, without an email/phone, whose DM failed, or whose earlier send is unknown. */
  fallback: string[];
  /** True when the channel webhook must still be posted: nothing attempted, or anyone in `fallback`. */
  postToChannel: boolean;
}

/** Found user ids are kept a day; "no such user" an hour, so a newly added user is found soon. */
const FOUND_TTL_MS = 24 * 3600 * 1000;
const NOT_FOUND_TTL_MS = 3600 * 1000;

/** No direct message for this delivery: the channel post carries it. */
function skip(skipped: DirectMessageResult['skipped']): DirectMessageResult {
  return { attempted: false, skipped, messaged: [], alreadyMessaged: [], fallback: [], postToChannel: true };
}

/**
 * Direct messages through the IM apps (docs/contract.md §7.4), for the delivery processor. Call it before the
 * channel post; post to the channel when `postToChannel` is true. Each user is messaged at most
 * once per delivery, across retries and workers: the ledger claims a user before the send.
 */
@Injectable()
export class DirectMessenger {
  private readonly logger = new Logger('DirectMessages');
  private readonly clients: ImClients;
  private readonly userIds = new ExpiringCache<string | null>(5000);

  private readonly budgetMs: number;

  constructor(
    private readonly http: ImHttp,
    config: HeraldConfig,
    private readonly secrets: SecretBox,
    @Inject(IM_INTEGRATION_SOURCE) private readonly integrations: ImIntegrationSource,
    @Inject(DM_RECIPIENT_LEDGER) private readonly ledger: DmRecipientLedger,
  ) {
    this.budgetMs = config.deliveryTimeoutMs;
    this.clients = new ImClients(http, config);
  }

  /**
   * Every IM call of one delivery (tokens, lookups, sends) shares one budget of
   * HERALD_DELIVERY_TIMEOUT_MS, so direct messages add at most one timeout to an attempt; users the
   * budget did not reach fall back to the channel post.
   */
  send(event: HeraldEvent, webhook: DirectMessageWebhook, context: RenderContext): Promise<DirectMessageResult> {
    // Decided before the budget: its AsyncLocalStorage, once entered, makes Node call a hook for
    // every promise the process creates from then on, which deliveries without DMs need not pay.
    if (!webhook.directMessage) return Promise.resolve(skip('disabled'));
    if (!isDmProvider(webhook.type)) return Promise.resolve(skip('not an IM channel'));
    if (!isEventType(event.type) || !supportsDirectMessage(event.type)) return Promise.resolve(skip('event type'));
    if (!event.mentions?.length) return Promise.resolve(skip('no mentions'));
    const provider = webhook.type;
    return this.http.withBudget(this.budgetMs, () => this.sendWithin(event, webhook, provider, context));
  }

  private async sendWithin(event: HeraldEvent, webhook: DirectMessageWebhook, provider: DmProvider, context: RenderContext): Promise<DirectMessageResult> {
    const stored = await this.integrations.find(provider);
    if (!stored) return skip('no integration');
    const credentials = parseImCredentials(provider, JSON.parse(this.secrets.decrypt(stored.credentialsEncrypted, secretContext.imCredentials(provider))));
    const client = this.clients.get(provider, stored.apiBaseUrl);
    const log = { deliveryId: context.deliveryId, eventId: event.id, provider };

    const fallback: string[] = [];
    const keys: string[] = [];
    for (const person of event.mentions ?? []) {
      const key = client.userKey(person);
      if (!key) fallback.push(person.email || person.phone || person.name || 'unknown user');
      else if (!keys.includes(key)) keys.push(key);
    }

    const states = await this.ledger.states(context.deliveryId, provider);
    const alreadyMessaged = keys.filter((k) => states.get(k) === 'sent');
    // A claim without "sent" means an earlier attempt died mid-send: the user may have the message,
    // so they are not messaged again; the channel post covers them.
    fallback.push(...keys.filter((k) => states.get(k) === 'claimed'));
    const todo = keys.filter((k) => !states.has(k));

    const messaged: string[] = [];
    if (todo.length) {
      const view = buildMessage(event, context.project, this.locale(webhook));
      let ids: Map<string, string | null>;
      try {
        ids = await this.resolve(client, stored.apiBaseUrl, credentials, todo);
      } catch (err) {
        this.logger.warn({ ...log, error: (err as Error).message }, 'user lookup failed; falling back to the channel');
        ids = new Map();
      }
      const found = todo.filter((k) => ids.get(k));
      fallback.push(...todo.filter((k) => !ids.get(k)));
      const claimed = await this.ledger.claim(context.deliveryId, provider, found);
      for (const group of chunks(claimed, client.maxBatch)) {
        const byId = new Map(group.map((k) => [ids.get(k) as string, k]));
        let failed: string[];
        try {
          ({ failed } = await client.send(credentials, [...byId.keys()], view));
        } catch (err) {
          // Only a definite refusal sent nothing: then the claims go back so a retry may try again.
          // After a timeout, a broken connection or an unexpected error the provider may have
          // delivered: the claims stay, no retry sends it twice, and the channel post covers them.
          const refused = err instanceof ImApiError && !err.outcomeUnknown;
          if (refused) await this.ledger.release(context.deliveryId, provider, group);
          fallback.push(...group);
          this.logger.warn(
            { ...log, users: group.length, error: (err as Error).message, outcome: refused ? 'refused' : 'unknown' },
            refused ? 'direct message refused; falling back to the channel' : 'direct message outcome unknown; not re-sending, falling back to the channel',
          );
          continue;
        }
        const failedKeys = failed.map((id) => byId.get(id) as string);
        const sent = group.filter((k) => !failedKeys.includes(k));
        // Outside the try: if recording fails after a send, the claims must stay (never re-sent).
        await this.ledger.markSent(context.deliveryId, provider, sent);
        if (failedKeys.length) await this.ledger.release(context.deliveryId, provider, failedKeys);
        messaged.push(...sent);
        fallback.push(...failedKeys);
      }
    }
    return { attempted: true, messaged, alreadyMessaged, fallback, postToChannel: fallback.length > 0 };
  }

  private locale(webhook: DirectMessageWebhook): Locale {
    return effectiveLocale(webhook.locale, webhook.type === 'dingtalk' ? 'zh' : 'en');
  }

  /** Provider ids for `keys`, from the cache where possible (both found and not found are cached). */
  private async resolve(
    client: ImClient<ImCredentials>,
    apiBaseUrl: string | null,
    credentials: ImCredentials,
    keys: string[],
  ): Promise<Map<string, string | null>> {
    // Per API base too: another server (a self-hosted one) has other users.
    const prefix = `${client.provider}:${apiBaseUrl ?? ''}:${client.identity(credentials)}:`;
    const out = new Map<string, string | null>();
    const missing: string[] = [];
    for (const key of keys) {
      const hit = this.userIds.get(prefix + key);
      if (hit !== undefined) out.set(key, hit);
      else missing.push(key);
    }
    if (missing.length) {
      const found = await client.lookup(credentials, missing);
      for (const key of missing) {
        const id = found.get(key) ?? null;
        this.userIds.set(prefix + key, id, id ? FOUND_TTL_MS : NOT_FOUND_TTL_MS);
        out.set(key, id);
      }
    }
    return out;
  }
}

export interface DirectMessagesModuleOptions {
  /** Modules that provide the two classes below (e.g. PersistenceModule). */
  imports: ModuleMetadata['imports'];
  integrations: Type<ImIntegrationSource>;
  ledger: Type<DmRecipientLedger>;
}

/**
 * Provides DirectMessenger. Storage comes from outside (channels may not import persistence):
 * `DirectMessagesModule.forRoot({ imports: [PersistenceModule], integrations: ImIntegrationRepository, ledger: DmRecipientRepository })`.
 */
@Module({})
export class DirectMessagesModule {
  static forRoot(options: DirectMessagesModuleOptions): DynamicModule {
    return {
      module: DirectMessagesModule,
      imports: options.imports,
      providers: [
        ImHttp,
        SecretBox,
        DirectMessenger,
        { provide: IM_INTEGRATION_SOURCE, useExisting: options.integrations },
        { provide: DM_RECIPIENT_LEDGER, useExisting: options.ledger },
      ],
      exports: [DirectMessenger],
    };
  }
}
