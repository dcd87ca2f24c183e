import { Liquid, type FS, type Template } from 'liquidjs';
import { EVENT_TYPES, type EventProject, type FieldProblem, type HeraldEvent } from '@herald/domain';
import { buildMessage, type Locale } from './message';

/**
 * Message templates (issue 16, item 4): per webhook and event type, the text of a chat message
 * written in Liquid (liquidjs) over the event. The rendered text replaces the built-in message's
 * text (description, tile and facts); the adapter still builds the platform's envelope around it
 * (title with the level's emoji or colour, the "View details" link, mentions), escapes it as user
 * text and fits it to the platform's limits. Custom webhooks do not use templates: their body is
 * the signed JSON event.
 *
 * The engine is sandboxed: no file system (no include, render or layout), a small set of filters,
 * and limits on the template's length, on render time, on the number of renders (loops) and on
 * memory. A template that fails to render is no delivery failure: the built-in message is sent
 * and the reason is reported (docs/channels.md, "Message templates").
 */

export const TEMPLATE_LIMITS = {
  /** Characters of one template (liquidjs' parseLimit too). */
  chars: 4000,
  /** Render time of one message (liquidjs' renderLimit). */
  renderMs: 50,
  /** Tags, outputs and text blocks rendered for one message (loops count each turn). */
  renders: 10_000,
  /** Memory one render may allocate, in liquidjs' units (about a character each). */
  memory: 1_000_000,
} as const;

/** The filters a template may use: text, lists, numbers and dates. No HTML escaping (the adapters escape for their platform), nothing random. */
export const TEMPLATE_FILTERS = [
  'append',
  'prepend',
  'capitalize',
  'downcase',
  'upcase',
  'lstrip',
  'rstrip',
  'strip',
  'strip_newlines',
  'squish',
  'normalize_whitespace',
  'replace',
  'replace_first',
  'replace_last',
  'remove',
  'remove_first',
  'remove_last',
  'truncate',
  'truncatewords',
  'split',
  'slice',
  'url_encode',
  'url_decode',
  'default',
  'size',
  'join',
  'first',
  'last',
  'map',
  'where',
  'reject',
  'compact',
  'uniq',
  'reverse',
  'sort',
  'sort_natural',
  'concat',
  'array_to_sentence_string',
  'plus',
  'minus',
  'times',
  'divided_by',
  'modulo',
  'round',
  'ceil',
  'floor',
  'abs',
  'at_least',
  'at_most',
  'to_integer',
  'date',
  'json',
] as const;

/** Tags that read other templates (from disk, by default) are removed; table HTML has no place in chat. */
const REMOVED_TAGS = ['include', 'render', 'layout', 'block', 'tablerow'];

/** A file system that has nothing: even a tag left behind by mistake could not read a file. */
const NO_FS: FS = {
  exists: async () => false,
  existsSync: () => false,
  readFile: async (file: string) => {
    throw new Error(`templates cannot read files (${file})`);
  },
  readFileSync: (file: string) => {
    throw new Error(`templates cannot read files (${file})`);
  },
  resolve: (_dir: string, file: string) => file,
  contains: async () => false,
  containsSync: () => false,
  sep: '/',
};

function sandboxedEngine(): Liquid {
  const engine = new Liquid({
    fs: NO_FS,
    templates: {},
    relativeReference: false,
    dynamicPartials: false,
    strictFilters: true,
    strictVariables: false,
    ownPropertyOnly: true,
    timezoneOffset: 0,
    parseLimit: TEMPLATE_LIMITS.chars,
    renderLimit: TEMPLATE_LIMITS.renderMs,
    memoryLimit: TEMPLATE_LIMITS.memory,
  });
  const allowed = new Set<string>(TEMPLATE_FILTERS);
  for (const name of Object.keys(engine.filters)) if (!allowed.has(name)) delete engine.filters[name];
  for (const name of REMOVED_TAGS) delete engine.tags[name];
  return engine;
}

const engine = sandboxedEngine();

