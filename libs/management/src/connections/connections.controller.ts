import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { NotFound, ValidationFailed } from '@herald/domain';
import { ConnectionRepository, ProjectRepository } from '@herald/persistence';
import { CurrentPrincipal, HeraldConfig, type Principal } from '@herald/platform';
import { PageQueryDto, pageRequest } from '../dto-helpers';
import { PROJECT_KEY } from '../projects/project.dto';
import { ConnectionDto, ConnectionPageDto, ConnectionWithKeyDto, CreateConnectionDto, UpdateConnectionDto } from './connection.dto';
import { presentConnection, presentWithKey } from './connection-view';

/** Ids in paths are positive integers; anything else is a connection that does not exist. */
function connectionId(raw: string): number {
  if (!/^\d{1,10}$/.test(raw)) throw new NotFound(`connection ${raw.slice(0, 50)} not found`);
  return Number(raw);
}

/**
 * `{key}_deployments` is the connection `projects/{key}/deployments` creates for project `key`
 * (docs/contract.md §5.2): no other project may take the name, whether project `key` exists yet or not.
 */
function checkNotReserved(name: string, projectKey: string): void {
  const owner = /^(.+)_deployments$/.exec(name)?.[1];
  if (owner !== undefined && owner !== projectKey && PROJECT_KEY.test(owner)) {
    throw new ValidationFailed([
      { field: 'name', message: `name "${name}" is reserved for project ${owner} (its projects/${owner}/deployments route); choose another name` },
    ]);
  }
}

/** Incoming DevLake-compatible connections of a project (docs/contract.md §3.7). */
@ApiTags('connections')
@ApiBearerAuth()
@Controller('v1/projects/:key/connections')
export class ConnectionsController {
  private readonly publicUrl: string;

  constructor(
    private readonly projects: ProjectRepository,
    private readonly connections: ConnectionRepository,
    config: HeraldConfig,
  ) {
    this.publicUrl = config.publicUrl;
  }

  @Post()
  @ApiOperation({ summary: 'Create a connection; its key and ready-to-paste curl commands are in this answer only' })
  @ApiResponse({ status: 201, type: ConnectionWithKeyDto })
  async create(@CurrentPrincipal() principal: Principal, @Param('key') key: string, @Body() body: CreateConnectionDto): Promise<ConnectionWithKeyDto> {
    const project = await this.projects.resolve(principal, key);
    checkNotReserved(body.name, project.key);
    const created = await this.connections.create(project.id, body.name);
    return presentWithKey(this.publicUrl, created.entity, created.key);
  }

  @Get()
  @ApiResponse({ status: 200, type: ConnectionPageDto })
  async list(@CurrentPrincipal() principal: Principal, @Param('key') key: string, @Query() query: PageQueryDto): Promise<ConnectionPageDto> {
    const project = await this.projects.resolve(principal, key);
    const page = await this.connections.list(project.id, pageRequest(query));
    return { items: page.items.map((c) => presentConnection(this.publicUrl, c)), nextCursor: page.nextCursor };
  }

  @Get(':id')
  @ApiResponse({ status: 200, type: ConnectionDto })
  async get(@CurrentPrincipal() principal: Principal, @Param('key') key: string, @Param('id') id: string): Promise<ConnectionDto> {
    const project = await this.projects.resolve(principal, key);
    return presentConnection(this.publicUrl, await this.connections.get(project.id, connectionId(id)));
  }

  @Patch(':id')
  @ApiOperation({ summary: 'Rename a connection' })
  @ApiResponse({ status: 200, type: ConnectionDto })
  async rename(
    @CurrentPrincipal() principal: Principal,
    @Param('key') key: string,
    @Param('id') id: string,
    @Body() body: UpdateConnectionDto,
  ): Promise<ConnectionDto> {
    const project = await this.projects.resolve(principal, key);
    checkNotReserved(body.name, project.key);
    return presentConnection(this.publicUrl, await this.connections.rename(project.id, connectionId(id), body.name));
  }

  @Delete(':id')
  @HttpCode(204)
  @ApiOperation({ summary: 'Delete a connection, its key, and what was posted through it' })
  async remove(@CurrentPrincipal() principal: Principal, @Param('key') key: string, @Param('id') id: string): Promise<void> {
    const project = await this.projects.resolve(principal, key);
    await this.connections.delete(project.id, connectionId(id));
  }

  @Post(':id/rotate-key')
  @HttpCode(200)
  @ApiOperation({ summary: 'Issue a new key; the old one stops working at once' })
  @ApiResponse({ status: 200, type: ConnectionWithKeyDto })
  async rotate(@CurrentPrincipal() principal: Principal, @Param('key') key: string, @Param('id') id: string): Promise<ConnectionWithKeyDto> {
    const project = await this.projects.resolve(principal, key);
    const rotated = await this.connections.rotateKey(project.id, connectionId(id));
    return presentWithKey(this.publicUrl, rotated.entity, rotated.key);
  }
}
