/**
 * The hostile and realistic events of issues 10 and 11 (test code only; imported by `*.spec.ts`
 * and the golden files): bodies over the platforms' byte limits, blank titles, links that are not
 * absolute http(s) URLs, markup in user text. Each is also a golden case of every adapter.
 */
import type { EventPerson, HeraldEvent } from '@herald/domain';

const base = {
  projectKey: 'payments',
  occurredAt: '2026-11-22T10:00:00.000Z',
  receivedAt: '2026-11-22T10:00:01.000Z',
  source: 'api' as const,
};

/** Intake's limits (libs/intake event.dto.ts): long texts 65 536, short ones 1 000, 100 mentions. */
export const LONG_TEXT = 65_536;
export const SHORT_TEXT = 1_000;

/** `text` repeated to exactly `chars` UTF-16 code units (never ending in half a surrogate pair). */
export function repeatTo(text: string, chars: number): string {
  let out = text.repeat(Math.ceil(chars / text.length)).slice(0, chars);
  if (/[\uD800-\uDBFF]$/.test(out)) out = `${out.slice(0, -1)}x`;
  return out;
}

/** A 20 000-character JSON-lines log, as an incident's description often is. */
export const JSONL_LOG = repeatTo(
  Array.from({ length: 40 }, (_, i) =>
    JSON.stringify({
      ts: `2026-11-22T09:59:${String(i % 60).padStart(2, '0')}Z`,
      level: 'error',
      msg: `upstream "payments-db" timed out after ${i}ms`,
      path: 'C:\\srv\\app',
    }),
  ).join('\n'),
  20_000,
);

/** Quotes, backslashes and control escapes: every character costs two bytes or more once in JSON. */
export const JSON_HEAVY = repeatTo('{"k":"v\\"q\\\\","n":[1,"\\t",{"x":"\\n"}]}', 16_000);

const ZH = '数据库连接超时，请联系值班工程师处理。';
const zh = (chars: number) => repeatTo(ZH, chars);

const approvers: EventPerson[] = [
  { name: 'Bob', email: 'bob@example.com', phone: '+86 138 0000 0001' },
  { name: 'Chen', email: 'chen@example.com', phone: '13800000002' },
];

