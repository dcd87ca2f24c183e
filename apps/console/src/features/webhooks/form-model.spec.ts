import type { Webhook } from '@herald/sdk';
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
  });

  it('builds the create body without empty optional fields', () => {
    expect(createBody({ ...EMPTY_FORM, name: 'n', url: 'https://hooks.slack.com/services/T/B/X', events: ['bb.issue.create'] })).toEqual({
      name: 'n',
      type: 'slack',
      url: 'https://hooks.slack.com/services/T/B/X',
      events: ['bb.issue.create'],
      directMessage: false,
    });
    expect(createBody({ ...EMPTY_FORM, type: 'discord', name: 'n', url: 'https://discord.com/api/webhooks/1/x', events: ['bb.issue.create'], rateCount: '5', ratePer: '2' })).toEqual({
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
