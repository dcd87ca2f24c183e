import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { ProjectRepository, WebhookRepository } from '@herald/persistence';
import { CurrentPrincipal, type Principal } from '@herald/platform';
import { PageQueryDto, pageRequest } from '../dto-helpers';
import { CreateWebhookDto, UpdateWebhookDto, WebhookDto, WebhookPageDto, WebhookSecretDto } from './webhook.dto';
import { WebhooksService } from './webhooks.service';

@ApiTags('webhooks')
@ApiBearerAuth()
@Controller('v1/projects/:key/webhooks')
export class WebhooksController {
  constructor(
    private readonly projects: ProjectRepository,
    private readonly webhooks: WebhookRepository,
    private readonly service: WebhooksService,
  ) {}

  @Post()
  @ApiOperation({ summary: 'Create an outgoing webhook; a custom webhook answers with its signing secret once' })
  @ApiResponse({ status: 201, type: WebhookDto })
  async create(@CurrentPrincipal() principal: Principal, @Param('key') key: string, @Body() body: CreateWebhookDto): Promise<WebhookDto> {
    const project = await this.projects.resolve(principal, key);
    return this.service.create(project.id, body);
  }

  @Get()
  @ApiResponse({ status: 200, type: WebhookPageDto })
  async list(@CurrentPrincipal() principal: Principal, @Param('key') key: string, @Query() query: PageQueryDto): Promise<WebhookPageDto> {
    const project = await this.projects.resolve(principal, key);
    const page = await this.webhooks.list(project.id, pageRequest(query));
    return { items: page.items.map((w) => this.service.present(w)), nextCursor: page.nextCursor };
  }

  @Get(':id')
  @ApiResponse({ status: 200, type: WebhookDto })
  async get(@CurrentPrincipal() principal: Principal, @Param('key') key: string, @Param('id') id: string): Promise<WebhookDto> {
    const project = await this.projects.resolve(principal, key);
    return this.service.present(await this.webhooks.get(project.id, id));
  }

  @Patch(':id')
  @ApiResponse({ status: 200, type: WebhookDto })
  async update(
    @CurrentPrincipal() principal: Principal,
    @Param('key') key: string,
    @Param('id') id: string,
    @Body() body: UpdateWebhookDto,
  ): Promise<WebhookDto> {
    const project = await this.projects.resolve(principal, key);
    return this.service.update(project.id, id, body);
  }

  @Delete(':id')
  @HttpCode(204)
  async remove(@CurrentPrincipal() principal: Principal, @Param('key') key: string, @Param('id') id: string): Promise<void> {
    const project = await this.projects.resolve(principal, key);
    await this.webhooks.delete(project.id, id);
  }

  @Get(':id/secret')
  @ApiOperation({ summary: 'The signing secret of a custom webhook' })
  @ApiResponse({ status: 200, type: WebhookSecretDto })
  async secret(@CurrentPrincipal() principal: Principal, @Param('key') key: string, @Param('id') id: string): Promise<WebhookSecretDto> {
    const project = await this.projects.resolve(principal, key);
    return this.service.secret(project.id, id);
  }

  @Post(':id/rotate-secret')
  @HttpCode(200)
  @ApiOperation({ summary: 'Issue a new signing secret; the old one keeps signing alongside it for 24 h' })
  @ApiResponse({ status: 200, type: WebhookSecretDto })
  async rotate(@CurrentPrincipal() principal: Principal, @Param('key') key: string, @Param('id') id: string): Promise<WebhookSecretDto> {
    const project = await this.projects.resolve(principal, key);
    return this.service.rotateSecret(project.id, id);
  }
}
