import { Webhook } from 'standardwebhooks';
import type { HeraldEvent } from '@herald/domain';
import { GOLDEN_CONTEXT, describeGolden, target as goldenTarget } from '../testing/golden';
import { customAdapter } from './custom.adapter';

const secret = `whsec_${Buffer.alloc(32, 9).toString('base64')}`;
const event: HeraldEvent = {
  id: '01a203fd-ff72-7447-ab60-7aa1ca208cae',
  projectKey: 'payments',
  type: 'bb.issue.create',
  level: 'INFO',
  title: 'Issue created',
  description: 'Add an index',
  link: 'https://bytebase.example.com/projects/payments/issues/42',
  actor: { id: 7, name: 'Ann', email: 'ann@example.com' },
  issue: { id: 42, name: 'Add index', status: 'OPEN', type: 'bb.issue.database.schema.update', description: 'CREATE INDEX', key: 'PAY-42' },
  occurredAt: '2026-11-22T10:00:00.000Z',
  receivedAt: '2026-11-22T10:00:01.000Z',
  source: 'api',
};
const context = {
  deliveryId: '01a203fd-ff8c-753d-98a2-78a466645ac5',
  now: new Date('2026-11-22T10:00:02Z'),
  project: { id: 3, key: 'payments', name: 'Payments' },
};
const target = { url: 'https://receiver.example.com/hook', secret, previousSecret: null, locale: 'en' as const };

// URL, Standard Webhooks headers (signed at GOLDEN_CONTEXT.now) and body, byte for byte; `rotating`
// pins the two space-separated signatures sent while a rotated-out secret still signs.
// The custom payload carries the producer's texts as written, so the every-field-at-its-limit event
// would only pin 400 KB of input.
describeGolden(
  customAdapter,
  __dirname,
  {
    default: goldenTarget('https://receiver.example.com/hooks/herald?tenant=3', { secret }),
    rotating: goldenTarget('https://receiver.example.com/hooks/herald?tenant=3', { secret, previousSecret: `whsec_${Buffer.alloc(32, 1).toString('base64')}` }),
  },
  ['default'],
  ['max-zh'],
);

describe('custom golden signatures', () => {
  it('verify with the standardwebhooks package at the fixed clock', () => {
    const req = customAdapter.render(event, goldenTarget('https://receiver.example.com/hooks/herald', { secret }), GOLDEN_CONTEXT);
    jest.useFakeTimers({ now: GOLDEN_CONTEXT.now });
    try {
      expect(new Webhook(secret).verify(req.body, req.headers)).toMatchObject({ event_id: event.id });
    } finally {
      jest.useRealTimers();
    }
  });
});

describe('custom adapter', () => {
  it('renders exactly the seed keys plus event_id (docs/contract.md §7.3)', () => {
    const body = JSON.parse(customAdapter.render(event, target, context).body);
    expect(body).toEqual({
      level: 'INFO',
      activity_type: 'bb.issue.create',
      title: 'Issue created',
      description: 'Add an index',
      link: 'https://bytebase.example.com/projects/payments/issues/42',
      creator_id: 7,
      creator_name: 'Ann',
      created_ts: 1795341600,
      issue: { id: 42, name: 'Add index', status: 'OPEN', type: 'bb.issue.database.schema.update', description: 'CREATE INDEX' },
      project: { id: 3, name: 'Payments' },
      event_id: event.id,
    });
  });

  it('sets issue to null when the event has none, and keeps string ids as strings', () => {
    const body = JSON.parse(customAdapter.render({ ...event, issue: null, actor: { id: 'u-7' } }, target, context).body);
    expect(body.issue).toBeNull();
    expect(body.creator_id).toBe('u-7');
  });

  it('signs with Standard Webhooks so a receiver library verifies it', () => {
    const req = customAdapter.render(event, target, context);
    expect(req.headers['webhook-id']).toBe(context.deliveryId);
    expect(req.headers['webhook-timestamp']).toBe(String(Math.floor(context.now.getTime() / 1000)));
    const wh = new Webhook(secret);
    // verify() checks the timestamp against the clock; pin it to the signing time.
    jest.useFakeTimers({ now: context.now });
    try {
      expect(wh.verify(req.body, req.headers)).toMatchObject({ event_id: event.id });
    } finally {
      jest.useRealTimers();
    }
  });

  it('sends both signatures during a rotation, each verifiable on its own', () => {
    const previous = `whsec_${Buffer.alloc(32, 1).toString('base64')}`;
    const req = customAdapter.render(event, { ...target, previousSecret: previous }, context);
    expect(req.headers['webhook-signature'].split(' ')).toHaveLength(2);
    jest.useFakeTimers({ now: context.now });
    try {
      expect(() => new Webhook(secret).verify(req.body, req.headers)).not.toThrow();
      expect(() => new Webhook(previous).verify(req.body, req.headers)).not.toThrow();
    } finally {
      jest.useRealTimers();
    }
  });

  it('is pure: the same input gives the same request', () => {
    expect(customAdapter.render(event, target, context)).toEqual(customAdapter.render(event, target, context));
  });

  describe('classify (docs/contract.md §6.4)', () => {
    const reply = (statusCode: number, body = '', headers: Record<string, string> = {}) => customAdapter.classify({ statusCode, body, headers });

    it('accepts any 2xx', () => {
      expect(reply(200, 'ok').kind).toBe('delivered');
      expect(reply(204).kind).toBe('delivered');
      expect(reply(200, '{"code":0,"message":"fine"}').kind).toBe('delivered');
    });

    it('treats a 2xx whose JSON code is not 0 as a retryable failure and keeps the message', () => {
      expect(reply(200, '{"code":1,"message":"disk full"}')).toEqual({ kind: 'retryable', reason: 'receiver answered code 1: disk full' });
    });

    it('retries 5xx and 408, holds on 429, rejects other 4xx and gives up on 410', () => {
      expect(reply(500).kind).toBe('retryable');
      expect(reply(503).kind).toBe('retryable');
      expect(reply(408).kind).toBe('retryable');
      expect(reply(429, '', { 'retry-after': '7' })).toMatchObject({ kind: 'rate_limited', retryAfterMs: 7000 });
      expect(reply(400).kind).toBe('rejected');
      expect(reply(410)).toMatchObject({ kind: 'rejected', gone: true });
      expect(reply(302).kind).toBe('rejected');
    });
  });
});
