import { Controller, Get, Param, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { ValidationFailed } from '@herald/domain';
import { ProjectRepository, WebhookRepository } from '@herald/persistence';
import { CurrentPrincipal, type Principal } from '@herald/platform';
import { ConnectionStatsListDto, OverviewDto, OverviewQueryDto, RecoverableDto, RecoverableQueryDto, WebhookStatsListDto } from './stats.dto';
import { StatsQueries } from './stats.queries';

/** Figures the web console shows next to the resources (read-only; tenancy as every project route). */
@ApiTags('stats')
@ApiBearerAuth()
@Controller('v1/projects/:key/stats')
export class StatsController {
  constructor(
    private readonly projects: ProjectRepository,
    private readonly webhooks: WebhookRepository,
    private readonly stats: StatsQueries,
  ) {}

  @Get('webhooks')
  @ApiOperation({ summary: "Each webhook's deliveries over the last 24 hours (failure rate) and its latest delivery" })
  @ApiResponse({ status: 200, type: WebhookStatsListDto })
  async webhookStats(@CurrentPrincipal() principal: Principal, @Param('key') key: string): Promise<WebhookStatsListDto> {
    const project = await this.projects.resolve(principal, key);
    return this.stats.webhooks(project.id);
  }

  @Get('overview')
  @ApiOperation({ summary: 'Accepted and delivered per minute, success rate, p95 latency, backlog, dead deliveries, disabled webhooks' })
  @ApiResponse({ status: 200, type: OverviewDto })
  async overview(@CurrentPrincipal() principal: Principal, @Param('key') key: string, @Query() query: OverviewQueryDto): Promise<OverviewDto> {
    const project = await this.projects.resolve(principal, key);
    return this.stats.overview(project.id, query.minutes ?? 60);
  }

  @Get('connections')
  @ApiOperation({ summary: 'Per incoming connection: deployments, issues, incidents and pull requests received, and when last' })
  @ApiResponse({ status: 200, type: ConnectionStatsListDto })
  async connectionStats(@CurrentPrincipal() principal: Principal, @Param('key') key: string): Promise<ConnectionStatsListDto> {
    const project = await this.projects.resolve(principal, key);
    return { items: await this.stats.connections(project.id) };
  }

  @Get('recoverable')
  @ApiOperation({ summary: 'How many deliveries POST .../webhooks/{id}/recover would replay for this window (so a client can ask before it acts)' })
  @ApiResponse({ status: 200, type: RecoverableDto })
  async recoverable(@CurrentPrincipal() principal: Principal, @Param('key') key: string, @Query() query: RecoverableQueryDto): Promise<RecoverableDto> {
    const project = await this.projects.resolve(principal, key);
    const webhook = await this.webhooks.get(project.id, query.webhookId);
    const until = query.until ?? new Date();
    if (until.getTime() <= query.since.getTime()) throw new ValidationFailed([{ field: 'until', message: 'must be later than since' }]);
    return { count: await this.stats.recoverable(project.id, webhook.id, query.since, until), since: query.since.toISOString(), until: until.toISOString() };
  }
}
