import type { NewEvent } from '@herald/persistence';
import { inSpan, traceparentOf, type TraceSpan } from '@herald/platform';

/** Marks the events a store step writes with the trace context their outbox rows carry. */
export type TagEvents = (events: NewEvent[]) => NewEvent[];

const untagged: TagEvents = (events) => events;

/**
 * Runs the step that commits an intake request's events and outbox rows. With a request span
 * (tracing on) it is a span of its own, `herald.intake.store`, and each event is tagged with that
 * span's traceparent, which the outbox row carries to the relay: the fan-out and every delivery
 * attempt then join the request's trace. Without one, `write` runs as it is and tags nothing.
 */
export function traceStore<T>(span: TraceSpan | undefined, attributes: Record<string, string | number>, write: (tag: TagEvents) => Promise<T>): Promise<T> {
  if (!span) return write(untagged);
  return inSpan('herald.intake.store', { parent: span, attributes }, (store) => {
    const traceparent = traceparentOf(store);
    return write((events) => {
      store.setAttribute('herald.event.count', events.length);
      for (const e of events) e.traceparent = traceparent;
      return events;
    });
  });
}
