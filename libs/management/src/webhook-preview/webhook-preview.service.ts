import { Injectable } from '@nestjs/common';
import { ChannelRegistry, renderMessage, templatesProblems, usesTemplates, type ChannelTarget } from '@herald/channels';
import { ValidationFailed, newId, type ChannelType, type FieldProblem } from '@herald/domain';
import { WebhookRepository, type ProjectEntity } from '@herald/persistence';
import { HeraldConfig, SecretBox, secretContext } from '@herald/platform';
import { previewEvent, previewEventProblems } from './preview-event';
import type { WebhookPreviewDto, WebhookPreviewResultDto } from './webhook-preview.dto';

/** A URL of the usual form per type, for a preview without one: only Teams' format depends on it (Workflows here). */
const USUAL_URLS: Record<ChannelType, string> = {
  slack: 'https://hooks.slack.com/services/T00000000/B00000000/preview',
  discord: 'https://discord.com/api/webhooks/0/preview',
  teams: 'https://preview.logic.azure.com/workflows/preview/triggers/manual/paths/invoke',
  dingtalk: 'https://oapi.dingtalk.com/robot/send?access_token=preview',
  feishu: 'https://open.feishu.cn/open-apis/bot/v2/hook/preview',
  lark: 'https://open.larksuite.com/open-apis/bot/v2/hook/preview',
  wecom: 'https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=preview',
  googlechat: 'https://chat.googleapis.com/v1/spaces/PREVIEW/messages?key=preview&token=preview',
  custom: 'https://receiver.example.com/herald',
};

/**
 * `POST /v1/projects/{key}/webhooks/preview` (issue 16, item 4): the body a delivery would send,
 * rendered by the same code as the worker's (renderMessage), without storing or sending anything.
 */
@Injectable()
export class WebhookPreviewService {
  constructor(
    private readonly channels: ChannelRegistry,
    private readonly webhooks: WebhookRepository,
    private readonly secrets: SecretBox,
    private readonly config: HeraldConfig,
  ) {}

  async preview(project: ProjectEntity, dto: WebhookPreviewDto): Promise<WebhookPreviewResultDto> {
    const type = dto.type as ChannelType;
    const problems: FieldProblem[] = [];
    if (dto.url !== undefined) problems.push(...this.channels.configProblems(type, { url: dto.url }, this.config.extraAllowedHosts));
    problems.push(...templatesProblems(dto.templates), ...previewEventProblems(dto.event));
    if (!usesTemplates(type) && dto.templates && Object.keys(dto.templates).length) {
      problems.push({
        field: 'templates',
        message: `${type} webhooks send the signed event as JSON, which templates must not change; templates apply to chat channels`,
      });
    }
    if (problems.length) throw new ValidationFailed(problems);

    const adapter = this.channels.get(type);
    const now = new Date();
    const event = previewEvent(dto.event, project.key, now);
    const target: ChannelTarget = {
      url: dto.url ?? USUAL_URLS[type],
      secret: adapter.newSecret?.() ?? null,
      previousSecret: null,
      locale: dto.locale === 'zh' || dto.locale === 'en' ? dto.locale : adapter.defaultLocale,
      template: dto.templates?.[event.type] ?? null,
    };
    if (dto.webhookId) {
      const saved = await this.webhooks.get(project.id, dto.webhookId);
      if (saved.type !== type) throw new ValidationFailed([{ field: 'webhookId', message: `webhook ${saved.id} is a ${saved.type} webhook, not ${type}` }]);
      if (dto.url === undefined) target.url = this.secrets.decrypt(saved.urlEncrypted, secretContext.webhookUrl(saved.id));
      if (saved.secretEncrypted && !adapter.newSecret) target.secret = this.secrets.decrypt(saved.secretEncrypted, secretContext.webhookSecret(saved.id));
      if (dto.locale === undefined && (saved.locale === 'en' || saved.locale === 'zh')) target.locale = saved.locale;
    }
    const { request, templateError } = renderMessage(adapter, event, target, {
      deliveryId: newId(),
      now,
      project: { id: project.id, key: project.key, name: project.name },
    });
    return { body: request.body, templateError };
  }
}
