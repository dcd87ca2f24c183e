import { RE2JS } from 're2js';
import type { FieldProblem } from './errors';
import { ValidationFailed } from './errors';
import { EVENT_LEVELS, EVENT_TYPES } from './event-catalogue';

/**
 * Webhook filters (issue 16, item 2): a JSON filter in the style of Convoy's and MongoDB's over the
 * event as the events API receives it (docs/channels.md, "Filters"). Keys are dotted paths into
 * the event, a plain value means equality, and the operators are below; the conditions of one
 * object must all hold, `$and` and `$or` combine filters.
 *
 * Pure: no I/O, never throws while evaluating, and its cost is bounded by the sizes of the filter
 * and the event (every step is counted in `FilterCost`; see the property tests). `$regex` runs on
 * RE2 (re2js, a pure-JavaScript port), whose matching time is linear in the text: a pattern that
 * would need backtracking (backreferences, lookaround) is refused when the filter is saved.
 */

export const FIELD_OPERATORS = ['$eq', '$ne', '$in', '$nin', '$exists', '$gt', '$gte', '$lt', '$lte', '$regex'] as const;
export const LOGICAL_OPERATORS = ['$and', '$or'] as const;
type FieldOperator = (typeof FIELD_OPERATORS)[number];

/** What one filter may hold: a filter is evaluated for every event of its webhook's types, in the relay. */
export const FILTER_LIMITS = {
  /** The filter serialized as JSON, in bytes. */
  bytes: 8192,
  /** Nesting of `$and`/`$or`. */
  depth: 8,
  /** Field conditions in the whole filter (each operator of each path counts once). */
  conditions: 64,
  /** Filters in one `$and`/`$or`. */
  branches: 32,
  /** Values of one `$in`/`$nin`. */
  values: 100,
  /** Segments of one path (`deployment.commits.refName` has 3). */
  pathSegments: 8,
  pathChars: 200,
  /** Characters of one `$regex` pattern. */
  regexChars: 256,
  /** `$regex` conditions in the whole filter. */
  regexes: 16,
  /** Characters of one value a `$regex` reads (the start of a longer text). */
  regexInputChars: 4096,
  /**
   * Steps one evaluation may take (see FilterCost); an event that would need more passes
   * unfiltered (`FilterCost.exhausted`), so a relay pass stays short whatever the event.
   */
  steps: 50_000,
  /** Nesting of a value compared for equality (`{"$eq": {"a": [1]}}` has 2). */
  valueDepth: 16,
} as const;

/**
 * The event's fields a path may name (docs/contract.md §4.1 plus what the API adds). `scalar` holds one value;
 * an object lists its fields; `each` is an array of such objects (a path goes through it to every
 * element, or names one element by its index: `mentions.0.email`); `any` is free JSON (what the
 * producer sent as `deployment`; DevLake's deployments fill it as documented in channels.md).
 */
export type EventShape = 'scalar' | 'any' | EventFields | Each;
type Shape = EventShape;
export interface EventFields {
  readonly [field: string]: Shape;
}
type Fields = EventFields;
/** An array of values of one shape. */
export class Each {
  constructor(readonly of: Shape) {}
}
const PERSON: Fields = { id: 'scalar', name: 'scalar', email: 'scalar', phone: 'scalar' };
export const FILTER_FIELDS: Fields = {
  id: 'scalar',
  type: 'scalar',
  level: 'scalar',
  title: 'scalar',
  description: 'scalar',
  link: 'scalar',
  source: 'scalar',
  occurredAt: 'scalar',
  receivedAt: 'scalar',
  projectKey: 'scalar',
  actor: PERSON,
  issue: { id: 'scalar', key: 'scalar', name: 'scalar', status: 'scalar', type: 'scalar', description: 'scalar', creator: { name: 'scalar', email: 'scalar' } },
  stage: { name: 'scalar', status: 'scalar' },
  task: { name: 'scalar', status: 'scalar' },
  rollout: { id: 'scalar', title: 'scalar', environment: 'scalar' },
  comment: { text: 'scalar' },
  deployment: 'any',
  mentions: new Each(PERSON),
};

