import { Body, Controller, HttpCode, Param, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { ProjectRepository } from '@herald/persistence';
import { CurrentPrincipal, type Principal } from '@herald/platform';
import { WebhookPreviewDto, WebhookPreviewResultDto } from './webhook-preview.dto';
import { WebhookPreviewService } from './webhook-preview.service';

@ApiTags('webhooks')
@ApiBearerAuth()
@Controller('v1/projects/:key/webhooks/preview')
export class WebhookPreviewController {
  constructor(
    private readonly projects: ProjectRepository,
    private readonly service: WebhookPreviewService,
  ) {}

  @Post()
  @HttpCode(200)
  @ApiOperation({
    summary: 'The exact body a webhook of this type would send for an event, with its message templates (nothing is stored or sent)',
    description:
      '400 names every bad field: the URL against the type\'s allow-list, each template that does not parse (`templates["<type>"]`), each bad part of the event (`event.issue.status`). A template that parses but fails to render answers 200 with the built-in message and `templateError`, as a delivery would.',
  })
  @ApiResponse({ status: 200, type: WebhookPreviewResultDto })
  async preview(@CurrentPrincipal() principal: Principal, @Param('key') key: string, @Body() body: WebhookPreviewDto): Promise<WebhookPreviewResultDto> {
    const project = await this.projects.resolve(principal, key);
    return this.service.preview(project, body);
  }
}
