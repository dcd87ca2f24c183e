/**
 * Issue 16 item 1: digests against the platforms' published types and documented limits, as
 * platform-oracles.spec.ts checks single messages. Over generated batches of 1 to 100 events (every
 * catalogue type; huge, Chinese, emoji, markup and empty texts; good and bad links), every chat
 * platform's digest must type-check or validate against the platform's type or schema, stay within
 * its byte and count limits, show the title, and account for every item: the lines shown plus the
 * "and K more" count equal the number of deliveries the message carries, and at least one line
 * shows.
 */
import * as fc from 'fast-check';
import type { KnownBlock, MessageAttachment } from '@slack/types';
import type { RESTPostAPIWebhookWithTokenJSONBody } from 'discord-api-types/v10';
import type { chat_v1 } from '@googleapis/chat';
import { EVENT_LEVELS, EVENT_TYPES, type HeraldEvent } from '@herald/domain';
import { discordDigest, googlechatDigest, renderDigest, slackDigest } from './digest/digest-render';
import { buildDigest, type DigestView } from './digest/digest-view';
import { GOLDEN_CONTEXT } from './testing/golden';
import { repeatTo } from './testing/hostile';
import { SHAPES, targetFor, type Shape } from './testing/render-all';

const AC = require('adaptivecards/dist/adaptivecards.js');

/** Compile-time oracles: these assignments fail `tsc` if a digest's shape drifts from the published types. */
export function digestTypeOracles(view: DigestView) {
  const attachments: MessageAttachment[] = slackDigest(view).attachments;
  const blocks: KnownBlock[] = slackDigest(view).attachments[0].blocks;
  const discord: RESTPostAPIWebhookWithTokenJSONBody = discordDigest(view);
  const chat: chat_v1.Schema$Message = googlechatDigest(view);
  return { attachments, blocks, discord, chat };
}

/** Written out here, not imported from the adapters (sources in docs/channels.md). */
const LIMITS = {
  slack: { sectionText: 3000, contextElements: 10, blocks: 50 },
  discord: { title: 256, description: 4096, total: 6000 },
  teamsWorkflowBytes: 28_000,
  teamsConnectorBytes: 20_000,
  dingtalkBytes: 20_000,
  feishuBytes: 20_000,
  wecomMarkdownBytes: 4096,
  googlechatBytes: 32_000,
};

const PIECES = [
  'a',
  'Zoë',
  ' ',
  '\n',
  '数据库',
  '发布成功',
  '😀',
  '👩‍👩‍👧',
  '<',
  '>',
  '&',
  '"',
  '\\',
  '*',
  '_',
  '~',
  '`',
  '|',
  '[',
  ']',
  '(',
  ')',
  '[x](http://evil.example)',
  '<@U123>',
  '<!channel>',
  '<font color="info">',
  '\u0007',
  '\uD800',
];
const text = (max: number) =>
  fc.oneof(
    { weight: 1, arbitrary: fc.constantFrom('', '   ') },
    { weight: 4, arbitrary: fc.array(fc.constantFrom(...PIECES), { maxLength: 10 }).map((p) => p.join('')) },
    {
      weight: 1,
      arbitrary: fc
        .tuple(fc.array(fc.constantFrom(...PIECES), { minLength: 1, maxLength: 5 }), fc.noBias(fc.integer({ min: 1, max })))
        .map(([p, n]) => repeatTo(p.join(''), n)),
    },
  );
const optional = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: undefined });
const link = fc.oneof(
  fc.constantFrom(undefined, '', '/relative/42', 'javascript:alert(1)', 'https://ok|x> <!channel>', 'https://bytebase.example.com/issues/1'),
  fc.webUrl({ withQueryParameters: true, withFragments: true }),
  fc.noBias(fc.integer({ min: 100, max: 2990 })).map((n) => `https://bytebase.example.com/p/${'x'.repeat(n)}`),
);
const eventArb: fc.Arbitrary<HeraldEvent> = fc
  .record({
    type: fc.constantFrom(...EVENT_TYPES),
    level: fc.constantFrom(...EVENT_LEVELS),
    title: text(1000),
    description: optional(text(5000)),
    link,
    issue: optional(fc.record({ id: optional(fc.oneof(fc.integer(), text(60))), key: optional(text(100)), name: optional(text(1000)) }, { requiredKeys: [] })),
    rollout: optional(fc.record({ id: optional(fc.integer()), title: optional(text(1000)), environment: optional(text(100)) }, { requiredKeys: [] })),
  })
  .map((e) => ({
    ...e,
    id: '01a203fd-ff72-7447-ab60-7aa1ca208c99',
    projectKey: 'payments',
    occurredAt: '2026-11-22T10:00:00.000Z',
    receivedAt: '2026-11-22T10:00:01.000Z',
    source: 'api' as const,
  }));
