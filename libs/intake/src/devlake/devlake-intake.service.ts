import { Injectable } from '@nestjs/common';
import { Conflict, NotFound, ValidationFailed } from '@herald/domain';
import { ConnectionRepository, DevLakeRepository, ProjectRepository, type DevLakeConnectionEntity } from '@herald/persistence';
import { type TraceSpan } from '@herald/platform';
import { IntakeMetrics } from '../intake-metrics';
import { traceStore } from '../trace-store';
import { DevLakeAuth, type IntakeCaller } from './devlake-auth';
import { deploymentEvents, issueEvents } from './events';
import { closedIssue, parseIssue, parsePullRequest, readDeployment, withConnectionId, type ParsedDeployment } from './payloads';

/** How a route names its connection: `C`, `connections/C`, `connections/by-name/N`, or `projects/P`. */
export type ConnectionRef = { id: string } | { name: string } | { projectKey: string };

/** DevLake's success answer (docs/contract.md §5.2). */
export const DEVLAKE_SUCCESS = { code: 0, success: true, message: 'success', causes: null, data: null } as const;

const MAX_NAME = 100;
const PROJECT_KEY = /^[a-z0-9][a-z0-9-]{1,62}$/;

/**
 * The DevLake-compatible webhook use cases: authenticate, resolve the connection, parse, store
 * with the events and their outbox rows in one transaction (the worker's relay is notified at the
 * commit).
 */
@Injectable()
export class DevLakeIntakeService {
  constructor(
    private readonly auth: DevLakeAuth,
    private readonly connections: ConnectionRepository,
    private readonly projects: ProjectRepository,
    private readonly store: DevLakeRepository,
    private readonly metrics: IntakeMetrics,
  ) {}

  async connection(caller: IntakeCaller, ref: ConnectionRef): Promise<DevLakeConnectionEntity> {
    let found: DevLakeConnectionEntity | null;
    let missing: string;
    if ('id' in ref) {
      if (!/^\d{1,10}$/.test(ref.id) || Number(ref.id) < 1 || Number(ref.id) > 2_147_483_647) {
        throw new ValidationFailed([
          { field: 'connectionId', message: `invalid connectionId ${JSON.stringify(ref.id.slice(0, 50))}: must be a positive integer` },
        ]);
      }
      const id = Number(ref.id);
      this.auth.checkConnectionId(caller, id);
      found = await this.connections.findById(id);
      missing = `connection ${id} not found`;
    } else if ('name' in ref) {
      if (ref.name === '' || ref.name.length > MAX_NAME || ref.name.includes('\u0000')) {
        throw new ValidationFailed([{ field: 'connectionName', message: `invalid connectionName: 1 to ${MAX_NAME} characters` }]);
      }
      this.auth.checkConnectionName(caller, ref.name);
      found = await this.connectionNamed(caller, ref.name);
      missing = `connection named ${JSON.stringify(ref.name)} not found`;
    } else {
      const { projectId, name } = await this.projectConnection(caller, ref.projectKey);
      return this.connections.findOrCreate(projectId, name);
    }
    // Another tenant's connection answers as a missing one (docs/contract.md §2): a 403 would say it exists.
    if (!found || !this.auth.reaches(caller, found)) throw new NotFound(missing);
    return found;
  }

  /**
   * Names are unique within a project (docs/contract.md §5.2): a connection's key reaches its own connection,
   * a project's API key looks in its project, and the admin token and Basic auth, which carry no
   * project, get the one connection of that name, or a 409 when several projects use it.
   */
  private async connectionNamed(caller: IntakeCaller, name: string): Promise<DevLakeConnectionEntity | null> {
    if (caller.kind === 'connection') return caller.connection;
    if (caller.kind === 'project') return this.connections.findByName(caller.projectId, name);
    const found = await this.connections.findAllByName(name, 2);
    if (found.length > 1) {
      throw new Conflict(
        `the connection name ${JSON.stringify(name)} is used by several projects; post to connections/{id}/… or with the connection's own key`,
      );
    }
    return found[0] ?? null;
  }

  /** The project of `projects/{key}/…` and the name of its `{key}_deployments` connection. */
  private async projectConnection(caller: IntakeCaller, projectKey: string): Promise<{ projectId: number; name: string }> {
    // Not a project key at all (the docs/contract.md §3.4 pattern): missing, without asking Postgres.
    const project = PROJECT_KEY.test(projectKey) ? await this.projects.findByKey(projectKey) : null;
    // Another tenant's project looks missing to a project key (docs/contract.md §2).
    if (!project || (caller.kind === 'project' && caller.projectId !== project.id)) throw new NotFound(`project not found: ${projectKey.slice(0, 100)}`);
    const name = `${project.key}_deployments`;
    this.auth.checkConnectionName(caller, name);
    return { projectId: project.id, name };
  }

  /** `span` (here and below): the request's span (tracing on), whose trace the events' outbox rows carry on. */
  async postDeployment(caller: IntakeCaller, ref: ConnectionRef, body: unknown, span?: TraceSpan): Promise<void> {
    const now = new Date();
    let connection: DevLakeConnectionEntity;
    let parsed: ParsedDeployment;
    if ('projectKey' in ref) {
      // The body is read before the connection is created: a refused first post leaves none behind.
      const { projectId, name } = await this.projectConnection(caller, ref.projectKey);
      parsed = readDeployment(body, now);
      connection = await this.connections.findOrCreate(projectId, name);
    } else {
      connection = await this.connection(caller, ref);
      parsed = readDeployment(body, now);
    }
    const deployment = withConnectionId(parsed, connection.id);
    await traceStore(span, attributes(connection), (tag) =>
      this.store.upsertDeployment(connection, deployment, (created) => tag(deploymentEvents(deployment, connection.id, created))),
    );
    this.accepted('deployments');
  }

  async postIssue(caller: IntakeCaller, ref: ConnectionRef, body: unknown, span?: TraceSpan): Promise<void> {
    const connection = await this.connection(caller, ref);
    const issue = parseIssue(body);
    const now = new Date();
    await traceStore(span, attributes(connection), (tag) => this.store.upsertIssue(connection, issue, (before, after) => tag(issueEvents(before, after, now))));
    this.accepted('issues');
  }

  async closeIssue(caller: IntakeCaller, ref: ConnectionRef, issueKey: string, boardKey: string | null, span?: TraceSpan): Promise<void> {
    const connection = await this.connection(caller, ref);
    if (issueKey === '' || issueKey.length > 255 || issueKey.includes('\u0000')) {
      throw new ValidationFailed([{ field: 'issueKey', message: 'invalid issueKey: 1 to 255 characters' }]);
    }
    const now = new Date();
    await traceStore(span, attributes(connection), (tag) =>
      this.store.changeIssue(
        connection,
        issueKey,
        boardKey,
        (before) => closedIssue(before, now),
        (before, after) => tag(issueEvents(before, after, now)),
      ),
    );
    this.accepted('close');
  }

  async postPullRequest(caller: IntakeCaller, ref: ConnectionRef, body: unknown): Promise<void> {
    const connection = await this.connection(caller, ref);
    await this.store.upsertPullRequest(connection, parsePullRequest(body));
    this.accepted('pull_requests');
  }

  private accepted(route: string): void {
    this.metrics.intakeEvents.inc({ source: 'devlake', route }, 1);
  }
}

function attributes(connection: DevLakeConnectionEntity): Record<string, number> {
  return { 'herald.devlake.connection.id': connection.id, 'herald.project.id': connection.projectId };
}
