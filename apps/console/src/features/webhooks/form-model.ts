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
    })
    .superRefine((v, ctx) => {
      if (mode === 'create' && v.url === '') ctx.addIssue({ code: 'custom', path: ['url'], message: 'Paste the URL the platform gave you' });
      if (v.url !== '' && !/^https?:\/\/[^\s/]+/i.test(v.url)) ctx.addIssue({ code: 'custom', path: ['url'], message: 'An http(s) URL, e.g. ' + destination(v.type).placeholder });
      if ((v.rateCount === '') !== (v.ratePer === '')) ctx.addIssue({ code: 'custom', path: [v.rateCount === '' ? 'rateCount' : 'ratePer'], message: 'Give both numbers, or neither for the platform default' });
      const d = destination(v.type);
      if (v.secret !== '' && d.secret === 'none') ctx.addIssue({ code: 'custom', path: ['secret'], message: `${d.name} webhooks are not signed` });
      if (v.secret !== '' && v.type === 'custom' && !/^whsec_[A-Za-z0-9+/=]+$/.test(v.secret)) ctx.addIssue({ code: 'custom', path: ['secret'], message: 'A Standard Webhooks secret: whsec_ followed by base64' });
      if (v.secret !== '' && v.type === 'dingtalk' && !/^SEC[0-9a-f]+$/i.test(v.secret)) ctx.addIssue({ code: 'custom', path: ['secret'], message: 'DingTalk secrets are SEC followed by hex' });
      if ((v.digestAfter === '') !== (v.digestMax === '')) ctx.addIssue({ code: 'custom', path: [v.digestAfter === '' ? 'digestAfter' : 'digestMax'], message: 'Give both numbers, or neither for one message per event' });
      if (v.type === 'custom' && (v.digestAfter !== '' || v.digestMax !== '')) ctx.addIssue({ code: 'custom', path: ['digestMax'], message: 'Custom webhooks never get digests: their receivers expect one signed event per request' });
    });

export type WebhookFormValues = z.infer<ReturnType<typeof webhookFormSchema>>;

export const EMPTY_FORM: WebhookFormValues = { type: 'slack', name: '', url: '', events: [], directMessage: false, secret: '', rateCount: '', ratePer: '', locale: '', digestAfter: '', digestMax: '', ordering: 'none' };

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
};
