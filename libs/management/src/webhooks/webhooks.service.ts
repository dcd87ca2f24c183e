import { Injectable } from '@nestjs/common';
import { ChannelRegistry, DM_PROVIDERS } from '@herald/channels';
import { ValidationFailed, maskUrl, type ChannelType } from '@herald/domain';
import { WebhookRepository, type WebhookEntity } from '@herald/persistence';
import { HeraldConfig, SecretBox, newSigningSecret } from '@herald/platform';
import { iso } from '../dto-helpers';
import type { CreateWebhookDto, UpdateWebhookDto, WebhookDto } from './webhook.dto';

/** A rotated-out signing secret keeps signing (as a second signature) this long (SPEC §3). */
export const SECRET_OVERLAP_MS = 24 * 3600 * 1000;

const WHSEC = /^whsec_([A-Za-z0-9+/]+={0,2})$/;

@Injectable()
export class WebhooksService {
  constructor(
    private readonly webhooks: WebhookRepository,
    private readonly channels: ChannelRegistry,
    private readonly secrets: SecretBox,
    private readonly config: HeraldConfig,
  ) {}

  async create(projectId: number, dto: CreateWebhookDto): Promise<WebhookDto> {
    const type = this.supportedType(dto.type);
    this.channels.get(type).validateUrl(dto.url, this.config.extraAllowedHosts);
    const secret = type === 'custom' ? (dto.secret ?? newSigningSecret()) : (dto.secret ?? null);
    if (secret) validateSecret(type, secret);
    if (dto.directMessage) validateDirectMessage(type);
    const entity = await this.webhooks.create(projectId, {
      name: dto.name,
      type,
      urlEncrypted: this.secrets.encrypt(dto.url),
      urlMasked: maskUrl(dto.url),
      events: dto.events,
      directMessage: dto.directMessage ?? false,
      locale: dto.locale ?? null,
      secretEncrypted: secret ? this.secrets.encrypt(secret) : null,
      rateLimitCount: dto.rateLimit?.count ?? null,
      rateLimitPerSeconds: dto.rateLimit?.perSeconds ?? null,
      enabled: dto.enabled ?? true,
      disabledReason: dto.enabled === false ? 'disabled at creation' : null,
      disabledAt: dto.enabled === false ? new Date() : null,
    });
    return { ...this.present(entity), ...(type === 'custom' && secret ? { secret } : {}) };
  }

  async update(projectId: number, id: string, dto: UpdateWebhookDto): Promise<WebhookDto> {
    const current = await this.webhooks.get(projectId, id);
    const changes: Partial<WebhookEntity> = {};
    if (dto.name !== undefined) changes.name = dto.name;
    if (dto.url !== undefined) {
      this.channels.get(current.type).validateUrl(dto.url, this.config.extraAllowedHosts);
      changes.urlEncrypted = this.secrets.encrypt(dto.url);
      changes.urlMasked = maskUrl(dto.url);
    }
    if (dto.events !== undefined) changes.events = dto.events;
    if (dto.directMessage !== undefined) {
      if (dto.directMessage) validateDirectMessage(current.type);
      changes.directMessage = dto.directMessage;
    }
    if (dto.secret !== undefined) {
      validateSecret(current.type, dto.secret);
      changes.secretEncrypted = this.secrets.encrypt(dto.secret);
    }
    if (dto.rateLimit !== undefined) {
      changes.rateLimitCount = dto.rateLimit?.count ?? null;
      changes.rateLimitPerSeconds = dto.rateLimit?.perSeconds ?? null;
    }
    if (dto.locale !== undefined) changes.locale = dto.locale;
    if (dto.enabled === true) Object.assign(changes, { enabled: true, disabledReason: null, disabledAt: null });
    if (dto.enabled === false && current.enabled) Object.assign(changes, { enabled: false, disabledReason: 'disabled by a user', disabledAt: new Date() });
    return this.present(await this.webhooks.update(projectId, id, changes));
  }

