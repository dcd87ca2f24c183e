import { z } from 'zod';
import type { CreateWebhook, UpdateWebhook, Webhook } from '@herald/sdk';
import { EVENT_TYPE_LIST, type ChannelType, type EventType } from '../../lib/catalogue';
import { DESTINATIONS, destination } from './destinations';

const positiveInt = z
  .string()
  .trim()
  .refine((v) => v === '' || /^[1-9]\d{0,5}$/.test(v), 'A whole number from 1');

const wholeNumber = (min: number, max: number) =>
  z
    .string()
    .trim()
    .refine((v) => v === '' || (/^\d{1,6}$/.test(v) && Number(v) >= min && Number(v) <= max), `A whole number from ${min} to ${max}`);

/** The form's values (inputs are strings; the body is built from them). */
export const webhookFormSchema = (mode: 'create' | 'edit') =>
  z
    .object({
      type: z.enum(DESTINATIONS.map((d) => d.type) as [ChannelType, ...ChannelType[]]),
      name: z.string().trim().min(1, 'Give the webhook a name').max(200, 'At most 200 characters'),
      url: z.string().trim(),
      events: z.array(z.enum(EVENT_TYPE_LIST as [EventType, ...EventType[]])).min(1, 'Choose at least one event'),
      directMessage: z.boolean(),
      secret: z.string().trim().max(512, 'At most 512 characters'),
      rateCount: positiveInt,
      ratePer: positiveInt,
      locale: z.enum(['', 'en', 'zh']),
      digestAfter: wholeNumber(0, 10_000),
      digestMax: wholeNumber(2, 100),
      ordering: z.enum(['none', 'subject']),
      /** The filter as JSON text; empty: none. */
      filter: z.string(),
      /** One template per event type, in EVENT_TYPE_LIST's order (event types hold dots, so they cannot be form paths); empty: the built-in message. */
      templates: z.array(z.string().max(TEMPLATE_CHARS, `At most ${TEMPLATE_CHARS} characters`)),
    })
    .superRefine((v, ctx) => {
      if (mode === 'create' && v.url === '') ctx.addIssue({ code: 'custom', path: ['url'], message: 'Paste the URL the platform gave you' });
      if (v.url !== '' && !/^https?:\/\/[^\s/]+/i.test(v.url))
        ctx.addIssue({ code: 'custom', path: ['url'], message: 'An http(s) URL, e.g. ' + destination(v.type).placeholder });
      if ((v.rateCount === '') !== (v.ratePer === ''))
        ctx.addIssue({
          code: 'custom',
          path: [v.rateCount === '' ? 'rateCount' : 'ratePer'],
          message: 'Give both numbers, or neither for the platform default',
        });
      const d = destination(v.type);
      if (v.secret !== '' && d.secret === 'none') ctx.addIssue({ code: 'custom', path: ['secret'], message: `${d.name} webhooks are not signed` });
      if (v.secret !== '' && v.type === 'custom' && !/^whsec_[A-Za-z0-9+/=]+$/.test(v.secret))
        ctx.addIssue({ code: 'custom', path: ['secret'], message: 'A Standard Webhooks secret: whsec_ followed by base64' });
      if (v.secret !== '' && v.type === 'dingtalk' && !/^SEC[0-9a-f]+$/i.test(v.secret))
        ctx.addIssue({ code: 'custom', path: ['secret'], message: 'DingTalk secrets are SEC followed by hex' });
      if ((v.digestAfter === '') !== (v.digestMax === ''))
        ctx.addIssue({
          code: 'custom',
          path: [v.digestAfter === '' ? 'digestAfter' : 'digestMax'],
          message: 'Give both numbers, or neither for one message per event',
        });
      if (v.type === 'custom' && (v.digestAfter !== '' || v.digestMax !== ''))
        ctx.addIssue({
          code: 'custom',
          path: ['digestMax'],
          message: 'Custom webhooks never get digests: their receivers expect one signed event per request',
        });
      const filter = parseFilter(v.filter);
      if (typeof filter === 'string') ctx.addIssue({ code: 'custom', path: ['filter'], message: filter });
    });

/** The server's bound on one template. */
export const TEMPLATE_CHARS = 4000;

/** The filter text as an object, null for none, or what is wrong with it (the server checks the rest). */
export function parseFilter(text: string): Record<string, unknown> | null | string {
  if (text.trim() === '') return null;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return `Not JSON: ${(err as Error).message}`;
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return 'A JSON object, e.g. {"deployment.environment": "PRODUCTION"}';
  return value as Record<string, unknown>;
}

const filterOf = (v: WebhookFormValues) => {
  const f = parseFilter(v.filter);
  return typeof f === 'string' ? null : f;
};

/** The templates of the chosen events (a template of an event not chosen is not sent), or null for none. */
export function templatesOf(v: Pick<WebhookFormValues, 'type' | 'events' | 'templates'>): Record<string, string> | null {
  if (v.type === 'custom') return null;
  const entries = EVENT_TYPE_LIST.map((t, i) => [t, v.templates[i] ?? ''] as const).filter(([t, text]) => v.events.includes(t) && text.trim() !== '');
  return entries.length ? Object.fromEntries(entries) : null;
}

