import { Controller, Get, Param, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { ProjectRepository } from '@herald/persistence';
import { CurrentPrincipal, type Principal } from '@herald/platform';
import { DoraDto, DoraQueryDto } from './dora.dto';
import { DoraService } from './dora.service';

@ApiTags('dora')
@ApiBearerAuth()
@Controller('v1/projects/:key/dora')
export class DoraController {
  constructor(
    private readonly projects: ProjectRepository,
    private readonly dora: DoraService,
  ) {}

  @Get()
  @ApiOperation({
    summary: 'The four DORA metrics of the project, computed now from its deployments, incidents and pull requests',
    description:
      'Deployment frequency, lead time for changes, change failure rate, and failed deployment recovery time (2023) or time to restore service (2021).',
  })
  @ApiResponse({ status: 200, type: DoraDto })
  async get(@CurrentPrincipal() principal: Principal, @Param('key') key: string, @Query() query: DoraQueryDto): Promise<DoraDto> {
    const project = await this.projects.resolve(principal, key);
    return this.dora.compute({
      projectId: project.id,
      projectKey: project.key,
      from: query.from,
      to: query.to,
      report: query.report,
      environment: query.environment,
    });
  }
}