/** Values a filter can only mean as one of these: `"level": "error"` would never match, so it is refused. */
const CLOSED_VALUES: Record<string, readonly string[]> = { level: EVENT_LEVELS, type: EVENT_TYPES, source: ['api', 'devlake'] };

/** The work one evaluation did, in steps: a value visited, a comparison, a character read by RE2. */
export interface FilterCost {
  steps: number;
  /** Stop once `steps` passes this (default FILTER_LIMITS.steps; Infinity: no bound). */
  limit?: number;
  /** Set when the evaluation stopped at `limit`: the event was let through without a verdict. */
  exhausted?: boolean;
}

/** Thrown inside an evaluation that reached its step limit; matchesFilter catches it. */
class Exhausted {}

function tick(cost: FilterCost, steps = 1): void {
  cost.steps += steps;
  if (cost.steps > (cost.limit ?? FILTER_LIMITS.steps)) throw new Exhausted();
}

interface Condition {
  kind: 'cond';
  path: readonly string[];
  op: FieldOperator;
  /** $eq, $ne: the value; $gt…$lte: the bound. */
  value?: unknown;
  /** $in, $nin: scalar values, for a constant-time look-up per visited value. */
  scalars?: ReadonlySet<unknown>;
  /** $in, $nin: object and array values, compared one by one. */
  structured?: readonly unknown[];
  /** $in, $nin: null is among the values (it also matches a missing field). */
  hasNull?: boolean;
  exists?: boolean;
  regex?: RE2JS;
}
interface Combination {
  kind: 'and' | 'or';
  nodes: readonly FilterNode[];
}
type FilterNode = Condition | Combination;

/** A validated filter, ready to evaluate any number of times. */
export interface CompiledFilter {
  readonly root: FilterNode;
  /** Field conditions it holds. */
  readonly conditions: number;
}

const FIELD_OPERATOR_SET: ReadonlySet<string> = new Set(FIELD_OPERATORS);

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const hasOwn = (o: object, k: string) => Object.prototype.hasOwnProperty.call(o, k);
const isScalar = (v: unknown) => v === null || typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean';
const INDEX = /^(0|[1-9][0-9]{0,5})$/;
/** `["issue.status"]`: keys hold dots, so a key is always quoted in a problem's field. */
const keyField = (field: string, key: string) => `${field}[${JSON.stringify(key)}]`;

/**
 * Checks a filter as a webhook would store it: null (or absent) is no filter. Every problem names
 * the part of the filter it is about (`filter.$or[1]["issue.status"].$in`) and says how to fix it.
 */
export function filterProblems(input: unknown, field = 'filter'): FieldProblem[] {
  return checkFilter(input, field).problems;
}

/** The compiled filter (null for no filter), or a ValidationFailed naming every bad part. */
export function compileFilter(input: unknown, field = 'filter'): CompiledFilter | null {
  const { compiled, problems } = checkFilter(input, field);
  if (problems.length) throw new ValidationFailed(problems);
  return compiled;
}

export function checkFilter(input: unknown, field = 'filter'): { compiled: CompiledFilter | null; problems: FieldProblem[] } {
  if (input === null || input === undefined) return { compiled: null, problems: [] };
  if (!isObject(input))
    return {
      compiled: null,
      problems: [{ field, message: 'a filter is a JSON object of conditions, e.g. {"deployment.environment": "PRODUCTION"}, or null for none' }],
    };
  let bytes: number;
  try {
    bytes = new TextEncoder().encode(JSON.stringify(input)).length;
  } catch {
    return { compiled: null, problems: [{ field, message: 'a filter must be JSON' }] };
  }
  if (bytes > FILTER_LIMITS.bytes)
    return { compiled: null, problems: [{ field, message: `a filter holds at most ${FILTER_LIMITS.bytes} bytes of JSON; this one has ${bytes}` }] };
  const parser = new Parser();
  const root = parser.object(input, field, 0);
  if (parser.conditions > FILTER_LIMITS.conditions) {
    parser.problems.push({ field, message: `a filter holds at most ${FILTER_LIMITS.conditions} conditions; this one has ${parser.conditions}` });
  }
  if (parser.regexes > FILTER_LIMITS.regexes) {
    parser.problems.push({ field, message: `a filter holds at most ${FILTER_LIMITS.regexes} $regex conditions; this one has ${parser.regexes}` });
  }
  return parser.problems.length ? { compiled: null, problems: parser.problems } : { compiled: { root, conditions: parser.conditions }, problems: [] };
}