/** Parsed templates per process, by their text (an edited template is another entry). */
const PARSED_CACHE = 500;
const parsed = new Map<string, Template[]>();

function parse(template: string): Template[] {
  let tpl = parsed.get(template);
  if (!tpl) {
    if (template.length > TEMPLATE_LIMITS.chars) throw new Error(`a template holds at most ${TEMPLATE_LIMITS.chars} characters`);
    tpl = engine.parse(template);
    if (parsed.size >= PARSED_CACHE) parsed.delete(parsed.keys().next().value as string);
    parsed.set(template, tpl);
  }
  return tpl;
}

/** liquidjs' messages carry the line and column; its stack and file name are noise here. */
function reason(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  return message
    .split('\n')[0]
    .replace(/, file:[^,)]*/, '')
    .slice(0, 500);
}

/**
 * Checks a webhook's `templates` as saved: an object from catalogue event types to Liquid text
 * that parses in the sandbox. Each problem names its type: `templates["bb.issue.create"]`.
 */
export function templatesProblems(templates: unknown, field = 'templates'): FieldProblem[] {
  if (templates === null || templates === undefined) return [];
  if (typeof templates !== 'object' || Array.isArray(templates)) {
    return [
      {
        field,
        message: 'templates is an object from event type to Liquid text, e.g. {"deployment.create": "{{ title }} by {{ actor.name }}"}, or null for none',
      },
    ];
  }
  const problems: FieldProblem[] = [];
  for (const [type, template] of Object.entries(templates)) {
    const here = `${field}[${JSON.stringify(type)}]`;
    if (!(EVENT_TYPES as readonly string[]).includes(type)) {
      problems.push({ field: here, message: `"${type}" is not an event type; templates are keyed by event type: ${EVENT_TYPES.join(', ')}` });
    } else if (typeof template !== 'string') {
      problems.push({ field: here, message: 'a template is a string of Liquid text' });
    } else if (template.length > TEMPLATE_LIMITS.chars) {
      problems.push({ field: here, message: `a template holds at most ${TEMPLATE_LIMITS.chars} characters; this one has ${template.length}` });
    } else {
      try {
        parse(template);
      } catch (err) {
        problems.push({
          field: here,
          message: `not a template this sandbox accepts: ${reason(err)} (filters: ${TEMPLATE_FILTERS.join(', ')}; no include, render or layout)`,
        });
      }
    }
  }
  return problems;
}

/**
 * What a template sees: the event as the events API returns it (the same paths as filters:
 * `title`, `level`, `issue.status`, `deployment.environment`, `mentions`…), plus `project`
 * (`key`, `name`) and `message`, the built-in message's parts in the webhook's language (`title`,
 * `emoji`, `facts` as `{name, value}`, `link`, `actor`), so a template can reuse them.
 */
export function templateScope(event: HeraldEvent, project: EventProject, locale: Locale): Record<string, unknown> {
  const view = buildMessage(event, project, locale);
  return {
    ...event,
    project: { key: project.key, name: project.name },
    message: { title: view.title, emoji: view.emoji, facts: view.facts, link: view.link, actor: view.actor, locale },
  };
}

export type TemplateResult = { ok: true; text: string } | { ok: false; reason: string };

/** Renders one template for one event; never throws. */
export function renderTemplate(template: string, event: HeraldEvent, project: EventProject, locale: Locale): TemplateResult {
  try {
    const out: unknown = engine.renderSync(parse(template), templateScope(event, project, locale), {
      renderLimit: TEMPLATE_LIMITS.renderMs,
      memoryLimit: TEMPLATE_LIMITS.memory,
      templateLimit: TEMPLATE_LIMITS.renders,
    });
    // buildMessage cuts it like a description (DESCRIPTION_CHARS, between grapheme clusters) before anything reads it.
    return { ok: true, text: typeof out === 'string' ? out : String(out ?? '') };
  } catch (err) {
    return { ok: false, reason: reason(err) };
  }
}
