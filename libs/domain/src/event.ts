import type { EventLevel, EventType } from './event-catalogue';

/** A person related to an event: the actor, an issue's creator, a user to message directly. */
export interface EventPerson {
  id?: string | number | null;
  name?: string | null;
  email?: string | null;
  phone?: string | null;
}

export interface EventIssue {
  id?: string | number | null;
  key?: string | null;
  name?: string | null;
  status?: string | null;
  type?: string | null;
  description?: string | null;
  creator?: { name?: string | null; email?: string | null } | null;
}

export type EventSource = 'api' | 'devlake';

/** The body of an event as producers describe it (docs/contract.md §4.1), after defaults are applied. */
export interface EventContent {
  type: EventType;
  level: EventLevel;
  title: string;
  description?: string | null;
  link?: string | null;
  actor?: EventPerson | null;
  issue?: EventIssue | null;
  stage?: { name?: string | null; status?: string | null } | null;
  task?: { name?: string | null; status?: string | null } | null;
  rollout?: { id?: string | number | null; title?: string | null; environment?: string | null } | null;
  comment?: { text?: string | null } | null;
  deployment?: Record<string, unknown> | null;
  mentions?: EventPerson[] | null;
  occurredAt: string;
}

/** A stored event as the API returns it and the delivery pipeline reads it. */
export interface HeraldEvent extends EventContent {
  id: string;
  projectKey: string;
  receivedAt: string;
  source: EventSource;
}

/** The project an event belongs to, as channels show it. */
export interface EventProject {
  id: number;
  key: string;
  name: string;
}
