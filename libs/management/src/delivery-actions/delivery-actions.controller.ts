import { Body, Controller, HttpCode, Param, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { ProjectRepository, WebhookRepository } from '@herald/persistence';
import { CurrentPrincipal, type Principal } from '@herald/platform';
import { RecoverDto, RecoverResultDto, ReplayResultDto, TestResultDto } from './delivery-actions.dto';
import { DeliveryActionsService } from './delivery-actions.service';

@ApiTags('deliveries')
@ApiBearerAuth()
@Controller('v1/projects/:key')
export class DeliveryActionsController {
  constructor(
    private readonly projects: ProjectRepository,
    private readonly webhooks: WebhookRepository,
    private readonly service: DeliveryActionsService,
  ) {}

  @Post('deliveries/:id/replay')
  @HttpCode(202)
  @ApiOperation({ summary: 'Replay a finished delivery: a new attempt chain with the same delivery id (webhook-id); 409 while it is still in progress' })
  @ApiResponse({ status: 202, type: ReplayResultDto })
  async replay(@CurrentPrincipal() principal: Principal, @Param('key') key: string, @Param('id') id: string): Promise<ReplayResultDto> {
    const project = await this.projects.resolve(principal, key);
    return this.service.replay(project.id, id);
  }

  @Post('webhooks/:id/recover')
  @HttpCode(202)
  @ApiOperation({ summary: 'Replay every failed or dead delivery of this webhook created in [since, until)' })
  @ApiResponse({ status: 202, type: RecoverResultDto })
  async recover(
    @CurrentPrincipal() principal: Principal,
    @Param('key') key: string,
    @Param('id') id: string,
    @Body() body: RecoverDto,
  ): Promise<RecoverResultDto> {
    const project = await this.projects.resolve(principal, key);
    return this.service.recover(await this.webhooks.get(project.id, id), body.since, body.until);
  }

  @Post('webhooks/:id/test')
  @HttpCode(200)
  @ApiOperation({ summary: 'Send one test message now, through the same adapter and safety checks, without retry' })
  @ApiResponse({ status: 200, type: TestResultDto })
  async test(@CurrentPrincipal() principal: Principal, @Param('key') key: string, @Param('id') id: string): Promise<TestResultDto> {
    const project = await this.projects.resolve(principal, key);
    return this.service.test(project, await this.webhooks.get(project.id, id));
  }
}