class Parser {
  readonly problems: FieldProblem[] = [];
  conditions = 0;
  regexes = 0;

  private problem(field: string, message: string): void {
    // A filter at the size limit could produce thousands; the first ones say enough.
    if (this.problems.length < 20) this.problems.push({ field, message });
  }

  object(value: unknown, field: string, depth: number): FilterNode {
    const nodes: FilterNode[] = [];
    if (!isObject(value)) {
      this.problem(field, 'must be an object of conditions, e.g. {"level": "ERROR"}');
      return { kind: 'and', nodes };
    }
    for (const [key, operand] of Object.entries(value)) {
      if (key === '$and' || key === '$or') {
        const here = `${field}.${key}`;
        if (depth + 1 > FILTER_LIMITS.depth) {
          this.problem(here, `$and and $or nest at most ${FILTER_LIMITS.depth} levels deep`);
          continue;
        }
        if (!Array.isArray(operand) || operand.length === 0) {
          this.problem(here, `${key} takes a non-empty array of filters, e.g. {"${key}": [{"level": "ERROR"}, {"level": "WARN"}]}`);
          continue;
        }
        if (operand.length > FILTER_LIMITS.branches) {
          this.problem(here, `${key} takes at most ${FILTER_LIMITS.branches} filters; this one has ${operand.length}`);
          continue;
        }
        nodes.push({ kind: key === '$and' ? 'and' : 'or', nodes: operand.map((f, i) => this.object(f, `${here}[${i}]`, depth + 1)) });
      } else if (key.startsWith('$')) {
        this.problem(
          `${field}.${key}`,
          FIELD_OPERATOR_SET.has(key)
            ? `${key} applies to a field: write {"<path>": {"${key}": …}}, e.g. {"level": {"${key}": …}}`
            : `unknown operator ${key}; a filter's keys are event paths or $and, $or, and a field's operators are ${FIELD_OPERATORS.join(', ')}`,
        );
      } else {
        const here = keyField(field, key);
        const path = this.path(key, here);
        if (path) nodes.push(...this.field(path, operand, here));
      }
    }
    return nodes.length === 1 ? nodes[0] : { kind: 'and', nodes };
  }

  /** The path's segments, or null (with a problem) when the event has no such field. */
  private path(key: string, field: string): string[] | null {
    if (key.length > FILTER_LIMITS.pathChars) {
      this.problem(field, `a path holds at most ${FILTER_LIMITS.pathChars} characters`);
      return null;
    }
    const segments = key.split('.');
    if (segments.length > FILTER_LIMITS.pathSegments) {
      this.problem(field, `a path holds at most ${FILTER_LIMITS.pathSegments} segments`);
      return null;
    }
    if (segments.some((s) => s === '' || s.startsWith('$'))) {
      this.problem(field, 'a path is event fields separated by dots, e.g. "issue.status" (no empty segment, none starting with $)');
      return null;
    }
    let shape: Shape = FILTER_FIELDS;
    for (let i = 0; i < segments.length; i++) {
      const segment = segments[i];
      const where = i === 0 ? 'the event' : `"${segments.slice(0, i).join('.')}"`;
      if (shape instanceof Each) {
        // An index names one element; any other segment goes through every element.
        shape = shape.of;
        if (INDEX.test(segment)) continue;
      }
      if (shape === 'any') break;
      if (shape === 'scalar') {
        this.problem(field, `${where} is a single value: it has no field "${segment}"`);
        return null;
      }
      if (!hasOwn(shape, segment)) {
        this.problem(field, `${where} has no field "${segment}"; its fields are ${Object.keys(shape).join(', ')}`);
        return null;
      }
      shape = (shape as Fields)[segment];
    }
    return segments;
  }

