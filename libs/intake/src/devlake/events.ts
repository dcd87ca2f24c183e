import { EVENT_CATALOGUE, catalogueTitle, type EventType } from '@herald/domain';
import type { IssueFields, NewDeployment, NewEvent } from '@herald/persistence';
import { isAbsoluteHttpUrl } from '../link';

/**
 * The events DevLake webhooks cause (docs/contract.md §5.2), as pure functions of what was stored before and
 * after a write: the repository calls them inside the write's transaction.
 */

function event(type: EventType, content: Record<string, unknown>, occurredAt: Date, title?: string): NewEvent {
  const entry = EVENT_CATALOGUE[type];
  const body = JSON.parse(JSON.stringify(content)) as Record<string, unknown>; // drops undefined keys
  return { type, level: entry.level(body), title: title ?? catalogueTitle(type, body), source: 'devlake', body, occurredAt: occurredAt.toISOString() };
}

/** `deployment.create`, once per deployment id (on its first post). */
export function deploymentEvents(d: NewDeployment, connectionId: number, created: boolean): NewEvent[] {
  if (!created) return [];
  return [
    event(
      'deployment.create',
      {
        description: d.displayTitle ?? d.name,
        rollout: { id: d.id, title: d.displayTitle ?? d.name, environment: d.environment },
        deployment: {
          id: d.id,
          connectionId,
          name: d.name,
          displayTitle: d.displayTitle ?? undefined,
          result: d.result,
          environment: d.environment,
          originalEnvironment: d.originalEnvironment ?? undefined,
          startedDate: d.startedDate?.toISOString(),
          finishedDate: d.finishedDate.toISOString(),
          commits: d.commits.map((c) => ({ repoUrl: c.repoUrl, commitSha: c.commitSha, refName: c.refName ?? undefined })),
        },
      },
      d.finishedDate,
    ),
  ];
}

/** DevLake statuses as API issue statuses (docs/contract.md §4.3): TODO and IN_PROGRESS are OPEN. */
export const issueStatus = (status: string): 'OPEN' | 'DONE' => (status === 'DONE' ? 'DONE' : 'OPEN');

function issueContent(i: IssueFields, description?: string): Record<string, unknown> {
  return {
    description: description ?? i.description ?? undefined,
    // DevLake takes any text as an issue's url; only a real http(s) URL becomes the event's link (docs/contract.md §4.1).
    link: i.url && isAbsoluteHttpUrl(i.url) ? i.url : undefined,
    actor: i.creatorId || i.creatorName ? { id: i.creatorId ?? undefined, name: i.creatorName ?? undefined } : undefined,
    issue: {
      id: i.issueKey,
      key: i.issueKey,
      name: i.title,
      status: issueStatus(i.status),
      type: i.type ?? undefined,
      description: i.description ?? undefined,
      creator: i.creatorName ? { name: i.creatorName } : undefined,
    },
  };
}

const isIncident = (i: IssueFields | null) => i?.type === 'INCIDENT';

/**
 * First post: `bb.issue.create` (+ `incident.create`). Later: `bb.issue.status.update` when the
 * status changed (+ `incident.resolve` when an incident became DONE), `bb.issue.field.update`
 * when title, description or assignee changed, `incident.create` when the type became INCIDENT.
 * An unchanged issue never reaches here (the repository compares first).
 */
export function issueEvents(before: IssueFields | null, after: IssueFields, now: Date): NewEvent[] {
  if (before === null) {
    const events = [event('bb.issue.create', issueContent(after), after.createdDate)];
    if (isIncident(after)) events.push(event('incident.create', issueContent(after), after.createdDate));
    return events;
  }
  const events: NewEvent[] = [];
  const at = after.updatedDate && after.updatedDate.getTime() !== before.updatedDate?.getTime() ? after.updatedDate : now;
  if (before.status !== after.status) {
    const reopened = before.status === 'DONE';
    const title = after.status === 'DONE' ? undefined : reopened ? 'Issue reopened' : 'Issue status changed';
    const description = `${after.issueKey}: ${before.status} → ${after.status} (${after.originalStatus || 'closed'})`;
    events.push(event('bb.issue.status.update', issueContent(after, description), after.status === 'DONE' ? (after.resolutionDate ?? at) : at, title));
  }
  if (
    before.title !== after.title ||
    before.description !== after.description ||
    before.assigneeId !== after.assigneeId ||
    before.assigneeName !== after.assigneeName
  ) {
    events.push(event('bb.issue.field.update', issueContent(after), at));
  }
  if (isIncident(after) && !isIncident(before)) events.push(event('incident.create', issueContent(after), at));
  if (isIncident(after) && after.status === 'DONE' && before.status !== 'DONE') {
    events.push(event('incident.resolve', issueContent(after), after.resolutionDate ?? at));
  }
  return events;
}
