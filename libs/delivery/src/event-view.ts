import type { EventLevel, EventType, HeraldEvent } from '@herald/domain';
import type { DeliveryContext } from '@herald/persistence';

/** Rebuilds the docs/contract.md §4 event from its stored row, as channels render it. */
export function toHeraldEvent(ctx: Pick<DeliveryContext, 'event' | 'project'>): HeraldEvent {
  const { event, project } = ctx;
  return {
    ...(event.body as Partial<HeraldEvent>),
    id: event.id,
    type: event.type as EventType,
    level: event.level as EventLevel,
    title: event.title,
    source: event.source,
    occurredAt: event.occurredAt.toISOString(),
    receivedAt: event.receivedAt.toISOString(),
    projectKey: project.key,
  };
}