  private field(path: string[], operand: unknown, field: string): Condition[] {
    if (isObject(operand)) {
      const keys = Object.keys(operand);
      const ops = keys.filter((k) => k.startsWith('$'));
      if (ops.length && ops.length !== keys.length) {
        this.problem(
          field,
          `mixes operators (${ops.join(', ')}) with fields (${keys.filter((k) => !k.startsWith('$')).join(', ')}): use either operators, or a plain value to compare with`,
        );
        return [];
      }
      if (ops.length) return ops.flatMap((op) => this.operator(path, op, operand[op], `${field}.${op}`));
    }
    return this.operator(path, '$eq', operand, field);
  }

  private operator(path: string[], op: string, operand: unknown, field: string): Condition[] {
    this.conditions++;
    const closed = path.length === 1 ? CLOSED_VALUES[path[0]] : undefined;
    const closedProblem = (v: unknown, where: string) => {
      if (closed && typeof v === 'string' && !closed.includes(v))
        this.problem(where, `"${v}" is never the event's ${path[0]}; it is one of ${closed.join(', ')}`);
    };
    switch (op) {
      case '$eq':
      case '$ne':
        if (!this.value(operand, field)) return [];
        closedProblem(operand, field);
        return [{ kind: 'cond', path, op, value: operand }];
      case '$in':
      case '$nin': {
        if (!Array.isArray(operand)) {
          this.problem(field, `${op} takes an array of values, e.g. {"${op}": ["PRODUCTION", "STAGING"]}`);
          return [];
        }
        if (operand.length > FILTER_LIMITS.values) {
          this.problem(field, `${op} takes at most ${FILTER_LIMITS.values} values; this one has ${operand.length}`);
          return [];
        }
        if (!operand.every((v, i) => this.value(v, `${field}[${i}]`))) return [];
        operand.forEach((v, i) => closedProblem(v, `${field}[${i}]`));
        return [
          {
            kind: 'cond',
            path,
            op,
            scalars: new Set(operand.filter(isScalar)),
            structured: operand.filter((v) => !isScalar(v)),
            hasNull: operand.includes(null),
          },
        ];
      }
      case '$exists':
        if (typeof operand !== 'boolean') {
          this.problem(field, '$exists takes true or false');
          return [];
        }
        return [{ kind: 'cond', path, op, exists: operand }];
      case '$gt':
      case '$gte':
      case '$lt':
      case '$lte':
        if (!(typeof operand === 'string' || (typeof operand === 'number' && Number.isFinite(operand)))) {
          this.problem(field, `${op} takes a number or a string (strings compare character by character: ISO-8601 times in UTC compare as times)`);
          return [];
        }
        return [{ kind: 'cond', path, op, value: operand }];
      case '$regex': {
        if (typeof operand !== 'string') {
          this.problem(field, '$regex takes a pattern as a string, e.g. {"$regex": "^release/"}; (?i) at its start ignores case');
          return [];
        }
        this.regexes++;
        if (operand.length > FILTER_LIMITS.regexChars) {
          this.problem(field, `a $regex pattern holds at most ${FILTER_LIMITS.regexChars} characters`);
          return [];
        }
        try {
          return [{ kind: 'cond', path, op, regex: RE2JS.compile(operand) }];
        } catch (err) {
          this.problem(
            field,
            `not a pattern RE2 accepts (${(err as Error).message}); filters match in linear time, so backreferences and lookaround are not supported: https://github.com/google/re2/wiki/Syntax`,
          );
          return [];
        }
      }
      default:
        this.problem(field, `unknown operator ${op}; a field's operators are ${FIELD_OPERATORS.join(', ')}`);
        return [];
    }
  }

