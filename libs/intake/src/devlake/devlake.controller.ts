import { Body, Controller, Headers, HttpCode, Param, Post, Req } from '@nestjs/common';
import { ApiBasicAuth, ApiBearerAuth, ApiBody, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { Public, RequestSpan, type TraceSpan } from '@herald/platform';
import { DevLakeAuth, REST_PREFIX, type IntakeCaller } from './devlake-auth';
import { DEVLAKE_SUCCESS, DevLakeIntakeService, type ConnectionRef } from './devlake-intake.service';

/** The four prefixes DevLake's webhook URLs use (docs/contract.md §5.2); the same handlers answer under each. */
export const DEVLAKE_PREFIXES = ['api/plugins/webhook', 'plugins/webhook', 'api/rest/plugins/webhook', 'rest/plugins/webhook'];

const OK = { status: 200, description: 'Committed', schema: { example: DEVLAKE_SUCCESS } };
const ANY_JSON = { schema: { type: 'object', additionalProperties: true } };

interface RouteParams {
  connectionId?: string;
  connectionName?: string;
  projectKey?: string;
  boardKey?: string;
  issueKey?: string;
}

function ref(p: RouteParams): ConnectionRef {
  if (p.connectionName !== undefined) return { name: p.connectionName };
  if (p.projectKey !== undefined) return { projectKey: p.projectKey };
  return { id: p.connectionId ?? '' };
}

/**
 * DevLake-compatible incoming webhooks. Public for the global guard: these routes authenticate
 * with connection keys and Basic auth (DevLakeAuth), and answer in DevLake's envelope.
 */
@ApiTags('devlake webhooks')
@ApiBearerAuth()
@ApiBasicAuth()
@Public()
@Controller(DEVLAKE_PREFIXES)
export class DevLakeController {
  constructor(
    private readonly auth: DevLakeAuth,
    private readonly intake: DevLakeIntakeService,
  ) {}

  private caller(req: { url: string; ip: string }, authorization: string | undefined): Promise<IntakeCaller> {
    return this.auth.authenticate(authorization, REST_PREFIX.test(req.url), req.ip);
  }

  @Post([
    ':connectionId/deployments',
    'connections/:connectionId/deployments',
    'connections/by-name/:connectionName/deployments',
    'projects/:projectKey/deployments',
  ])
  @HttpCode(200)
  @ApiOperation({
    summary: 'Register or update a deployment',
    description:
      'Three shapes: the seed form {commit_sha, repo_url, environment?, start_time?, end_time?}; the snake_case form with pipeline_id and deployment_commits; ' +
      "DevLake's camelCase form {id, startedDate, finishedDate, deploymentCommits: [...]}. projects/{key}/deployments uses the connection {key}_deployments, created on first use.",
  })
  @ApiBody(ANY_JSON)
  @ApiResponse(OK)
  async deployments(
    @Req() req: { url: string; ip: string },
    @Headers('authorization') authorization: string | undefined,
    @Param() params: RouteParams,
    @Body() body: unknown,
    @RequestSpan() span?: TraceSpan,
  ) {
    await this.intake.postDeployment(await this.caller(req, authorization), ref(params), body, span);
    return DEVLAKE_SUCCESS;
  }

  @Post([':connectionId/issues', 'connections/:connectionId/issues', 'connections/by-name/:connectionName/issues'])
  @HttpCode(200)
  @ApiOperation({ summary: 'Register or update an issue or incident (type INCIDENT)', description: 'snake_case (seed) or camelCase keys' })
  @ApiBody(ANY_JSON)
  @ApiResponse(OK)
  async issues(
    @Req() req: { url: string; ip: string },
    @Headers('authorization') authorization: string | undefined,
    @Param() params: RouteParams,
    @Body() body: unknown,
    @RequestSpan() span?: TraceSpan,
  ) {
    await this.intake.postIssue(await this.caller(req, authorization), ref(params), body, span);
    return DEVLAKE_SUCCESS;
  }

  @Post([
    ':connectionId/issue/:boardKey/:issueKey/close',
    ':connectionId/issue/:issueKey/close',
    'connections/:connectionId/issue/:issueKey/close',
    'connections/by-name/:connectionName/issue/:issueKey/close',
  ])
  @HttpCode(200)
  @ApiOperation({
    summary: 'Close an issue: DONE, resolution date now when unset, lead time computed; the body is ignored',
    description:
      "C/issue/{boardKey}/{issueKey}/close is the seed's form; C/issue/{issueKey}/close is DevLake's legacy alias of connections/C/issue/{issueKey}/close.",
  })
  @ApiResponse(OK)
  async close(
    @Req() req: { url: string; ip: string },
    @Headers('authorization') authorization: string | undefined,
    @Param() params: RouteParams,
    @RequestSpan() span?: TraceSpan,
  ) {
    await this.intake.closeIssue(await this.caller(req, authorization), ref(params), params.issueKey ?? '', params.boardKey ?? null, span);
    return DEVLAKE_SUCCESS;
  }

  @Post([':connectionId/pull_requests', 'connections/:connectionId/pull_requests', 'connections/by-name/:connectionName/pull_requests'])
  @HttpCode(200)
  @ApiOperation({ summary: 'Register or update a pull request (kept for lead time; no notification)' })
  @ApiBody(ANY_JSON)
  @ApiResponse(OK)
  async pullRequests(
    @Req() req: { url: string; ip: string },
    @Headers('authorization') authorization: string | undefined,
    @Param() params: RouteParams,
    @Body() body: unknown,
  ) {
    await this.intake.postPullRequest(await this.caller(req, authorization), ref(params), body);
    return DEVLAKE_SUCCESS;
  }
}
