import { createHash } from 'node:crypto';
import { Body, Controller, HttpCode, Param, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { ChannelRegistry } from '@herald/channels';
import { ValidationFailed, type ChannelType } from '@herald/domain';
import { ProjectRepository } from '@herald/persistence';
import { CurrentPrincipal, HeraldConfig, type Principal } from '@herald/platform';
import { TestResultDto } from '../delivery-actions/delivery-actions.dto';
import { TestSender } from './test-sender';
import { TrialWebhookDto } from './webhook-trial.dto';

@ApiTags('webhooks')
@ApiBearerAuth()
@Controller('v1/projects/:key/webhooks/test')
export class WebhookTrialController {
  constructor(
    private readonly projects: ProjectRepository,
    private readonly channels: ChannelRegistry,
    private readonly sender: TestSender,
    private readonly config: HeraldConfig,
  ) {}

  @Post()
  @HttpCode(200)
  @ApiOperation({ summary: 'Send one test message to a webhook that is not saved yet (same checks as a create and as a saved test; nothing is stored)' })
  @ApiResponse({ status: 200, type: TestResultDto })
  async test(@CurrentPrincipal() principal: Principal, @Param('key') key: string, @Body() body: TrialWebhookDto): Promise<TestResultDto> {
    const project = await this.projects.resolve(principal, key);
    const type = body.type as ChannelType;
    const problems = this.channels.configProblems(type, body, this.config.extraAllowedHosts);
    if (problems.length) throw new ValidationFailed(problems);
    const adapter = this.channels.get(type);
    // Keyed by the URL, so trying the same endpoint again and again meets its platform's limit.
    const limiterKey = `test:${createHash('sha256').update(body.url).digest('hex').slice(0, 24)}`;
    return this.sender.send(project, {
      name: body.name ?? 'not saved yet',
      eventType: body.events?.[0] ?? 'bb.issue.create',
      endpoint: { type, url: body.url, secret: body.secret ?? null, locale: body.locale },
      limiterKey,
      rateLimit: adapter.defaultRateLimit,
    });
  }
}