  /** A value to compare with: JSON, not too deep, and no operator inside (a nested filter is a dotted path). */
  private value(operand: unknown, field: string): boolean {
    const stack: Array<{ v: unknown; depth: number }> = [{ v: operand, depth: 0 }];
    while (stack.length) {
      const { v, depth } = stack.pop() as { v: unknown; depth: number };
      if (depth > FILTER_LIMITS.valueDepth) {
        this.problem(field, `a value nests at most ${FILTER_LIMITS.valueDepth} levels deep`);
        return false;
      }
      if (Array.isArray(v)) for (const x of v) stack.push({ v: x, depth: depth + 1 });
      else if (isObject(v)) {
        for (const [k, x] of Object.entries(v)) {
          if (k.startsWith('$')) {
            this.problem(
              field,
              `an operator (${k}) inside a value: conditions on nested fields are written with dotted paths, e.g. {"deployment.environment": {"$in": ["PRODUCTION"]}}`,
            );
            return false;
          }
          stack.push({ v: x, depth: depth + 1 });
        }
      } else if (!(isScalar(v) && (typeof v !== 'number' || Number.isFinite(v)))) {
        this.problem(field, 'values are JSON: strings, numbers, booleans, null, arrays and objects');
        return false;
      }
    }
    return true;
  }
}

/**
 * Whether `event` passes `filter` (null passes everything). Never throws; `cost`, when given,
 * counts the steps taken. Semantics as MongoDB's: a missing field equals null and exists not; a
 * path through an array reaches every element's field; a condition on an array holds when it
 * holds for the array or for one of its elements (`$ne`, `$nin`: for none of them); `$gt` and the
 * like compare numbers with numbers and strings with strings only.
 */
export function matchesFilter(filter: CompiledFilter | null, event: unknown, cost: FilterCost = { steps: 0 }): boolean {
  if (!filter) return true;
  cost.limit ??= FILTER_LIMITS.steps;
  try {
    return evaluate(filter.root, event, cost);
  } catch (err) {
    if (!(err instanceof Exhausted)) throw err;
    // Too much work for one event: it goes through, as if the webhook had no filter.
    cost.exhausted = true;
    return true;
  }
}

function evaluate(node: FilterNode, event: unknown, cost: FilterCost): boolean {
  tick(cost);
  switch (node.kind) {
    case 'and':
      for (const n of node.nodes) if (!evaluate(n, event, cost)) return false;
      return true;
    case 'or':
      for (const n of node.nodes) if (evaluate(n, event, cost)) return true;
      return false;
    case 'cond':
      return condition(node, resolve(node.path, event, cost), cost);
  }
}

/** The values a path reaches, visiting each node of the event at most once. */
function resolve(path: readonly string[], event: unknown, cost: FilterCost): unknown[] {
  let current: unknown[] = [event];
  for (const segment of path) {
    const next: unknown[] = [];
    for (const v of current) {
      tick(cost);
      if (Array.isArray(v)) {
        if (INDEX.test(segment)) {
          const i = Number(segment);
          if (i < v.length && v[i] !== undefined) next.push(v[i]);
        } else {
          for (const element of v) {
            tick(cost);
            if (isObject(element) && hasOwn(element, segment) && element[segment] !== undefined) next.push(element[segment]);
          }
        }
      } else if (isObject(v) && hasOwn(v, segment) && v[segment] !== undefined) {
        next.push(v[segment]);
      }
    }
    current = next;
    if (current.length === 0) break;
  }
  return current;
}

/** The test holds for the value, or for one of its elements when it is an array. */
function anyOf(values: readonly unknown[], test: (v: unknown) => boolean, cost: FilterCost): boolean {
  for (const v of values) {
    tick(cost);
    if (test(v)) return true;
    if (Array.isArray(v)) {
      for (const element of v) {
        tick(cost);
        if (test(element)) return true;
      }
    }
  }
  return false;
}

