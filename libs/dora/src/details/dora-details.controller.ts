import { Controller, Get, Param, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { ProjectRepository } from '@herald/persistence';
import { CurrentPrincipal, type Principal } from '@herald/platform';
import { DoraQueryDto } from '../dora.dto';
import { DoraDetailsDto } from './dora-details.dto';
import { DoraDetailsService } from './dora-details.service';

@ApiTags('dora')
@ApiBearerAuth()
@Controller('v1/projects/:key/dora/details')
export class DoraDetailsController {
  constructor(
    private readonly projects: ProjectRepository,
    private readonly details: DoraDetailsService,
  ) {}

  @Get()
  @ApiOperation({ summary: 'The metrics per month of the window (empty months as zero), the deployments and incidents behind them, and the benchmark table' })
  @ApiResponse({ status: 200, type: DoraDetailsDto })
  async get(@CurrentPrincipal() principal: Principal, @Param('key') key: string, @Query() query: DoraQueryDto): Promise<DoraDetailsDto> {
    const project = await this.projects.resolve(principal, key);
    return this.details.details(project.id, project.key, query);
  }
}
