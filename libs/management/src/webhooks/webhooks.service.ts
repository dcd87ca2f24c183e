import { Injectable } from '@nestjs/common';
import { ChannelRegistry, templatesProblems, usesTemplates, type ChannelConfig } from '@herald/channels';
import { ValidationFailed, effectiveRateLimit, filterProblems, maskUrl, newId, rateWindows, type ChannelType, type FieldProblem } from '@herald/domain';
import { DeliveryLanesRepository, WebhookRepository, type WebhookChanges, type WebhookEntity } from '@herald/persistence';
import { HeraldConfig, SecretBox, secretContext } from '@herald/platform';
import { iso } from '../dto-helpers';
import { checkDigestForType } from './delivery-options.dto';
import { dtoChannelRules, type CreateWebhookDto, type UpdateWebhookDto, type WebhookDto } from './webhook.dto';

/** A rotated-out signing secret keeps signing (as a second signature) this long (docs/contract.md §3.5). */
export const SECRET_OVERLAP_MS = 24 * 3600 * 1000;

@Injectable()
export class WebhooksService {
  constructor(
    private readonly webhooks: WebhookRepository,
    private readonly channels: ChannelRegistry,
    private readonly secrets: SecretBox,
    private readonly config: HeraldConfig,
    private readonly lanes: DeliveryLanesRepository,
  ) {
    dtoChannelRules.extraHosts = config.extraAllowedHosts;
  }

  async create(projectId: number, dto: CreateWebhookDto): Promise<WebhookDto> {
    const type = this.supportedType(dto.type);
    this.checkChannelConfig(type, dto);
    checkDigestForType(type, dto.digest);
    this.checkFilterAndTemplates(type, dto);
    const adapter = this.channels.get(type);
    const secret = dto.secret ?? adapter.newSecret?.() ?? null;
    // The id is chosen here: the ciphertexts are bound to their row (SecretBox).
    const id = newId();
    const entity = await this.webhooks.create(projectId, {
      id,
      name: dto.name,
      type,
      urlEncrypted: this.secrets.encrypt(dto.url, secretContext.webhookUrl(id)),
      urlMasked: maskUrl(dto.url),
      events: dto.events,
      directMessage: dto.directMessage ?? false,
      locale: dto.locale ?? null,
      filter: orNull(dto.filter),
      templates: orNull(dto.templates),
      secretEncrypted: secret ? this.secrets.encrypt(secret, secretContext.webhookSecret(id)) : null,
      rateLimitCount: dto.rateLimit?.count ?? null,
      rateLimitPerSeconds: dto.rateLimit?.perSeconds ?? null,
      digest: dto.digest ? { afterQueued: dto.digest.afterQueued, maxItems: dto.digest.maxItems } : null,
      ordering: dto.ordering ?? 'none',
      enabled: dto.enabled ?? true,
      disabledReason: dto.enabled === false ? 'disabled at creation' : null,
      disabledAt: dto.enabled === false ? new Date() : null,
    });
    // A generated-or-given signing secret is shown once, at creation (docs/contract.md §3.5).
    return { ...this.present(entity), ...(adapter.newSecret && secret ? { secret } : {}) };
  }

  /**
   * Writes only what the request changes, in one conditional statement (issue 10, item 9): a PATCH
   * that races an auto-disable must not write the `enabled` it read back over it.
   */
  async update(projectId: number, id: string, dto: UpdateWebhookDto): Promise<WebhookDto> {
    const current = await this.webhooks.get(projectId, id);
    this.checkChannelConfig(current.type, dto);
    checkDigestForType(current.type, dto.digest);
    this.checkFilterAndTemplates(current.type, dto);
    const changes: WebhookChanges = {};
    if (dto.name !== undefined) changes.name = dto.name;
    if (dto.url !== undefined) {
      changes.urlEncrypted = this.secrets.encrypt(dto.url, secretContext.webhookUrl(id));
      changes.urlMasked = maskUrl(dto.url);
    }
    if (dto.events !== undefined) changes.events = dto.events;
    if (dto.directMessage !== undefined) changes.directMessage = dto.directMessage;
    if (dto.secret !== undefined) changes.secretEncrypted = this.secrets.encrypt(dto.secret, secretContext.webhookSecret(id));
    if (dto.rateLimit !== undefined) {
      changes.rateLimitCount = dto.rateLimit?.count ?? null;
      changes.rateLimitPerSeconds = dto.rateLimit?.perSeconds ?? null;
    }
    if (dto.locale !== undefined) changes.locale = dto.locale;
    if (dto.filter !== undefined) changes.filter = orNull(dto.filter);
    if (dto.templates !== undefined) changes.templates = orNull(dto.templates);
    if (dto.enabled !== undefined) changes.enabled = dto.enabled ? true : { disabledReason: 'disabled by a user' };
    if (dto.digest !== undefined) changes.digest = dto.digest ? { afterQueued: dto.digest.afterQueued, maxItems: dto.digest.maxItems } : null;
    if (dto.ordering !== undefined) changes.ordering = dto.ordering;
    const updated = await this.webhooks.update(projectId, id, changes);
    // Deliveries already waiting follow the new digest and ordering settings (new ones get them at fan-out).
    if (dto.digest !== undefined || dto.ordering !== undefined || dto.directMessage !== undefined) await this.lanes.applyLanes(projectId, id);
    return this.present(updated);
  }

