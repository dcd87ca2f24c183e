import { DataSource } from 'typeorm';
import { createTestDatabase } from '@herald/testing';
import { dataSourceOptions } from '../data-source';
import type { DevLakeConnectionEntity } from '../entities';
import { ConnectionRepository } from './connection.repository';
import { DevLakeRepository, type IssueFields, type NewDeployment } from './devlake.repository';
import { EventRepository, type NewEvent } from './event.repository';

const event = (title: string): NewEvent => ({
  type: 'deployment.create',
  level: 'SUCCESS',
  title,
  source: 'devlake',
  body: {},
  occurredAt: new Date().toISOString(),
});

const deployment = (id: string, repoUrl = 'https://git/a'): NewDeployment => ({
  id,
  name: id,
  displayTitle: null,
  result: 'SUCCESS',
  environment: 'PRODUCTION',
  originalEnvironment: null,
  createdDate: null,
  startedDate: null,
  finishedDate: new Date('2024-01-01T00:00:00Z'),
  durationSec: null,
  commits: [
    {
      id: `x:${id}:1`,
      repoUrl: 'https://git/ok',
      commitSha: 's1',
      refName: null,
      commitMsg: null,
      name: null,
      displayTitle: null,
      result: 'SUCCESS',
      status: 'DONE',
      createdDate: null,
      startedDate: null,
      finishedDate: null,
    },
    {
      id: `x:${id}:2`,
      repoUrl,
      commitSha: 's2',
      refName: null,
      commitMsg: null,
      name: null,
      displayTitle: null,
      result: 'SUCCESS',
      status: 'DONE',
      createdDate: null,
      startedDate: null,
      finishedDate: null,
    },
  ],
});

const issue = (key: string, title = 't'): IssueFields => ({
  issueKey: key,
  boardKey: null,
  url: null,
  title,
  description: null,
  epicKey: null,
  type: null,
  status: 'TODO',
  originalStatus: 'o',
  storyPoint: null,
  resolutionDate: null,
  createdDate: new Date('2024-01-01T00:00:00Z'),
  updatedDate: null,
  leadTimeMinutes: null,
  parentIssueKey: null,
  priority: null,
  originalEstimateMinutes: null,
  timeSpentMinutes: null,
  timeRemainingMinutes: null,
  creatorId: null,
  creatorName: null,
  assigneeId: null,
  assigneeName: null,
  severity: null,
  component: null,
});

describe('DevLake storage against Postgres', () => {
  let db: DataSource;
  let store: DevLakeRepository;
  let connection: DevLakeConnectionEntity;
  const count = async (table: string) => (await db.query(`SELECT count(*)::int AS n FROM ${table}`))[0].n as number;

  beforeAll(async () => {
    db = new DataSource(dataSourceOptions({ url: await createTestDatabase(), poolSize: 12, applicationName: 'devlake-int-spec' }));
    await db.initialize();
    store = new DevLakeRepository(db, new EventRepository(db));
    const [{ id }] = await db.query(`INSERT INTO projects (key, name) VALUES ('p', 'P') RETURNING id`);
    connection = (await new ConnectionRepository(db).create(id, 'c')).entity;
  });

  afterAll(() => db.destroy());

  it('writes a deployment, its commits, its events and their outbox rows together', async () => {
    const queued = async () =>
      (await db.query(`SELECT e.title FROM outbox o JOIN events e ON e.id = o.ref ORDER BY o.id`)).map((r: { title: string }) => r.title);
    await store.upsertDeployment(connection, deployment('d1'), (created) => (created ? [event('d1')] : []));
    expect(await queued()).toEqual(['d1']);
    // A re-post of the same id emits no event (docs/contract.md §5.2: one deployment.create per id).
    await store.upsertDeployment(connection, deployment('d1'), (created) => (created ? [event('again')] : []));
    expect(await queued()).toEqual(['d1']);
  });

  it('rolls everything back when a later statement of the upsert fails', async () => {
    const before = await Promise.all(['devlake_deployments', 'devlake_deployment_commits', 'events', 'outbox'].map(count));
    // The second commit cannot be stored (Postgres text cannot hold NUL), after the deployment row was written.
    await expect(store.upsertDeployment(connection, deployment('d2', 'bad\u0000url'), () => [event('d2')])).rejects.toThrow();
    // The events step fails after the deployment and its commits were written.
    await expect(
      store.upsertDeployment(connection, deployment('d3'), () => {
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    expect(await Promise.all(['devlake_deployments', 'devlake_deployment_commits', 'events', 'outbox'].map(count))).toEqual(before);
  });

  it('creates an issue once under concurrent first posts, and an identical re-post changes nothing', async () => {
    const seen: Array<'create' | 'update'> = [];
    await Promise.all(
      Array.from({ length: 8 }, () =>
        store.upsertIssue(connection, issue('K-1'), (before) => {
          seen.push(before ? 'update' : 'create');
          return [];
        }),
      ),
    );
    expect(seen).toEqual(['create']);
    const [{ updated_at: first }] = await db.query(`SELECT updated_at FROM devlake_issues WHERE issue_key = 'K-1'`);
    await store.upsertIssue(connection, issue('K-1', 'renamed'), (before, after) => {
      seen.push(before?.title === 't' && after.title === 'renamed' ? 'update' : 'create');
      return [];
    });
    expect(seen).toEqual(['create', 'update']);
    const [{ updated_at: second, title }] = await db.query(`SELECT updated_at, title FROM devlake_issues WHERE issue_key = 'K-1'`);
    expect(title).toBe('renamed');
    expect(second.getTime()).toBeGreaterThanOrEqual(first.getTime());
  });

  it('answers 404 for an issue of another board or none', async () => {
    await expect(
      store.changeIssue(
        connection,
        'NOPE',
        null,
        (i) => i,
        () => [],
      ),
    ).rejects.toThrow(/issue not found/);
    await db.query(`UPDATE devlake_issues SET board_key = 'B' WHERE issue_key = 'K-1'`);
    await expect(
      store.changeIssue(
        connection,
        'K-1',
        'OTHER',
        (i) => i,
        () => [],
      ),
    ).rejects.toThrow(/board "OTHER"/);
  });
});
