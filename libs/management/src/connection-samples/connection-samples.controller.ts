import { Controller, HttpCode, Param, Post, Req } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiProperty, ApiResponse, ApiTags } from '@nestjs/swagger';
import { NotFound, ValidationFailed } from '@herald/domain';
import { ConnectionRepository, ProjectRepository } from '@herald/persistence';
import { CurrentPrincipal, DependencyUnavailable, HeraldConfig, type Principal } from '@herald/platform';
import { endpoints } from '../connections/connection-view';
import { SAMPLE_ROUTES, sampleRequest, type SampleRoute } from './samples';

export class SampleResultDto {
  @ApiProperty({ enum: SAMPLE_ROUTES }) route: string;
  @ApiProperty({ description: 'The endpoint posted to, as the connection shows it (on HERALD_PUBLIC_URL)' }) url: string;
  @ApiProperty({ type: Object, nullable: true, description: 'The body sent' }) requestBody: unknown;
  @ApiProperty({ description: "The intake route's HTTP status" }) status: number;
  @ApiProperty({ type: Object, description: "The intake route's answer (DevLake's envelope)" }) response: unknown;
}

/**
 * "Send sample" for each route of an incoming connection: the sample goes through the real intake
 * route (ingestion, as a curl would), authenticated with the caller's own credentials, which that
 * route accepts for the connection's project (docs/decisions.md); the answer is returned as is.
 */
@ApiTags('connections')
@ApiBearerAuth()
@Controller('v1/projects/:key/connections/:id/samples')
export class ConnectionSamplesController {
  constructor(
    private readonly projects: ProjectRepository,
    private readonly connections: ConnectionRepository,
    private readonly config: HeraldConfig,
  ) {}

  @Post(':route')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Post a harmless sample (TESTING deployment, BUG issue, open pull request) through one of the connection routes and return its answer',
  })
  @ApiResponse({ status: 200, type: SampleResultDto })
  async send(
    @CurrentPrincipal() principal: Principal,
    // Read from the request, not @Headers(): that would list the header as a parameter in the OpenAPI description.
    @Req() request: { headers: Record<string, string | string[] | undefined> },
    @Param('key') key: string,
    @Param('id') id: string,
    @Param('route') route: string,
  ): Promise<SampleResultDto> {
    const project = await this.projects.resolve(principal, key);
    if (!/^\d{1,10}$/.test(id)) throw new NotFound(`connection ${id.slice(0, 50)} not found`);
    const connection = await this.connections.get(project.id, Number(id));
    if (!(SAMPLE_ROUTES as readonly string[]).includes(route))
      throw new ValidationFailed([{ field: 'route', message: `route must be one of: ${SAMPLE_ROUTES.join(', ')}` }]);
    const { path, body } = sampleRequest(route as SampleRoute, new Date());
    const shown = endpoints(this.config.publicUrl, connection.id)[route as SampleRoute].replace(':issueKey', path.split('/')[1] ?? '');
    const res = await this.post(`/api/rest/plugins/webhook/connections/${connection.id}/${path}`, {
      method: 'POST',
      headers: { authorization: String(request.headers.authorization), 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    let response: unknown = text;
    try {
      response = JSON.parse(text);
    } catch {
      // not JSON: keep the text
    }
    return { route, url: shown, requestBody: body ?? null, status: res.status, response };
  }

  /** To each ingestion URL in turn while the connection is refused (nothing was sent); 503 when none answers. */
  private async post(path: string, init: RequestInit): Promise<Response> {
    let last: unknown;
    for (const url of this.config.ingestionUrls) {
      try {
        return await fetch(`${url}${path}`, { ...init, signal: AbortSignal.timeout(10_000) });
      } catch (err) {
        last = err;
        if ((err as { cause?: { code?: string } }).cause?.code !== 'ECONNREFUSED') break;
      }
    }
    throw new DependencyUnavailable('ingestion', last);
  }
}