export type WebhookFormValues = z.infer<ReturnType<typeof webhookFormSchema>>;

export const EMPTY_FORM: WebhookFormValues = {
  type: 'slack',
  name: '',
  url: '',
  events: [],
  directMessage: false,
  secret: '',
  rateCount: '',
  ratePer: '',
  locale: '',
  filter: '',
  templates: EVENT_TYPE_LIST.map(() => ''),
  digestAfter: '',
  digestMax: '',
  ordering: 'none',
};

/** A stored webhook as form values. The URL and secret are never read back: empty means "keep". */
export function toFormValues(w: Webhook): WebhookFormValues {
  const ownLimit = w.rateLimit && w.rateLimits.length === 1 ? w.rateLimit : null;
  return {
    type: w.type,
    name: w.name,
    url: '',
    events: w.events,
    directMessage: w.directMessage,
    secret: '',
    rateCount: ownLimit ? String(ownLimit.count) : '',
    ratePer: ownLimit ? String(ownLimit.perSeconds) : '',
    locale: (w.locale as 'en' | 'zh') ?? '',
    digestAfter: w.digest ? String(w.digest.afterQueued) : '',
    digestMax: w.digest ? String(w.digest.maxItems) : '',
    ordering: w.ordering ?? 'none',
    filter: w.filter ? JSON.stringify(w.filter, null, 2) : '',
    templates: EVENT_TYPE_LIST.map((t) => w.templates?.[t] ?? ''),
  };
}

const rateLimitOf = (v: WebhookFormValues) => (v.rateCount && v.ratePer ? { count: Number(v.rateCount), perSeconds: Number(v.ratePer) } : undefined);
const digestOf = (v: WebhookFormValues) => (v.digestAfter && v.digestMax ? { afterQueued: Number(v.digestAfter), maxItems: Number(v.digestMax) } : undefined);

export function createBody(v: WebhookFormValues): CreateWebhook {
  const d = destination(v.type);
  return {
    name: v.name.trim(),
    type: v.type,
    url: v.url.trim(),
    events: v.events,
    ...(d.directMessage ? { directMessage: v.directMessage } : {}),
    ...(v.secret ? { secret: v.secret } : {}),
    ...(rateLimitOf(v) ? { rateLimit: rateLimitOf(v) } : {}),
    ...(v.locale ? { locale: v.locale } : {}),
    ...(digestOf(v) ? { digest: digestOf(v) } : {}),
    ...(v.ordering !== 'none' ? { ordering: v.ordering } : {}),
    ...(filterOf(v) ? { filter: filterOf(v) } : {}),
    ...(templatesOf(v) ? { templates: templatesOf(v) } : {}),
  };
}

/**
 * PATCH sends only what changed (issue 14 §3): the fields whose values differ from the stored
 * webhook's. An empty URL or secret means "keep the stored one"; clearing both rate-limit numbers
 * returns to the platform's default (null), clearing both digest numbers turns digests off (null).
 */
export function updateBody(initial: WebhookFormValues, v: WebhookFormValues): UpdateWebhook {
  const body: UpdateWebhook = {};
  if (v.name.trim() !== initial.name) body.name = v.name.trim();
  if (v.url.trim() !== '') body.url = v.url.trim();
  if ([...v.events].sort().join() !== [...initial.events].sort().join()) body.events = v.events;
  if (v.directMessage !== initial.directMessage) body.directMessage = v.directMessage;
  if (v.secret.trim() !== '') body.secret = v.secret.trim();
  if (v.rateCount !== initial.rateCount || v.ratePer !== initial.ratePer) body.rateLimit = rateLimitOf(v) ?? null;
  if (v.locale !== initial.locale && v.locale !== '') body.locale = v.locale;
  if (v.digestAfter !== initial.digestAfter || v.digestMax !== initial.digestMax) body.digest = digestOf(v) ?? null;
  if (v.ordering !== initial.ordering) body.ordering = v.ordering;
  if (JSON.stringify(filterOf(v)) !== JSON.stringify(filterOf(initial))) body.filter = filterOf(v);
  if (JSON.stringify(templatesOf(v)) !== JSON.stringify(templatesOf(initial))) body.templates = templatesOf(v);
  return body;
}

/** API field names (in a 400's details) → the form's. */
export const SERVER_FIELDS: Record<string, string> = {
  name: 'name',
  type: 'type',
  url: 'url',
  events: 'events',
  directMessage: 'directMessage',
  secret: 'secret',
  'rateLimit.count': 'rateCount',
  'rateLimit.perSeconds': 'ratePer',
  rateLimit: 'rateCount',
  locale: 'locale',
  digest: 'digestMax',
  'digest.afterQueued': 'digestAfter',
  'digest.maxItems': 'digestMax',
  ordering: 'ordering',
  // `filter.$or[0]["issue.status"]` and the like land on the filter (applyServerErrors reads the name up to . or [).
  filter: 'filter',
  ...Object.fromEntries(EVENT_TYPE_LIST.map((t, i) => [`templates[${JSON.stringify(t)}]`, `templates.${i}`])),
};
