import {
  EVENT_CATALOGUE,
  EVENT_LEVELS,
  Each,
  FILTER_FIELDS,
  isEventType,
  newId,
  readRfc3339,
  type EventLevel,
  type EventShape,
  type FieldProblem,
  type HeraldEvent,
} from '@herald/domain';

/** The events API's bounds (docs/contract.md §4, §5.1): texts up to 65 536 characters, 100 mentions. */
const TEXT_CHARS = 65_536;
const MENTIONS = 100;
/** Set by Herald, not by producers: a preview takes them (an event copied from GET .../events/{id}) and replaces them. */
const SET_BY_HERALD = new Set(['id', 'projectKey', 'receivedAt', 'source']);

type Shape = EventShape;

/**
 * Checks the `event` of a preview: the shape of an event as `POST /v1/projects/{key}/events` takes
 * it (docs/contract.md §4), each problem named by its place (`event.issue.status`, `event.mentions[2].email`).
 * Only `type` is required. The channels render what passes exactly as they render stored events.
 */
export function previewEventProblems(input: unknown, field = 'event'): FieldProblem[] {
  if (!isPlainObject(input))
    return [{ field, message: 'event must be a JSON object: an event as POST /v1/projects/{key}/events takes it (only type is required)' }];
  const problems: FieldProblem[] = [];
  if (!isEventType(input.type))
    problems.push({ field: `${field}.type`, message: `type must be one of the catalogue's event types (GET the OpenAPI description, or see docs)` });
  if (input.level !== undefined && !(EVENT_LEVELS as readonly unknown[]).includes(input.level))
    problems.push({ field: `${field}.level`, message: `level must be one of ${EVENT_LEVELS.join(', ')}` });
  if (input.occurredAt !== undefined && !(readRfc3339(input.occurredAt) instanceof Date)) {
    problems.push({ field: `${field}.occurredAt`, message: 'occurredAt must be an RFC 3339 date-time with an offset, e.g. 2024-05-01T10:00:00Z' });
  }
  for (const [key, value] of Object.entries(input)) {
    if (key === 'type' || key === 'level' || key === 'occurredAt' || SET_BY_HERALD.has(key)) continue;
    if (key === 'deployment') {
      if (value !== null && !isPlainObject(value)) problems.push({ field: `${field}.deployment`, message: 'deployment must be an object' });
      // The catalogue reads these two (level and title of deployment.create) as text.
      else if (value)
        for (const k of ['result', 'environment'])
          if (value[k] != null && typeof value[k] !== 'string') problems.push({ field: `${field}.deployment.${k}`, message: `${k} must be a string` });
      continue;
    }
    if (!Object.prototype.hasOwnProperty.call(FILTER_FIELDS, key)) {
      problems.push({
        field: `${field}.${key}`,
        message: `an event has no field ${key}; its fields are ${Object.keys(FILTER_FIELDS)
          .filter((k) => !SET_BY_HERALD.has(k))
          .join(', ')}`,
      });
      continue;
    }
    check(value, FILTER_FIELDS[key], `${field}.${key}`, problems);
  }
  return problems.slice(0, 50);
}

function check(value: unknown, shape: Shape, field: string, problems: FieldProblem[]): void {
  if (value === null || value === undefined || shape === 'any') return;
  if (shape === 'scalar') {
    // As the events API: ids may be numbers, every other field is text.
    const name = field.slice(field.lastIndexOf('.') + 1);
    const ok = (typeof value === 'string' && value.length <= TEXT_CHARS) || (name === 'id' && typeof value === 'number' && Number.isFinite(value));
    if (!ok)
      problems.push({
        field,
        message:
          name === 'id' ? `id must be a string (at most ${TEXT_CHARS} characters) or a number` : `${name} must be a string of at most ${TEXT_CHARS} characters`,
      });
    return;
  }
  if (shape instanceof Each) {
    if (!Array.isArray(value)) problems.push({ field, message: 'must be an array' });
    else if (value.length > MENTIONS) problems.push({ field, message: `at most ${MENTIONS} entries` });
    else value.forEach((v, i) => check(v, shape.of, `${field}[${i}]`, problems));
    return;
  }
  if (!isPlainObject(value)) {
    problems.push({ field, message: 'must be an object' });
    return;
  }
  const fields = shape as Record<string, Shape>;
  for (const [key, v] of Object.entries(value)) {
    if (!Object.prototype.hasOwnProperty.call(fields, key))
      problems.push({ field: `${field}.${key}`, message: `not a field here; the fields are ${Object.keys(fields).join(', ')}` });
    else check(v, fields[key], `${field}.${key}`, problems);
  }
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The event as intake would store it (the catalogue's defaults for level and a blank title) and the API return it. */
export function previewEvent(input: Record<string, unknown>, projectKey: string, now: Date): HeraldEvent {
  const content: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(input)) if (!SET_BY_HERALD.has(k) && v !== undefined) content[k] = v;
  const type = input.type as HeraldEvent['type'];
  const entry = EVENT_CATALOGUE[type];
  const title = typeof input.title === 'string' && input.title.trim() ? input.title : entry.title(content);
  const occurredAt = readRfc3339(input.occurredAt);
  return {
    ...(content as Partial<HeraldEvent>),
    id: newId(),
    type,
    level: (input.level as EventLevel | undefined) ?? entry.level(content),
    title,
    occurredAt: (occurredAt instanceof Date ? occurredAt : now).toISOString(),
    receivedAt: now.toISOString(),
    projectKey,
    source: 'api',
  };
}
