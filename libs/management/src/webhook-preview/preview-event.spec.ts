import fc from 'fast-check';
import { CHANNEL_ADAPTERS, renderMessage } from '@herald/channels';
import { EVENT_TYPES } from '@herald/domain';
import { previewEvent, previewEventProblems } from './preview-event';

const NOW = new Date('2024-05-01T10:00:00Z');
const URLS: Record<string, string> = {
  teams: 'https://x.logic.azure.com/workflows/a/triggers/manual/paths/invoke',
  googlechat: 'https://chat.googleapis.com/v1/spaces/A/messages?key=k&token=t',
};
const context = { deliveryId: '01a203fd-ff8c-753d-98a2-78a466645ac5', now: NOW, project: { id: 1, key: 'p', name: 'P' } };

const KEYS = [
  'type',
  'level',
  'title',
  'description',
  'link',
  'occurredAt',
  'actor',
  'issue',
  'stage',
  'task',
  'rollout',
  'comment',
  'deployment',
  'mentions',
  'id',
  'status',
  'name',
  'email',
  'phone',
  'environment',
  'result',
  'creator',
  'key',
  'text',
  'extra',
];
const leaf = fc.oneof(
  fc.string({ maxLength: 30 }),
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.constantFrom(...EVENT_TYPES, 'INFO', 'ERROR', 'DONE', 'FAILURE', '+8613800000000', 'https://example.com/x', '2024-05-01T10:00:00Z'),
);
const { json } = fc.letrec((tie) => ({
  json: fc.oneof({ depthSize: 'small' }, leaf, fc.array(tie('json'), { maxLength: 4 }), fc.dictionary(fc.constantFrom(...KEYS), tie('json'), { maxKeys: 6 })),
}));
const loose = fc
  .record({ type: fc.oneof(fc.constantFrom(...EVENT_TYPES), leaf) })
  .chain((base) => fc.dictionary(fc.constantFrom(...KEYS), json, { maxKeys: 8 }).map((rest) => ({ ...rest, ...base })));
/** Events of the right shape with awkward texts (empty, huge, markup, bad links, phone-like), so the renderers are reached often. */
const text = fc.oneof(
  fc.string({ maxLength: 30 }),
  fc.constantFrom('', ' ', '<!channel> **x** [a](b)', 'x'.repeat(5000), '数据库 😀', 'javascript:alert(1)', '+86 138-0000-0000', 'FAILURE', 'DONE'),
);
const person = fc.record({ id: fc.oneof(text, fc.integer()), name: text, email: text, phone: text }, { requiredKeys: [] });
const shaped = fc.record(
  {
    type: fc.constantFrom(...EVENT_TYPES),
    level: fc.constantFrom('INFO', 'SUCCESS', 'WARN', 'ERROR'),
    title: text,
    description: text,
    link: text,
    actor: person,
    issue: fc.record(
      {
        id: fc.oneof(text, fc.integer()),
        key: text,
        name: text,
        status: text,
        type: text,
        description: text,
        creator: fc.record({ name: text, email: text }, { requiredKeys: [] }),
      },
      { requiredKeys: [] },
    ),
    stage: fc.record({ name: text, status: text }, { requiredKeys: [] }),
    task: fc.record({ name: text, status: text }, { requiredKeys: [] }),
    rollout: fc.record({ id: fc.oneof(text, fc.integer()), title: text, environment: text }, { requiredKeys: [] }),
    comment: fc.record({ text }, { requiredKeys: [] }),
    deployment: fc.record({ result: text, environment: text, other: json }, { requiredKeys: [] }),
    mentions: fc.array(person, { maxLength: 20 }),
  },
  { requiredKeys: ['type'] },
);
const eventish = fc.oneof(loose, shaped);

describe('preview events', () => {
  it('names each bad part', () => {
    expect(
      previewEventProblems({
        type: 'x',
        level: 'LOUD',
        occurredAt: 'yesterday',
        issue: { status: 3, id: 4, stauts: 'x' },
        mentions: [{ phone: 1 }],
        deployment: { result: 1 },
        extra: 1,
      }),
    ).toEqual([
      { field: 'event.type', message: expect.any(String) },
      { field: 'event.level', message: 'level must be one of INFO, SUCCESS, WARN, ERROR' },
      { field: 'event.occurredAt', message: expect.stringContaining('RFC 3339') },
      { field: 'event.issue.status', message: 'status must be a string of at most 65536 characters' },
      { field: 'event.issue.stauts', message: expect.stringContaining('not a field here') },
      { field: 'event.mentions[0].phone', message: expect.any(String) },
      { field: 'event.deployment.result', message: 'result must be a string' },
      { field: 'event.extra', message: expect.stringContaining('an event has no field extra') },
    ]);
    expect(previewEventProblems('x')).toEqual([{ field: 'event', message: expect.any(String) }]);
  });

  it('applies the defaults intake applies and sets what Herald sets', () => {
    const e = previewEvent({ type: 'bb.issue.status.update', title: '  ', issue: { status: 'DONE' }, id: 'mine', source: 'devlake' }, 'p', NOW);
    expect(e).toMatchObject({
      type: 'bb.issue.status.update',
      level: 'SUCCESS',
      title: 'Issue resolved',
      projectKey: 'p',
      source: 'api',
      occurredAt: NOW.toISOString(),
      receivedAt: NOW.toISOString(),
    });
    expect(e.id).not.toBe('mine');
  });

  it('whatever passes renders on every channel without throwing (no preview answers 500)', () => {
    let passed = 0;
    fc.assert(
      fc.property(eventish, (input) => {
        if (previewEventProblems(input).length) return true;
        passed++;
        const event = previewEvent(input, 'p', NOW);
        for (const adapter of CHANNEL_ADAPTERS) {
          const target = {
            url: URLS[adapter.type] ?? 'https://hooks.example.com/x',
            secret: adapter.newSecret?.() ?? null,
            previousSecret: null,
            locale: 'en' as const,
            template: '{{ title }} {{ issue.key }} {% for m in mentions %}{{ m.name }}{% endfor %}',
          };
          renderMessage(adapter, event, target, context);
        }
        return true;
      }),
      { numRuns: 1000 },
    );
    // The generator reaches the renderers often, not only the validation.
    expect(passed).toBeGreaterThan(400);
  });
});