export const HOSTILE_EVENTS: Record<string, HeraldEvent> = {
  /** Issue 11 item 1: DingTalk answered 460101 for 21 494 B and the cut dropped the link and the mentions. */
  'jsonl-log': {
    ...base,
    id: '01a203fd-ff72-7447-ab60-7aa1ca208d01',
    type: 'bb.issue.approval.notify',
    level: 'ERROR',
    title: 'Incident opened: payments-db',
    description: JSONL_LOG,
    link: 'https://bytebase.example.com/incidents/7',
    actor: { id: 1, name: 'Pager', email: 'pager@example.com' },
    mentions: approvers,
  },
  /** Issue 11 item 1: 35 234 B for DingTalk, 29 735 B for Feishu. */
  'json-heavy': {
    ...base,
    id: '01a203fd-ff72-7447-ab60-7aa1ca208d02',
    type: 'incident.create',
    level: 'ERROR',
    title: 'Incident opened',
    description: JSON_HEAVY,
    link: 'https://bytebase.example.com/incidents/8',
    actor: { id: 1, name: 'Pager', email: 'pager@example.com' },
  },
  /** Issue 11 item 1: every field at its intake limit, in Chinese (Teams 53 277 B, Google Chat 39 989 B). */
  'max-zh': {
    ...base,
    id: '01a203fd-ff72-7447-ab60-7aa1ca208d03',
    type: 'bb.issue.approval.notify',
    level: 'WARN',
    title: zh(SHORT_TEXT),
    description: zh(LONG_TEXT),
    link: `https://bytebase.example.com/projects/payments/issues/9?q=${'数'.repeat(300)}`,
    actor: { id: zh(255), name: zh(SHORT_TEXT), email: `${'a'.repeat(300)}@example.com` },
    issue: {
      id: 9,
      key: zh(SHORT_TEXT),
      name: zh(SHORT_TEXT),
      status: 'OPEN',
      type: zh(SHORT_TEXT),
      description: zh(LONG_TEXT),
      creator: { name: zh(SHORT_TEXT), email: `${'c'.repeat(300)}@example.com` },
    },
    stage: { name: zh(SHORT_TEXT), status: zh(SHORT_TEXT) },
    task: { name: zh(SHORT_TEXT), status: zh(SHORT_TEXT) },
    rollout: { id: 9, title: zh(SHORT_TEXT), environment: zh(SHORT_TEXT) },
    comment: { text: zh(LONG_TEXT) },
    mentions: Array.from({ length: 100 }, (_, i) => ({
      name: zh(SHORT_TEXT),
      email: `user${i}@example.com`,
      phone: `+86 139 0000 ${String(i).padStart(4, '0')}`,
    })),
  },
  /** Issue 11 item 3: stored as `""` before intake fell back to the catalogue. */
  'empty-title': {
    ...base,
    id: '01a203fd-ff72-7447-ab60-7aa1ca208d04',
    type: 'bb.pipeline.failed',
    level: 'ERROR',
    title: '',
    description: 'The rollout of Release 2026.11.22 failed on prod.',
    link: 'https://bytebase.example.com/projects/payments/plans/9/rollout',
    rollout: { id: 9, title: 'Release 2026.11.22', environment: 'prod' },
  },
  /** Issue 11 item 4: a relative link, accepted by intake before the hardening issue. */
  'relative-link': {
    ...base,
    id: '01a203fd-ff72-7447-ab60-7aa1ca208d05',
    type: 'bb.issue.create',
    level: 'INFO',
    title: 'Issue created',
    description: 'Ann created issue Add index on orders',
    link: '/projects/payments/issues/42',
    issue: { id: 42, key: 'PAY-42', name: 'Add index on orders', status: 'OPEN' },
  },
  /** Issue 11 item 5: markup in every user text. */
  markup: {
    ...base,
    id: '01a203fd-ff72-7447-ab60-7aa1ca208d06',
    type: 'bb.issue.comment.create',
    level: 'WARN',
    title: '<b>Deploy</b> *now* _please_ ~x~ `y` [ok](http://evil.example)',
    description:
      'ping <@U123> and <font color="warning">red</font>\n*bold* _it_ ~strike~ `code`\n[Reset password](http://evil.example) <!channel> <https://phish.example|login>',
    link: 'https://bytebase.example.com/projects/payments/issues/45',
    actor: { id: 8, name: '[Admin](http://evil.example) <@U999>', email: 'zoe@example.com' },
    issue: { id: 45, key: 'PAY-45', name: '<font color="info">green</font> *issue*', status: 'OPEN', description: 'line one\nline <i>two</i>' },
  },
  /** Issue 10 item 6, as reported: not a URL at all (`|`, `>` and spaces in the host), so no link is shown. */
  'link-injection': {
    ...base,
    id: '01a203fd-ff72-7447-ab60-7aa1ca208d07',
    type: 'bb.issue.create',
    level: 'INFO',
    title: 'Issue created',
    description: 'See the link',
    link: 'https://ok|x> <!channel> <https://phish|Reset password',
  },
  /** Issue 10 item 6 in a valid URL: the path closes Slack's `<…|…>` and Markdown's `(…)`, so it is percent-encoded. */
  'link-injection-path': {
    ...base,
    id: '01a203fd-ff72-7447-ab60-7aa1ca208d08',
    type: 'bb.issue.create',
    level: 'INFO',
    title: 'Issue created',
    description: 'See the link',
    link: 'https://ok.example/a|x> <!channel> <https://phish.example|Reset password) [Reset](https://phish.example/(x)',
  },
};