function condition(c: Condition, values: unknown[], cost: FilterCost): boolean {
  switch (c.op) {
    case '$exists':
      return values.length > 0 === c.exists;
    case '$eq':
      return equalsAny(values, c.value, cost);
    case '$ne':
      return !equalsAny(values, c.value, cost);
    case '$in':
      return inAny(c, values, cost);
    case '$nin':
      return !inAny(c, values, cost);
    case '$regex': {
      const regex = c.regex as RE2JS;
      return anyOf(values, (v) => typeof v === 'string' && search(regex, v, cost), cost);
    }
    default:
      return anyOf(values, (v) => compare(c.op, v, c.value), cost);
  }
}

function equalsAny(values: unknown[], operand: unknown, cost: FilterCost): boolean {
  // A missing field equals null (MongoDB): {"issue.status": null} holds for events without an issue.
  if (operand === null && values.length === 0) return true;
  return anyOf(values, (v) => jsonEqual(v, operand, cost), cost);
}

function inAny(c: Condition, values: unknown[], cost: FilterCost): boolean {
  if (c.hasNull && values.length === 0) return true;
  const scalars = c.scalars as ReadonlySet<unknown>;
  const structured = c.structured as readonly unknown[];
  return anyOf(
    values,
    (v) => {
      if (isScalar(v)) return scalars.has(v);
      for (const s of structured) if (jsonEqual(v, s, cost)) return true;
      return false;
    },
    cost,
  );
}

function compare(op: FieldOperator, v: unknown, bound: unknown): boolean {
  if (typeof v !== typeof bound || (typeof v !== 'number' && typeof v !== 'string')) return false;
  const a = v as number | string;
  const b = bound as number | string;
  switch (op) {
    case '$gt':
      return a > b;
    case '$gte':
      return a >= b;
    case '$lt':
      return a < b;
    default:
      return a <= b;
  }
}

/**
 * RE2 search (unanchored, as MongoDB's $regex) in the first FILTER_LIMITS.regexInputChars of the
 * text: time linear in what it reads, counted as one step per character.
 */
function search(regex: RE2JS, text: string, cost: FilterCost): boolean {
  const input = text.length > FILTER_LIMITS.regexInputChars ? text.slice(0, FILTER_LIMITS.regexInputChars) : text;
  tick(cost, input.length + 1);
  try {
    return regex.test(input);
  } catch {
    // RE2 does not throw on any string; should a future version, no match is the answer, not a failed relay pass.
    return false;
  }
}

/**
 * Deep equality of JSON values. It descends only as deep as `operand` (a filter value, bounded
 * by FILTER_LIMITS.valueDepth), so an event of any depth costs no more than the operand allows.
 */
function jsonEqual(value: unknown, operand: unknown, cost: FilterCost): boolean {
  tick(cost);
  if (isScalar(operand)) return value === operand;
  if (Array.isArray(operand)) {
    if (!Array.isArray(value) || value.length !== operand.length) return false;
    for (let i = 0; i < operand.length; i++) if (!jsonEqual(value[i], operand[i], cost)) return false;
    return true;
  }
  if (!isObject(operand) || !isObject(value)) return false;
  const keys = Object.keys(operand);
  let count = 0;
  for (const k in value) {
    tick(cost);
    if (hasOwn(value, k) && value[k] !== undefined && ++count > keys.length) return false;
  }
  if (count !== keys.length) return false;
  for (const k of keys) if (!hasOwn(value, k) || !jsonEqual(value[k], operand[k], cost)) return false;
  return true;
}

/** Every path `FILTER_FIELDS` allows, as a reader writes them (`[]`: through an array; `.*`: free JSON below), for docs and tests. */
export function filterPaths(): string[] {
  const out: string[] = [];
  const walk = (shape: Shape, prefix: string) => {
    if (shape === 'scalar') out.push(prefix);
    else if (shape === 'any') out.push(`${prefix}.*`);
    else if (shape instanceof Each) walk(shape.of, `${prefix}[]`);
    else for (const [k, s] of Object.entries(shape)) walk(s, prefix ? `${prefix}.${k}` : k);
  };
  walk(FILTER_FIELDS, '');
  return out;
}