  async secret(projectId: number, id: string): Promise<{ secret: string }> {
    const webhook = await this.webhooks.get(projectId, id);
    return { secret: this.secrets.decrypt(this.ownSecret(webhook).secretEncrypted, secretContext.webhookSecret(id)) };
  }

  /**
   * Issues a new secret; the one it replaces keeps signing alongside it for 24 h so receivers can
   * switch. One statement moves the current secret to `previous` and stores the new one, so of two
   * concurrent rotations the second keeps the first's new secret as its previous one: both issued
   * secrets sign (until the overlap ends), none is lost.
   */
  async rotateSecret(projectId: number, id: string): Promise<{ secret: string }> {
    const webhook = await this.webhooks.get(projectId, id);
    const secret = this.ownSecret(webhook).newSecret();
    await this.webhooks.rotateSecret(projectId, id, this.secrets.encrypt(secret, secretContext.webhookSecret(id)), SECRET_OVERLAP_MS);
    return { secret };
  }

  present(w: WebhookEntity): WebhookDto {
    const adapter = this.channels.get(w.type);
    const windows = rateWindows(effectiveRateLimit(w, adapter));
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
      rateLimit: windows[0] ? { ...windows[0] } : null,
      rateLimits: windows.map((x) => ({ ...x })),
      locale: w.locale ?? adapter.defaultLocale,
      digest: w.digest ? { afterQueued: w.digest.afterQueued, maxItems: w.digest.maxItems } : null,
      ordering: w.ordering ?? 'none',
      filter: w.filter ?? null,
      templates: w.templates ?? null,
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

  /**
   * The URL (host allow-list and HERALD_EXTRA_ALLOWED_HOSTS included), secret and directMessage
   * rules of the webhook's channel, all problems in one answer. For POST the DTO pass has run them
   * already; PATCH needs them here, its body carries no type.
   */
  private checkChannelConfig(type: ChannelType, dto: ChannelConfig): void {
    const problems = this.channels.configProblems(type, dto, this.config.extraAllowedHosts);
    if (problems.length) throw new ValidationFailed(problems);
  }

  /**
   * The filter and the templates (issue 16), every problem named by its place: `filter.$or[1]["issue.status"]`,
   * `templates["deployment.create"]`. A custom webhook takes no templates: its body is the signed event.
   */
  private checkFilterAndTemplates(type: ChannelType, dto: { filter?: unknown; templates?: unknown }): void {
    const problems: FieldProblem[] = [...filterProblems(dto.filter), ...templatesProblems(dto.templates)];
    if (!usesTemplates(type) && dto.templates && Object.keys(dto.templates).length) {
      problems.push({
        field: 'templates',
        message: `${type} webhooks send the signed event as JSON, which templates must not change; templates apply to chat channels`,
      });
    }
    if (problems.length) throw new ValidationFailed(problems);
  }

  /** Only webhooks whose channel issues its own secrets (custom) can show or rotate one. */
  private ownSecret(webhook: WebhookEntity): { newSecret: () => string; secretEncrypted: string } {
    const newSecret = this.channels.get(webhook.type).newSecret;
    if (!newSecret || !webhook.secretEncrypted) {
      const types = this.channels.types().filter((t) => this.channels.get(t).newSecret);
      throw new ValidationFailed([{ field: 'id', message: `only ${types.join(', ')} webhooks have a signing secret; this one is ${webhook.type}` }]);
    }
    return { newSecret, secretEncrypted: webhook.secretEncrypted };
  }
}

/** `{}` is stored as null: no filter matches everything, no template is the built-in message. */
function orNull<T extends object>(value: T | null | undefined): T | null {
  return value && Object.keys(value).length ? value : null;
}
