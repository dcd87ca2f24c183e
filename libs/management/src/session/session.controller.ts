import { Controller, Get } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiProperty, ApiPropertyOptional, ApiResponse, ApiTags } from '@nestjs/swagger';
import { ProjectRepository } from '@herald/persistence';
import { CurrentPrincipal, type Principal } from '@herald/platform';
import { ProjectDto } from '../projects/project.dto';
import { presentProject } from '../projects/projects.controller';

export class SessionDto {
  @ApiProperty({ enum: ['admin', 'project'], description: 'admin: the admin token, every right; project: a project API key, its own project only' })
  kind: 'admin' | 'project';

  @ApiPropertyOptional({ type: ProjectDto, description: 'The project a project API key belongs to' })
  project?: ProjectDto;

  @ApiProperty({ type: [String], description: 'What these credentials may not do, each with the reason (empty for the admin token)' })
  restrictions: string[];
}

/** Who the caller is: lets a client (the web console) hide what a project key may not do. */
@ApiTags('session')
@ApiBearerAuth()
@Controller('v1/session')
export class SessionController {
  constructor(private readonly projects: ProjectRepository) {}

  @Get()
  @ApiOperation({ summary: 'Who these credentials are: the admin token or a project API key (and its project)' })
  @ApiResponse({ status: 200, type: SessionDto })
  async get(@CurrentPrincipal() principal: Principal): Promise<SessionDto> {
    if (principal.kind === 'admin') return { kind: 'admin', restrictions: [] };
    const [project] = (await this.projects.list(principal, { limit: 1 })).items;
    return {
      kind: 'project',
      project: presentProject(project),
      restrictions: [
        'create or delete projects: only the admin token can',
        'create or revoke API keys: only the admin token can',
        'read or change IM integrations: they are workspace-wide, only the admin token can',
      ],
    };
  }
}
