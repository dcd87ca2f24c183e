import type { Webhook } from '@herald/sdk';
import { EVENT_TYPE_LIST } from '../../lib/catalogue';
import { createBody, EMPTY_FORM, toFormValues, updateBody, webhookFormSchema } from './form-model';

const stored: Webhook = {
  id: 'w1',
  name: 'deploys',
  type: 'slack',
  urlMasked: 'https://hooks.slack.com/…abcd',
  events: ['deployment.create', 'incident.create'],
  directMessage: false,
  enabled: true,
  status: 'active',
  disabledReason: null,
  disabledAt: null,
  rateLimit: { count: 1, perSeconds: 1 },
  rateLimits: [{ count: 1, perSeconds: 1 }],
  locale: 'en',
  digest: null,
  ordering: 'none',
  filter: { 'deployment.environment': 'PRODUCTION' },
  templates: { 'deployment.create': '{{ title }} by {{ actor.name }}', 'bb.issue.create': 'not chosen' },
  createdAt: '2024-01-01T00:00:00.000Z',
  updatedAt: '2024-01-01T00:00:00.000Z',
};

describe('webhook form model', () => {
  it('PATCH carries only the fields that changed', () => {
    const initial = toFormValues(stored);
    expect(updateBody(initial, { ...initial })).toEqual({});
    expect(updateBody(initial, { ...initial, name: 'deploys to #ops' })).toEqual({ name: 'deploys to #ops' });
    // The same events in another order are no change; an empty URL keeps the stored one.
    expect(updateBody(initial, { ...initial, events: ['incident.create', 'deployment.create'], url: '' })).toEqual({});
    expect(updateBody(initial, { ...initial, url: ' https://hooks.slack.com/services/T/B/new ' })).toEqual({ url: 'https://hooks.slack.com/services/T/B/new' });
    expect(updateBody(initial, { ...initial, rateCount: '', ratePer: '' })).toEqual({ rateLimit: null });
    // Digest and order (issue 16): both numbers, or null to turn digests off.
    const digested = { ...initial, digestAfter: '5', digestMax: '50', ordering: 'subject' as const };
    expect(updateBody(initial, digested)).toEqual({ digest: { afterQueued: 5, maxItems: 50 }, ordering: 'subject' });
    const stored2 = toFormValues({ ...stored, digest: { afterQueued: 5, maxItems: 50 }, ordering: 'subject' });
    expect(stored2).toMatchObject({ digestAfter: '5', digestMax: '50', ordering: 'subject' });
    expect(updateBody(stored2, { ...stored2, digestAfter: '', digestMax: '' })).toEqual({ digest: null });
  });

  it('refuses a digest on a custom webhook, and half a digest, before anything is sent', () => {
    const create = webhookFormSchema('create');
    const base = { ...EMPTY_FORM, name: 'n', url: 'https://receiver.example.com/h', events: ['bb.issue.create' as const] };
    const custom = create.safeParse({ ...base, type: 'custom', digestAfter: '5', digestMax: '50' });
    expect(custom.success ? [] : custom.error.issues.map((i) => [i.path.join('.'), i.message])).toEqual([
      ['digestMax', expect.stringContaining('one signed event per request')],
    ]);
    const half = create.safeParse({ ...base, url: 'https://hooks.slack.com/services/T/B/X', digestAfter: '5' });
    expect(half.success ? [] : half.error.issues.map((i) => i.path.join('.'))).toEqual(['digestMax']);
    const range = create.safeParse({ ...base, url: 'https://hooks.slack.com/services/T/B/X', digestAfter: '5', digestMax: '1' });
    expect(range.success ? [] : range.error.issues.map((i) => i.path.join('.'))).toEqual(['digestMax']);
    expect(
      createBody({ ...base, type: 'slack', url: 'https://hooks.slack.com/services/T/B/X', digestAfter: '0', digestMax: '10', ordering: 'subject' }),
    ).toMatchObject({ digest: { afterQueued: 0, maxItems: 10 }, ordering: 'subject' });
  });

  it('filter and templates: shown as stored, sent only when changed, cleared with null', () => {
    const initial = toFormValues(stored);
    expect(JSON.parse(initial.filter)).toEqual(stored.filter);
    const deployment = EVENT_TYPE_LIST.indexOf('deployment.create');
    expect(initial.templates[deployment]).toBe('{{ title }} by {{ actor.name }}');
    // Reformatted JSON is no change.
    expect(updateBody(initial, { ...initial, filter: '{"deployment.environment":"PRODUCTION"}' })).toEqual({});
    expect(updateBody(initial, { ...initial, filter: '{"level": "ERROR"}' })).toEqual({ filter: { level: 'ERROR' } });
    expect(updateBody(initial, { ...initial, filter: '  ' })).toEqual({ filter: null });
    const templates = [...initial.templates];
    templates[deployment] = '{{ title }}';
    // Only the templates of chosen events are sent: the stored one for an event not chosen goes.
    expect(updateBody(initial, { ...initial, templates })).toEqual({ templates: { 'deployment.create': '{{ title }}' } });
    templates[deployment] = '';
    expect(updateBody(initial, { ...initial, templates })).toEqual({ templates: null });
    expect(createBody({ ...initial, name: 'n', url: 'https://discord.com/api/webhooks/1/x', type: 'custom' })).not.toHaveProperty('templates');
  });

  it('refuses a filter that is not a JSON object before sending it', () => {
    const edit = webhookFormSchema('edit');
    for (const [filter, message] of [
      ['{level: ERROR}', /^Not JSON/],
      ['["level"]', /^A JSON object/],
      ['null', /^A JSON object/],
    ] as const) {
      const result = edit.safeParse({ ...toFormValues(stored), filter });
      expect(result.success ? [] : result.error.issues.map((i) => [i.path.join('.'), i.message])).toEqual([['filter', expect.stringMatching(message)]]);
    }
  });

  it('builds the create body without empty optional fields', () => {
    expect(createBody({ ...EMPTY_FORM, name: 'n', url: 'https://hooks.slack.com/services/T/B/X', events: ['bb.issue.create'] })).toEqual({
      name: 'n',
      type: 'slack',
      url: 'https://hooks.slack.com/services/T/B/X',
      events: ['bb.issue.create'],
      directMessage: false,
    });
    expect(
      createBody({
        ...EMPTY_FORM,
        type: 'discord',
        name: 'n',
        url: 'https://discord.com/api/webhooks/1/x',
        events: ['bb.issue.create'],
        rateCount: '5',
        ratePer: '2',
      }),
    ).toEqual({
      name: 'n',
      type: 'discord',
      url: 'https://discord.com/api/webhooks/1/x',
      events: ['bb.issue.create'],
      rateLimit: { count: 5, perSeconds: 2 },
    });
  });

  it('checks the form before anything is sent', () => {
    const create = webhookFormSchema('create');
    const result = create.safeParse({ ...EMPTY_FORM, rateCount: '5', secret: 'x' });
    expect(result.success).toBe(false);
    const fields = result.success ? [] : result.error.issues.map((i) => i.path.join('.')).sort();
    expect(fields).toEqual(['events', 'name', 'ratePer', 'secret', 'url']);
    // Editing may keep the stored URL.
    expect(webhookFormSchema('edit').safeParse(toFormValues(stored)).success).toBe(true);
  });
});