  async secret(projectId: number, id: string): Promise<{ secret: string }> {
    const webhook = await this.webhooks.get(projectId, id);
    if (webhook.type !== 'custom' || !webhook.secretEncrypted) {
      throw new ValidationFailed([{ field: 'id', message: `only custom webhooks have a signing secret; this one is ${webhook.type}` }]);
    }
    return { secret: this.secrets.decrypt(webhook.secretEncrypted) };
  }

  /** Issues a new secret; the old one keeps signing alongside it for 24 h so receivers can switch. */
  async rotateSecret(projectId: number, id: string): Promise<{ secret: string }> {
    const webhook = await this.webhooks.get(projectId, id);
    if (webhook.type !== 'custom' || !webhook.secretEncrypted) {
      throw new ValidationFailed([{ field: 'id', message: `only custom webhooks have a signing secret; this one is ${webhook.type}` }]);
    }
    const secret = newSigningSecret();
    await this.webhooks.update(projectId, id, {
      secretEncrypted: this.secrets.encrypt(secret),
      previousSecretEncrypted: webhook.secretEncrypted,
      previousSecretExpiresAt: new Date(Date.now() + SECRET_OVERLAP_MS),
    });
    return { secret };
  }

  present(w: WebhookEntity): WebhookDto {
    const adapter = this.channels.get(w.type);
    const rateLimit =
      w.rateLimitCount && w.rateLimitPerSeconds ? { count: w.rateLimitCount, perSeconds: w.rateLimitPerSeconds } : adapter.defaultRateLimit;
    return {
      id: w.id,
      name: w.name,
      type: w.type,
      urlMasked: w.urlMasked,
      events: w.events,
      directMessage: w.directMessage,
      enabled: w.enabled,
      status: w.enabled ? 'active' : 'disabled',
      disabledReason: w.disabledReason,
      disabledAt: iso(w.disabledAt),
      rateLimit: rateLimit ? { ...rateLimit } : null,
      locale: w.locale ?? adapter.defaultLocale,
      createdAt: w.createdAt.toISOString(),
      updatedAt: w.updatedAt.toISOString(),
    };
  }

  private supportedType(type: string): ChannelType {
    const supported = this.channels.types();
    if (!(supported as string[]).includes(type)) {
      throw new ValidationFailed([{ field: 'type', message: `type ${type} has no channel adapter in this build (available: ${supported.join(', ')})` }]);
    }
    return type as ChannelType;
  }
}

/** Types that sign with a secret (SPEC §6.5). */
const SIGNING_TYPES: readonly ChannelType[] = ['custom', 'dingtalk', 'feishu', 'lark'];

function validateDirectMessage(type: ChannelType): void {
  if (!(DM_PROVIDERS as readonly string[]).includes(type)) {
    throw new ValidationFailed([{ field: 'directMessage', message: `direct messages are available for ${DM_PROVIDERS.join(', ')} webhooks; this one is ${type}` }]);
  }
}

function validateSecret(type: ChannelType, secret: string): void {
  if (!SIGNING_TYPES.includes(type)) {
    throw new ValidationFailed([{ field: 'secret', message: `${type} webhooks are not signed; a secret is accepted for ${SIGNING_TYPES.join(', ')}` }]);
  }
  if (type === 'dingtalk' && !/^SEC[0-9a-f]{16,128}$/i.test(secret)) {
    throw new ValidationFailed([{ field: 'secret', message: 'a DingTalk signing secret starts with SEC followed by hex digits (robot settings → 加签)' }]);
  }
  if (type === 'custom') {
    const match = WHSEC.exec(secret);
    const bytes = match ? Buffer.from(match[1], 'base64').length : 0;
    if (bytes < 24 || bytes > 64) {
      throw new ValidationFailed([{ field: 'secret', message: 'secret must be whsec_ followed by 24 to 64 bytes in base64 (omit it to get a generated one)' }]);
    }
  }
}
