import { Injectable } from '@nestjs/common';
import { plainToInstance } from 'class-transformer';
import { validate } from 'class-validator';
import { EVENT_CATALOGUE, ValidationFailed, catalogueTitle, type EventLevel, type EventType, type FieldProblem } from '@herald/domain';
import { EventRepository, ProjectRepository, type AcceptedEvent, type NewEvent } from '@herald/persistence';
import { compiledCheck, fieldProblems, type Principal, type TraceSpan } from '@herald/platform';
import { IntakeMetrics } from '../intake-metrics';
import { traceStore } from '../trace-store';
import { EventDto } from './event.dto';

export const MAX_BATCH = 1000;
export const MAX_IDEMPOTENCY_KEY = 255;

const eventCheck = compiledCheck(EventDto);

/** Fields that are columns of their own; everything else of the event is kept in `body`. */
const COLUMNS = new Set(['type', 'level', 'title', 'occurredAt']);

/**
 * The events API use case (docs/contract.md §5.1): validate, apply the catalogue's defaults, and commit the
 * events with their outbox rows (the worker's relay is notified at the commit). The 2xx is sent
 * only after the commit; Redis is not involved, so intake keeps working while Redis is away.
 */
@Injectable()
export class EventsIntakeService {
  constructor(
    private readonly projects: ProjectRepository,
    private readonly events: EventRepository,
    private readonly metrics: IntakeMetrics,
  ) {}

  /** `span`: the request's span (tracing on), whose trace the stored events' outbox rows carry on. */
  async accept(
    principal: Principal,
    projectKey: string,
    events: EventDto[],
    idempotencyKey: string | undefined,
    route: 'single' | 'batch',
    span?: TraceSpan,
  ): Promise<AcceptedEvent[]> {
    if (idempotencyKey !== undefined && (idempotencyKey.length === 0 || idempotencyKey.length > MAX_IDEMPOTENCY_KEY)) {
      throw new ValidationFailed([{ field: 'Idempotency-Key', message: `Idempotency-Key must be 1 to ${MAX_IDEMPOTENCY_KEY} characters` }]);
    }
    const project = await this.projects.resolve(principal, projectKey);
    const receivedAt = new Date().toISOString();
    const stored = events.map((e) => toNewEvent(e, receivedAt));
    const key = idempotencyKey === undefined ? undefined : `${route}:${idempotencyKey}`;
    // The hot path: with tracing off (no span) exactly the call it always was.
    const accepted = span
      ? await traceStore(span, { 'herald.project.key': project.key }, (tag) => this.events.accept(project.id, tag(stored), key))
      : await this.events.accept(project.id, stored, key);
    if (!accepted[0]?.duplicate) this.metrics.intakeEvents.inc({ source: 'api', route }, accepted.length);
    // A trace found by the event's id (the one a producer sees in the answer).
    if (span && accepted.length === 1) span.setAttributes({ 'herald.event.id': accepted[0].id, 'herald.duplicate': accepted[0].duplicate });
    return accepted;
  }

  /** Validates a batch body: an array of 1 to 1000 events, each named by its index when wrong. */
  async parseBatch(body: unknown): Promise<EventDto[]> {
    if (!Array.isArray(body)) throw new ValidationFailed([{ field: 'body', message: 'body must be a JSON array of events' }]);
    if (body.length === 0 || body.length > MAX_BATCH) {
      throw new ValidationFailed([{ field: 'body', message: `a batch holds 1 to ${MAX_BATCH} events, got ${body.length}` }]);
    }
    const problems: FieldProblem[] = [];
    const dtos: EventDto[] = [];
    for (let i = 0; i < body.length; i++) {
      const item: unknown = body[i];
      if (item === null || typeof item !== 'object' || Array.isArray(item)) {
        problems.push({ field: `[${i}]`, message: 'each event must be a JSON object' });
        continue;
      }
      const dto = plainToInstance(EventDto, item);
      // As the validation pipe does: the compiled rules first, class-validator to name the problems.
      if (!eventCheck?.(item as Record<string, unknown>)) {
        const errors = await validate(dto, { whitelist: true, forbidNonWhitelisted: true, forbidUnknownValues: true });
        problems.push(...fieldProblems(errors, `[${i}]`));
      }
      dtos.push(dto);
    }
    if (problems.length) throw new ValidationFailed(problems);
    return dtos;
  }
}

/** Applies the catalogue's default level and title (docs/contract.md §4.2; a blank title is no title) and splits columns from the body. */
export function toNewEvent(dto: EventDto, receivedAt: string): NewEvent {
  const type = dto.type as EventType;
  const entry = EVENT_CATALOGUE[type];
  const body: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(dto)) if (!COLUMNS.has(k) && v !== undefined) body[k] = v;
  return {
    type,
    level: (dto.level as EventLevel | undefined) ?? entry.level(dto),
    // A blank title would reach chat platforms as an empty heading (Teams refuses the message).
    // (null, absent and blank are all "no title").
    title: dto.title?.trim() ? dto.title : catalogueTitle(type, dto),
    source: 'api',
    body,
    occurredAt: dto.occurredAt ? new Date(dto.occurredAt).toISOString() : receivedAt,
  };
}