const batchArb = fc.oneof(fc.array(eventArb, { minLength: 1, maxLength: 8 }), fc.array(eventArb, { minLength: 40, maxLength: 100 }));

const CHAT_SHAPES = SHAPES.filter((s) => s !== 'custom');
const moreCount = (texts: string[]) => {
  const found = texts.map((t) => /(?:and|还有)\s*(\d+)/.exec(t.replace(/\u200B/g, ''))).find(Boolean);
  return found ? Number(found[1]) : 0;
};
const lines = (text: string, bullet: RegExp) => text.split('\n').filter((l) => bullet.test(l));
const within = (shape: Shape, what: string, value: number, limit: number) => {
  if (value > limit) throw new Error(`${shape}: ${what} is ${value}, over the limit of ${limit}`);
};
const isHttpUrl = (url: unknown) => typeof url === 'string' && /^https?:\/\/[^\s|<>()[\]]+$/.test(url);

/** Checks one digest body; returns how many item lines it shows and the "more" count. */
function check(shape: Shape, events: HeraldEvent[], locale: 'en' | 'zh'): { shown: number; more: number } {
  const view = buildDigest(events, GOLDEN_CONTEXT.project, locale);
  const request = renderDigest(shape.startsWith('teams') ? 'teams' : (shape as never), view, targetFor(shape, locale), GOLDEN_CONTEXT);
  const bytes = Buffer.byteLength(request.body, 'utf8');
  if (/\\u(?!00[2-7])/i.test(request.body)) throw new Error(`${shape}: a \\u escape (control character or lone surrogate) in the body`);
  const body = JSON.parse(request.body);
  const titleStart = view.title.slice(0, 20);
  switch (shape) {
    case 'slack': {
      const blocks: Array<Record<string, any>> = body.attachments[0].blocks;
      within(shape, 'blocks', blocks.length, LIMITS.slack.blocks);
      for (const b of blocks) {
        if (b.type === 'section') {
          expect(b.text.text.length).toBeGreaterThan(0);
          within(shape, 'section text', b.text.text.length, LIMITS.slack.sectionText);
          for (const m of b.text.text.matchAll(/<([^|>]+)\|/g)) expect(isHttpUrl(m[1])).toBe(true);
        }
        if (b.type === 'context') {
          within(shape, 'context elements', b.elements.length, LIMITS.slack.contextElements);
          for (const e of b.elements) within(shape, 'context text', e.text.length, LIMITS.slack.sectionText);
        }
      }
      expect(blocks[0].text.text).toContain(titleStart.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').slice(0, 10));
      const sections = blocks
        .slice(2)
        .filter((b) => b.type === 'section')
        .map((b) => b.text.text as string);
      return {
        shown: sections.flatMap((t) => lines(t, /^• /)).length,
        more: moreCount(
          blocks
            .slice(2)
            .filter((b) => b.type === 'context')
            .map((b) => b.elements[0].text),
        ),
      };
    }
    case 'discord': {
      const [embed] = body.embeds;
      within(shape, 'title', embed.title.length, LIMITS.discord.title);
      within(shape, 'description', embed.description.length, LIMITS.discord.description);
      within(shape, 'embed total', embed.title.length + embed.description.length, LIMITS.discord.total);
      return { shown: lines(embed.description, /^• /).length, more: moreCount(embed.description.split('\n')) };
    }
    case 'teams-workflow': {
      within(shape, 'bytes', bytes, LIMITS.teamsWorkflowBytes);
      const content = body.attachments[0].content;
      const context = new AC.SerializationContext(new AC.Version(1, 4));
      const card = new AC.AdaptiveCard();
      card.parse(content, context);
      expect(Array.from({ length: context.eventCount }, (_, i) => context.getEventAt(i).message)).toEqual([]);
      expect(card.validateProperties().validationEvents.map((e: { message: string }) => e.message)).toEqual([]);
      const runs: Array<Record<string, any>> = content.body.map((b: { inlines: unknown[] }) => b.inlines[0]);
      for (const r of runs) if (r.selectAction) expect(isHttpUrl(r.selectAction.url)).toBe(true);
      return { shown: runs.filter((r) => r.text.startsWith('• ')).length, more: moreCount(runs.slice(2).map((r) => r.text)) };
    }
    case 'teams-connector': {
      within(shape, 'bytes', bytes, LIMITS.teamsConnectorBytes);
      expect(body['@type']).toBe('MessageCard');
      expect(body.summary.length).toBeGreaterThan(0);
      const list: string = body.sections[1]?.text ?? '';
      return { shown: lines(list, /^- /).length, more: moreCount(list.split('\n')) };
    }
    case 'dingtalk': {
      within(shape, 'bytes', bytes, LIMITS.dingtalkBytes);
      expect(body.msgtype).toBe('markdown');
      expect(body.markdown.title.length).toBeGreaterThan(0);
      return { shown: lines(body.markdown.text, /^- /).length, more: moreCount(body.markdown.text.split('\n')) };
    }
    case 'feishu':
    case 'lark': {
      within(shape, 'bytes', bytes, LIMITS.feishuBytes);
      expect(body.msg_type).toBe('interactive');
      expect(body.card.header.title.content.length).toBeGreaterThan(0);
      const content: string = body.card.elements[0].content;
      return { shown: lines(content, /^- /).length, more: moreCount(content.split('\n')) };
    }
    case 'wecom': {
      const content: string = body.markdown.content;
      within(shape, 'markdown bytes', Buffer.byteLength(content, 'utf8'), LIMITS.wecomMarkdownBytes);
      return { shown: lines(content, /^• /).length, more: moreCount(content.split('\n')) };
    }
    case 'googlechat': {
      within(shape, 'bytes', bytes, LIMITS.googlechatBytes);
      const card = body.cardsV2[0].card;
      expect(card.header.title.length).toBeGreaterThan(0);
      const paragraph: string = card.sections?.[0].widgets[0].textParagraph.text ?? '';
      expect(paragraph).not.toMatch(/[\r\n]/);
      for (const m of paragraph.matchAll(/href="([^"]+)"/g)) expect(isHttpUrl(m[1].replace(/&amp;/g, '&'))).toBe(true);
      const parts = paragraph.split('<br>');
      return { shown: parts.filter((p) => p.startsWith('• ')).length, more: moreCount(parts) };
    }
    default:
      throw new Error(`no digest for ${shape}`);
  }
}

describe('issue 16 item 1: digests against the platform types and limits, over generated batches', () => {
  it.each(CHAT_SHAPES)('%s: every item shown or counted, within the limits', (shape) => {
    fc.assert(
      fc.property(batchArb, fc.constantFrom<'en' | 'zh'>('en', 'zh'), (events, locale) => {
        const { shown, more } = check(shape, events, locale);
        expect(shown).toBeGreaterThanOrEqual(1);
        expect(shown + more).toBe(events.length);
      }),
      { numRuns: 60, seed: 20261205 },
    );
  });

  it('the compile-time oracles hold for a plain digest', () => {
    const view = buildDigest(
      [
        {
          id: 'e',
          projectKey: 'payments',
          type: 'bb.issue.create',
          level: 'INFO',
          title: 'x',
          occurredAt: '2026-11-22T10:00:00.000Z',
          receivedAt: '2026-11-22T10:00:01.000Z',
          source: 'api',
        },
      ],
      GOLDEN_CONTEXT.project,
      'en',
    );
    expect(digestTypeOracles(view).blocks[0].type).toBe('section');
  });
});
