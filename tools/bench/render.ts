import { CHANNEL_ADAPTERS, type ChannelAdapter, type ChannelTarget, type RenderContext } from '@herald/channels';
import type { HeraldEvent } from '@herald/domain';

/**
 * `npm run bench:render`: how long rendering takes per channel (issue 10, item 5). Rendering must
 * cost time in proportion to what a platform can show, not to what a producer sent: intake accepts
 * text fields of 65 536 characters, and one event is rendered once per webhook it reaches.
 * Prints one row per channel and case: the median and worst milliseconds per render over a few
 * runs, and the total of the medians. Not a test: nothing asserts (the target is < 50 ms in total
 * for the all-fields-at-limit event).
 *   RENDER_RUNS  renders per channel and case (default 15)
 */
const RUNS = Number(process.env.RENDER_RUNS ?? 15);
const LIMIT = 65_536;

/** Text that exercises every path of the renderers: markup to escape, JSON to quote, CJK and emoji to measure in bytes and graphemes. */
const PIECES = [
  '{"level":"error","msg":"timeout <db> & *retry* _later_","trace":[1,2,3]}\n',
  '数据库连接超时，请稍后重试。',
  '👩‍👩‍👧🚀 ',
  '[link](http://evil.example) <@U123> `code` ~x~ | ',
];
function text(chars: number, seed = 0): string {
  let out = '';
  for (let i = seed; out.length < chars; i++) out += PIECES[i % PIECES.length];
  // Cut on a code-point boundary so the input itself is well formed.
  return Array.from(out.slice(0, chars + 1))
    .join('')
    .slice(0, chars)
    .replace(/[\uD800-\uDBFF]$/, '');
}

const PROJECT = { id: 1, key: 'bench', name: text(LIMIT, 1) };
const CONTEXT: RenderContext = { deliveryId: '01a203fd-ff8c-753d-98a2-78a466645ac5', now: new Date('2026-11-22T10:00:02.000Z'), project: PROJECT };

function event(description: string, everyField: boolean): HeraldEvent {
  const big = (seed: number) => (everyField ? text(LIMIT, seed) : `short ${seed}`);
  const person = (seed: number) => ({
    id: seed,
    name: big(seed),
    email: everyField ? `${text(200, seed)}@example.com` : 'ann@example.com',
    phone: '+86 138 0000 0001',
  });
  return {
    id: '01a203fd-ff72-7447-ab60-7aa1ca208c99',
    projectKey: 'bench',
    type: 'bb.issue.approval.notify',
    level: 'WARN',
    title: big(2),
    description,
    link: 'https://bytebase.example.com/projects/bench/issues/42?tab=overview',
    actor: person(3),
    issue: { id: 42, key: big(4), name: big(5), status: 'OPEN', type: big(6), description: big(7), creator: person(8) },
    stage: { name: big(9), status: big(10) },
    task: { name: big(11), status: big(12) },
    rollout: { id: 9, title: big(13), environment: big(14) },
    comment: { text: big(15) },
    mentions: Array.from({ length: 100 }, (_, i) => person(16 + i)),
    occurredAt: '2026-11-22T10:00:00.000Z',
    receivedAt: '2026-11-22T10:00:01.000Z',
    source: 'api',
  };
}

/** One target per shape a channel renders (Teams has two). */
function targets(adapter: ChannelAdapter): Array<[string, ChannelTarget]> {
  const t = (url: string, locale: 'en' | 'zh' = adapter.defaultLocale): ChannelTarget => ({ url, secret: null, previousSecret: null, locale });
  switch (adapter.type) {
    case 'teams':
      return [
        ['teams (workflow)', t('https://prod-01.westus.logic.azure.com/workflows/abc/triggers/manual/paths/invoke?sig=s')],
        ['teams (connector)', t('https://contoso.webhook.office.com/webhookb2/a/IncomingWebhook/b/c')],
      ];
    case 'custom':
      return [['custom', { ...t('https://receiver.example.com/hook'), secret: `whsec_${Buffer.alloc(32, 9).toString('base64')}` }]];
    default:
      return [[adapter.type, t('https://hooks.example.com/webhook')]];
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

function measure(name: string, ev: HeraldEvent): void {
  let total = 0;
  process.stdout.write(`\n${name}\n`);
  for (const adapter of CHANNEL_ADAPTERS) {
    for (const [label, target] of targets(adapter)) {
      adapter.render(ev, target, CONTEXT); // warm-up: JIT and lazily built tables
      const times: number[] = [];
      for (let i = 0; i < RUNS; i++) {
        const started = process.hrtime.bigint();
        adapter.render(ev, target, CONTEXT);
        times.push(Number(process.hrtime.bigint() - started) / 1e6);
      }
      total += median(times);
      process.stdout.write(`  ${label.padEnd(18)} ${median(times).toFixed(2).padStart(8)} ms  (worst ${Math.max(...times).toFixed(2)} ms)\n`);
    }
  }
  process.stdout.write(`  ${'every channel'.padEnd(18)} ${total.toFixed(2).padStart(8)} ms in total (medians)\n`);
}

measure(`every text field at ${LIMIT} characters, 100 mentions`, event(text(LIMIT), true));
for (const chars of [4_500, 9_000, 18_000]) measure(`description of ${chars} characters`, event(text(chars), false));
