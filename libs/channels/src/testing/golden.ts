/**
 * Golden-file support for adapter specs (test code only; imported by `*.spec.ts`). Each adapter
 * renders a fixed set of events, and the exact request (URL, headers, body bytes) must equal the
 * checked-in file `<adapter>/__fixtures__/<case>.json`. After an intended change, regenerate with
 * `npm run golden:update` (HERALD_UPDATE_GOLDEN=1) and review the diff.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { HeraldEvent } from '@herald/domain';
import type { ChannelAdapter, ChannelTarget, PreparedRequest, RenderContext } from '../channel-adapter';
import { HOSTILE_EVENTS } from './hostile';

export const GOLDEN_CONTEXT: RenderContext = {
  deliveryId: '01a203fd-ff8c-753d-98a2-78a466645ac5',
  now: new Date('2026-11-22T10:00:02.000Z'),
  project: { id: 3, key: 'payments', name: 'Payments' },
};

const base = {
  projectKey: 'payments',
  occurredAt: '2026-11-22T10:00:00.000Z',
  receivedAt: '2026-11-22T10:00:01.000Z',
  source: 'api' as const,
};

const LONG = Array.from({ length: 10_000 }, (_, i) => 'abcdefghij中文😀xyz'[i % 16]).join('');

/** The fixed event set of issue 5. */
export const GOLDEN_EVENTS: Record<string, HeraldEvent> = {
  'issue-created': {
    ...base,
    id: '01a203fd-ff72-7447-ab60-7aa1ca208c01',
    type: 'bb.issue.create',
    level: 'INFO',
    title: 'Issue created',
    description: 'Ann created issue Add index on orders',
    link: 'https://bytebase.example.com/projects/payments/issues/42',
    actor: { id: 7, name: 'Ann', email: 'ann@example.com' },
    issue: {
      id: 42,
      key: 'PAY-42',
      name: 'Add index on orders',
      status: 'OPEN',
      type: 'bb.issue.database.schema.update',
      description: 'CREATE INDEX orders_created ON orders (created_at);',
      creator: { name: 'Ann', email: 'ann@example.com' },
    },
  },
  'approval-needed': {
    ...base,
    id: '01a203fd-ff72-7447-ab60-7aa1ca208c02',
    type: 'bb.issue.approval.notify',
    level: 'WARN',
    title: 'Issue approval needed',
    description: '',
    link: 'https://bytebase.example.com/projects/payments/issues/43',
    actor: { id: 7, name: 'Ann', email: 'ann@example.com' },
    issue: {
      id: 43,
      key: 'PAY-43',
      name: 'Drop legacy table',
      status: 'OPEN',
      type: 'bb.issue.database.schema.update',
      description: 'DROP TABLE legacy;',
      creator: { name: 'Ann', email: 'ann@example.com' },
    },
    mentions: [
      { name: 'Bob', email: 'bob@example.com', phone: '+86 138 0000 0001' },
      { name: 'Chen', email: 'chen@example.com', phone: '13800000002' },
      { name: 'Dee', email: 'dee@example.com' },
    ],
  },
  'rollout-failed': {
    ...base,
    id: '01a203fd-ff72-7447-ab60-7aa1ca208c03',
    type: 'bb.pipeline.failed',
    level: 'ERROR',
    title: 'Rollout failed',
    description: 'Rollout failed',
    link: 'https://bytebase.example.com/projects/payments/plans/9/rollout',
    rollout: { id: 9, title: 'Release 2026.11.22', environment: 'prod' },
  },
  'special-characters': {
    ...base,
    id: '01a203fd-ff72-7447-ab60-7aa1ca208c04',
    type: 'bb.issue.comment.create',
    level: 'INFO',
    title: 'Comment <b>"quoted"</b> & \'single\'',
    description: 'a < b && c > d; <script>alert("x")</script> *bold* _it_ [link](http://evil.example) 发布成功 🚀👩‍👩‍👧 `code` <@everyone>',
    link: 'https://bytebase.example.com/projects/payments/issues/44?tab=comments&x=1',
    actor: { id: 'u-8', name: 'Zoë <Admin> & Co', email: 'zoe@example.com' },
    issue: { id: 44, name: '修复 <订单> & "索引"', status: 'OPEN', description: '说明：a<b & c>d 🚀' },
  },
  'long-description': {
    ...base,
    id: '01a203fd-ff72-7447-ab60-7aa1ca208c05',
    type: 'incident.create',
    level: 'ERROR',
    title: 'Incident opened',
    description: LONG,
    link: 'https://bytebase.example.com/incidents/5',
    actor: { id: 1, name: 'Pager', email: 'pager@example.com' },
    issue: { id: 5, key: 'INC-5', name: 'Checkout down', status: 'OPEN', type: 'INCIDENT', description: LONG },
  },
};

export const target = (url: string, extra: Partial<ChannelTarget> = {}): ChannelTarget => ({ url, secret: null, previousSecret: null, locale: 'en', ...extra });

export interface Golden {
  url: string;
  method: string;
  headers: Record<string, string>;
  body: unknown;
}

/** Asserts `request` equals the golden file byte for byte (or writes it when regenerating). */
export function expectGolden(dir: string, name: string, request: PreparedRequest): void {
  const file = join(dir, '__fixtures__', `${name}.json`);
  const actual: Golden = { url: request.url, method: request.method, headers: request.headers, body: JSON.parse(request.body) };
  if (process.env.HERALD_UPDATE_GOLDEN === '1') {
    mkdirSync(join(dir, '__fixtures__'), { recursive: true });
    writeFileSync(file, `${JSON.stringify(actual, null, 2)}\n`);
    return;
  }
  if (!existsSync(file)) throw new Error(`golden file ${file} is missing: run npm run golden:update and review it`);
  const expected = JSON.parse(readFileSync(file, 'utf8')) as Golden;
  expect(actual).toEqual(expected);
  // Exact bytes too: key order and escaping are part of what the platform receives.
  expect(request.body).toBe(JSON.stringify(expected.body));
}

/**
 * One golden case per (event, target) pair, and one per hostile event of issues 10 and 11
 * (`hostile.<event>`) for the targets named in `hostileTargets` (by default the first).
 */
export function describeGolden(
  adapter: ChannelAdapter,
  dir: string,
  targets: Record<string, ChannelTarget>,
  hostileTargets: string[] = Object.keys(targets).slice(0, 1),
  skipHostile: string[] = [],
): void {
  describe(`${adapter.type} golden requests`, () => {
    for (const [targetName, t] of Object.entries(targets)) {
      const prefix = targetName === 'default' ? '' : `${targetName}.`;
      for (const [eventName, event] of Object.entries(GOLDEN_EVENTS)) {
        it(`${prefix}${eventName}`, () => expectGolden(dir, `${prefix}${eventName}`, adapter.render(event, t, GOLDEN_CONTEXT)));
      }
      if (!hostileTargets.includes(targetName)) continue;
      for (const [eventName, event] of Object.entries(HOSTILE_EVENTS).filter(([name]) => !skipHostile.includes(name))) {
        it(`${prefix}hostile.${eventName}`, () => expectGolden(dir, `${prefix}hostile.${eventName}`, adapter.render(event, t, GOLDEN_CONTEXT)));
      }
    }
  });
}

/** A lone UTF-16 surrogate means a character was cut in half. */
export const BROKEN_CHARACTER = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

export const reply = (statusCode: number, body = '', headers: Record<string, string> = {}) => ({ statusCode, body, headers });
