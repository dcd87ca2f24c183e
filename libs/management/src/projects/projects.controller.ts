import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { ApiKeyRepository, ProjectRepository, type ApiKeyEntity, type ProjectEntity } from '@herald/persistence';
import { AdminOnly, CurrentPrincipal, type Principal } from '@herald/platform';
import { PageQueryDto, iso, pageRequest } from '../dto-helpers';
import { ApiKeyDto, ApiKeyListDto, CreateApiKeyDto, CreateProjectDto, CreatedApiKeyDto, ProjectDto, ProjectPageDto, UpdateProjectDto } from './project.dto';

export const presentProject = (p: ProjectEntity): ProjectDto => ({ id: p.id, key: p.key, name: p.name, createdAt: p.createdAt.toISOString() });
const presentKey = (k: ApiKeyEntity): ApiKeyDto => ({ id: k.id, name: k.name, hint: k.keyHint, createdAt: iso(k.createdAt) as string });

@ApiTags('projects')
@ApiBearerAuth()
@Controller('v1/projects')
export class ProjectsController {
  constructor(
    private readonly projects: ProjectRepository,
    private readonly keys: ApiKeyRepository,
  ) {}

  @Post()
  @AdminOnly('create projects')
  @ApiOperation({ summary: 'Create a project (admin token only)' })
  @ApiResponse({ status: 201, type: ProjectDto })
  async create(@Body() body: CreateProjectDto): Promise<ProjectDto> {
    return presentProject(await this.projects.create(body.key, body.name));
  }

  @Get()
  @ApiResponse({ status: 200, type: ProjectPageDto })
  async list(@CurrentPrincipal() principal: Principal, @Query() query: PageQueryDto): Promise<ProjectPageDto> {
    const page = await this.projects.list(principal, pageRequest(query));
    return { items: page.items.map(presentProject), nextCursor: page.nextCursor };
  }

  @Get(':key')
  @ApiResponse({ status: 200, type: ProjectDto })
  async get(@CurrentPrincipal() principal: Principal, @Param('key') key: string): Promise<ProjectDto> {
    return presentProject(await this.projects.resolve(principal, key));
  }

  @Patch(':key')
  @ApiResponse({ status: 200, type: ProjectDto })
  async update(@CurrentPrincipal() principal: Principal, @Param('key') key: string, @Body() body: UpdateProjectDto): Promise<ProjectDto> {
    const project = await this.projects.resolve(principal, key);
    return presentProject(await this.projects.rename(project.id, body.name));
  }

  @Delete(':key')
  @HttpCode(204)
  @AdminOnly('delete projects')
  @ApiOperation({ summary: 'Delete a project and everything in it (admin token only)' })
  async remove(@CurrentPrincipal() principal: Principal, @Param('key') key: string): Promise<void> {
    const project = await this.projects.resolve(principal, key);
    await this.projects.delete(project.id);
  }

  @Post(':key/api-keys')
  @AdminOnly('create API keys')
  @ApiOperation({ summary: 'Create a project API key (admin token only); the key is in this answer only' })
  @ApiResponse({ status: 201, type: CreatedApiKeyDto })
  async createKey(@CurrentPrincipal() principal: Principal, @Param('key') key: string, @Body() body: CreateApiKeyDto): Promise<CreatedApiKeyDto> {
    const project = await this.projects.resolve(principal, key);
    const created = await this.keys.create(project.id, body.name);
    return { id: created.entity.id, name: created.entity.name, key: created.key };
  }

  @Get(':key/api-keys')
  @ApiResponse({ status: 200, type: ApiKeyListDto })
  async listKeys(@CurrentPrincipal() principal: Principal, @Param('key') key: string, @Query() query: PageQueryDto): Promise<ApiKeyListDto> {
    const project = await this.projects.resolve(principal, key);
    const page = await this.keys.list(project.id, pageRequest(query));
    return { items: page.items.map(presentKey), nextCursor: page.nextCursor };
  }

  @Delete(':key/api-keys/:id')
  @HttpCode(204)
  @AdminOnly('revoke API keys')
  @ApiOperation({ summary: 'Revoke an API key at once (admin token only)' })
  async revokeKey(@CurrentPrincipal() principal: Principal, @Param('key') key: string, @Param('id') id: string): Promise<void> {
    const project = await this.projects.resolve(principal, key);
    await this.keys.delete(project.id, id);
  }
}
