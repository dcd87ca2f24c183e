import fc from 'fast-check';
import { plainToInstance } from 'class-transformer';
import { validate } from 'class-validator';
import { EVENT_LEVELS, EVENT_TYPES } from '@herald/domain';
import { compiledCheck } from '@herald/platform';
import { EventDto } from './event.dto';

/** What the API's validation pipe runs on a body (libs/platform/src/errors.ts), without the fast path. */
async function validateInFull(body: Record<string, unknown>): Promise<boolean> {
  const errors = await validate(plainToInstance(EventDto, body), { whitelist: true, forbidNonWhitelisted: true, forbidUnknownValues: true });
  return errors.length === 0;
}

const check = compiledCheck(EventDto);

/** Strings near every limit of the DTO (1 000, 65 536, 320, 64, 255, the link's), and odd ones. */
const text = fc.oneof(
  fc.string({ maxLength: 20 }),
  fc.constantFrom(...[63, 64, 65, 255, 256, 320, 321, 999, 1000, 1001, 2048, 2049].map((n) => 'x'.repeat(n))),
  fc.constantFrom('https://example.com/a', 'http://h/', 'ftp://x', 'javascript:alert(1)', ' https://x', '', '2024-05-01T10:00:00Z', '2024-05-01 10:00:00Z'),
);
const scalar = fc.oneof(text, fc.integer(), fc.double(), fc.boolean(), fc.constant(null));
const anyValue = fc.oneof(scalar, fc.array(scalar, { maxLength: 3 }), fc.dictionary(fc.constantFrom('a', 'name', 'id'), scalar, { maxKeys: 2 }));
const person = fc.record(
  { id: fc.oneof(text, fc.integer(), fc.double(), fc.constant(null)), name: text, email: text, phone: text, extra: scalar },
  { requiredKeys: [] },
);
const issue = fc.record(
  {
    id: fc.oneof(text, fc.integer()),
    key: text,
    name: text,
    status: fc.oneof(fc.constantFrom('OPEN', 'DONE', 'CANCELED', 'open'), text),
    type: text,
    description: text,
    creator: fc.oneof(person, anyValue),
  },
  { requiredKeys: [] },
);
const nameStatus = fc.record({ name: text, status: text, other: scalar }, { requiredKeys: [] });
const event = fc.record(
  {
    type: fc.oneof(fc.constantFrom(...EVENT_TYPES), text),
    level: fc.oneof(fc.constantFrom(...EVENT_LEVELS), text),
    title: fc.oneof(text, scalar),
    description: text,
    link: text,
    actor: fc.oneof(person, anyValue),
    issue: fc.oneof(issue, anyValue),
    stage: fc.oneof(nameStatus, anyValue),
    task: nameStatus,
    rollout: fc.record({ id: fc.integer(), title: text, environment: text }, { requiredKeys: [] }),
    comment: fc.oneof(fc.record({ text }, { requiredKeys: [] }), anyValue),
    deployment: anyValue,
    mentions: fc.oneof(fc.array(fc.oneof(person, anyValue), { maxLength: 4 }), anyValue),
    occurredAt: fc.oneof(
      fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
      text,
    ),
    unknownField: scalar,
  },
  { requiredKeys: [] },
);

/** Bodies that should mostly pass: the fields within their limits. */
const short = fc.string({ maxLength: 30 });
const goodPerson = fc.record({ id: fc.oneof(short, fc.integer()), name: short, email: short, phone: short }, { requiredKeys: [] });
const goodEvent = fc.record(
  {
    type: fc.constantFrom(...EVENT_TYPES),
    level: fc.constantFrom(...EVENT_LEVELS),
    title: fc.oneof(short, fc.constant(null)),
    description: short,
    link: fc.constantFrom('https://example.com/issues/42', 'http://ci.local:8080/job/1?x=y#z'),
    actor: goodPerson,
    issue: fc.record(
      { id: fc.integer(), name: short, status: fc.constantFrom('OPEN', 'DONE', 'CANCELED'), creator: fc.record({ name: short }) },
      { requiredKeys: [] },
    ),
    stage: fc.record({ name: short, status: short }, { requiredKeys: [] }),
    rollout: fc.record({ id: short, title: short, environment: short }, { requiredKeys: [] }),
    comment: fc.record({ text: short }),
    deployment: fc.dictionary(short, fc.oneof(short, fc.integer())),
    mentions: fc.array(goodPerson, { maxLength: 5 }),
    occurredAt: fc.date({ min: new Date('1970-01-01'), max: new Date('2100-01-01'), noInvalidDate: true }).map((d) => d.toISOString()),
  },
  { requiredKeys: ['type'] },
);

describe('EventDto: the compiled check against class-validator', () => {
  it('compiles (the intake route takes the fast path)', () => {
    expect(check).not.toBeNull();
  });

  it('says yes to bodies within the rules, as validate does', async () => {
    await fc.assert(
      fc.asyncProperty(goodEvent, async (body) => {
        expect(await validateInFull(body)).toBe(true);
        expect(check?.(body)).toBe(true);
      }),
      { numRuns: 500 },
    );
  });

  it('never says yes where validate finds a problem', async () => {
    let refused = 0;
    await fc.assert(
      fc.asyncProperty(event, async (body) => {
        const full = await validateInFull(body);
        if (!full) refused++;
        // A no where validate finds nothing only costs time (the full path then accepts it).
        if (check?.(body)) expect(full).toBe(true);
      }),
      { numRuns: 3000 },
    );
    expect(refused).toBeGreaterThan(1000);
  });

  it.each([
    [
      'a full event',
      { type: 'incident.create', title: 'x', issue: { id: 1, name: 'n', creator: { name: 'c' } }, mentions: [{ id: 'u', phone: '1' }] },
      true,
      true,
    ],
    ['101 mentions', { type: 'incident.create', mentions: Array.from({ length: 101 }, () => ({})) }, false, false],
    // class-validator walks arrays nested in arrays; the compiled check leaves that to it.
    ['mentions nested in an array', { type: 'incident.create', mentions: [[{}]] }, true, false],
    ['an unknown key two levels down', { type: 'incident.create', issue: { creator: { name: 'c', extra: 1 } } }, false, false],
    ['a link of 2 049 characters', { type: 'incident.create', link: 'https://example.com/'.padEnd(2049, 'x') }, false, false],
    ['an offset time', { type: 'incident.create', occurredAt: '2024-05-01T10:00:00+02:00' }, true, true],
    ['null optional fields', { type: 'incident.create', actor: null, title: null }, true, true],
  ])('%s: validate %s, compiled %s', async (_name, body, full, compiled) => {
    expect(await validateInFull(body)).toBe(full);
    expect(check?.(body)).toBe(compiled);
  });
});
