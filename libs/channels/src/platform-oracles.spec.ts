/**
 * Issue 11 item 6: the platforms' own published types and schemas as oracles, over generated
 * events (every catalogue type, huge fields, CJK, emoji, markup, empty strings, bad links). For
 * every adapter the body must type-check or validate against the platform's type or schema, stay
 * within the platform's byte and count limits, and keep the title and any mentions.
 *
 * - Slack: `@slack/types` (KnownBlock, compiled by tsc) plus Block Kit's documented limits.
 * - Discord: `discord-api-types` (RESTPostAPIWebhookWithTokenJSONBody, compiled) plus the embed limits.
 * - Teams: `adaptivecards` 3.0.6 parses the card at 1.4 without an unknown-element event and
 *   validates its properties; the connector card is checked by hand (no published schema).
 * - Google Chat: `@googleapis/chat` (chat_v1.Schema$Message, compiled) plus the 32 000-byte limit.
 * - DingTalk, Feishu/Lark, WeCom publish no types: their documented limits and required fields.
 */
import * as fc from 'fast-check';
import type { KnownBlock, MessageAttachment } from '@slack/types';
import type { RESTPostAPIWebhookWithTokenJSONBody } from 'discord-api-types/v10';
import type { chat_v1 } from '@googleapis/chat';
import { EVENT_LEVELS, EVENT_TYPES, type EventPerson, type HeraldEvent } from '@herald/domain';
import { discordEmbed, embedTextLength } from './discord/discord.adapter';
import { googlechatCard } from './googlechat/googlechat.adapter';
import { buildMessage, dingtalkMobile, localizedTitle, titleWithEmoji } from './render/message';
import { truncateChars } from './render/text';
import { slackAttachments } from './slack/slack.adapter';
import { adaptiveCard } from './teams/teams.adapter';
import { GOLDEN_CONTEXT } from './testing/golden';
import { LONG_TEXT, SHORT_TEXT as SHORT, repeatTo } from './testing/hostile';
import { SHAPES, renderShape, type Shape } from './testing/render-all';

// The package's CommonJS build, as its README shows for Node.
const AC = require('adaptivecards/dist/adaptivecards.js');

/** Compile-time oracles: these assignments fail `tsc` (npm test's first step) if a shape drifts from the published types. */
export function typeOracles(view: ReturnType<typeof buildMessage>) {
  const attachments: MessageAttachment[] = slackAttachments(view);
  const blocks: KnownBlock[] = slackAttachments(view)[0].blocks;
  const discord: RESTPostAPIWebhookWithTokenJSONBody = { embeds: [discordEmbed(view, '2026-11-22T10:00:00.000Z')] };
  const chat: chat_v1.Schema$Message = { cardsV2: [{ cardId: 'herald-event', card: googlechatCard(view, 'Payments') }] };
  return { attachments, blocks, discord, chat, card: adaptiveCard(view) };
}

/**
 * The platforms' documented limits, written out here rather than imported from the adapters, so
 * an adapter cannot pass by changing its own constant (sources in docs/channels.md).
 */
const SLACK_LIMITS = { sectionText: 3000, buttonText: 75, buttonUrl: 3000, contextElements: 10, blocks: 50 };
const DISCORD_LIMITS = { title: 256, description: 4096, fields: 25, fieldName: 256, fieldValue: 1024, authorName: 256, total: 6000 };
const TEAMS_WORKFLOW_BYTES = 28_000;
const TEAMS_CONNECTOR_BYTES = 20_000;
const DINGTALK_BODY_BYTES = 20_000;
const FEISHU_BODY_BYTES = 20_000;
const WECOM_MARKDOWN_BYTES = 4096;
const GOOGLECHAT_BODY_BYTES = 32_000;

// --- generated events ---------------------------------------------------------------------------

const PIECES = [
  'a',
  'Zoë',
  ' ',
  '  ',
  '\n',
  '\t',
  '数据库',
  '发布成功',
  '😀',
  '👩‍👩‍👧',
  '🇨🇳',
  'é',
  '\u200B',
  '<',
  '>',
  '&',
  '"',
  "'",
  '\\',
  '*',
  '_',
  '~',
  '`',
  '|',
  '#',
  '(',
  ')',
  '[',
  ']',
  '[x](http://evil.example)',
  '<@U123>',
  '<!channel>',
  '<font color="info">',
  '</font>',
  '<b>',
  '&lt;',
  '{"k":"v\\"q"}',
  '\u0007',
  '\uD800',
];
const piece = fc.constantFrom(...PIECES);
/** Short texts, empty and blank ones, and long ones up to `max` characters built from repeated pieces. */
const text = (max: number) =>
  fc.oneof(
    { weight: 1, arbitrary: fc.constantFrom('', '   ', '\n') },
    { weight: 4, arbitrary: fc.array(piece, { maxLength: 12 }).map((p) => p.join('')) },
    // fast-check prefers small integers; noBias spreads long texts up to the limit itself.
    {
      weight: 2,
      arbitrary: fc.tuple(fc.array(piece, { minLength: 1, maxLength: 6 }), fc.noBias(fc.integer({ min: 1, max }))).map(([p, n]) => repeatTo(p.join(''), n)),
    },
    { weight: 1, arbitrary: fc.array(piece, { minLength: 1, maxLength: 6 }).map((p) => repeatTo(p.join(''), max)) },
  );
const optional = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: undefined });
const phone = fc.oneof(
  fc.constantFrom('+86 138 0000 0001', '13800000002', '+1 415 555 0100', '+852 6123 4567', 'n/a', ''),
  fc.stringMatching(/^\+?[0-9 -]{0,20}$/),
);
const personArb: fc.Arbitrary<EventPerson> = fc.record(
  { id: optional(fc.oneof(fc.integer(), text(20))), name: optional(text(1000)), email: optional(text(320)), phone: optional(phone) },
  { requiredKeys: [] },
);
const link = fc.oneof(
  fc.constantFrom(
    undefined,
    '',
    '/projects/payments/issues/42',
    'https://ok|x> <!channel> <https://phish|Reset password',
    'javascript:alert(1)',
    'https://bytebase.example.com/issues/1',
  ),
  fc.webUrl({ withQueryParameters: true, withFragments: true }),
  text(300).map((t) => `https://bytebase.example.com/p/${t}`),
);

const eventArb: fc.Arbitrary<HeraldEvent> = fc
  .record({
    type: fc.constantFrom(...EVENT_TYPES),
    level: fc.constantFrom(...EVENT_LEVELS),
    title: text(SHORT),
    description: optional(text(LONG_TEXT)),
    link,
    actor: optional(personArb),
    issue: optional(
      fc.record(
        {
          id: optional(fc.integer()),
          key: optional(text(100)),
          name: optional(text(SHORT)),
          status: optional(fc.constantFrom('OPEN', 'DONE', 'CANCELED')),
          description: optional(text(LONG_TEXT)),
          creator: optional(personArb),
        },
        { requiredKeys: [] },
      ),
    ),
    rollout: optional(fc.record({ id: optional(fc.integer()), title: optional(text(SHORT)), environment: optional(text(100)) }, { requiredKeys: [] })),
    stage: optional(fc.record({ name: optional(text(SHORT)), status: optional(text(20)) }, { requiredKeys: [] })),
    task: optional(fc.record({ name: optional(text(SHORT)), status: optional(fc.constantFrom('DONE', 'FAILED', 'RUNNING')) }, { requiredKeys: [] })),
    comment: optional(fc.record({ text: optional(text(LONG_TEXT)) }, { requiredKeys: [] })),
    mentions: optional(fc.oneof(fc.array(personArb, { maxLength: 5 }), fc.array(personArb, { minLength: 90, maxLength: 100 }))),
  })
  .map((e) => ({
    ...e,
    id: '01a203fd-ff72-7447-ab60-7aa1ca208c99',
    projectKey: 'payments',
    occurredAt: '2026-11-22T10:00:00.000Z',
    receivedAt: '2026-11-22T10:00:01.000Z',
    source: 'api' as const,
  }));

// --- checks -------------------------------------------------------------------------------------

const ZWSP = /\u200B/g;
const isHttpUrl = (url: unknown) => typeof url === 'string' && /^https?:\/\/[^\s|<>()[\]]+$/.test(url) && !!new URL(url).hostname;
/** The first characters of the expected title; what each platform shows must start with them. */
const titlePrefix = (expected: string) => truncateChars(expected, 40, '').replace(ZWSP, '');
const unSlack = (t: string) =>
  t.replace(/∗/g, '*').replace(/ˍ/g, '_').replace(/∼/g, '~').replace(/ˋ/g, '`').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');

function expectTitle(shape: Shape, shown: string, expected: string) {
  const visible = shown.replace(ZWSP, '');
  if (!visible.startsWith(titlePrefix(expected)))
    throw new Error(`${shape}: title ${JSON.stringify(visible.slice(0, 80))} does not start with ${JSON.stringify(titlePrefix(expected))}`);
}

function expectWithin(shape: Shape, what: string, value: number, limit: number) {
  if (value > limit) throw new Error(`${shape}: ${what} is ${value}, over the limit of ${limit}`);
}

function check(shape: Shape, event: HeraldEvent, locale: 'en' | 'zh') {
  const request = renderShape(shape, event, locale);
  const bytes = Buffer.byteLength(request.body, 'utf8');
  // JSON never needs \u escapes for well-formed text without control characters; WeCom refuses them (40033).
  if (shape !== 'custom' && /\\u(?!00[2-7])/i.test(request.body)) throw new Error(`${shape}: a \\u escape (control character or lone surrogate) in the body`);
  const body = JSON.parse(request.body);
  const view = buildMessage(event, GOLDEN_CONTEXT.project, locale);
  const title = titleWithEmoji(view);
  if (!view.title.trim()) throw new Error('a blank title after the catalogue fallback');

  switch (shape) {
    case 'slack': {
      const [attachment] = body.attachments;
      const blocks: Array<Record<string, any>> = attachment.blocks;
      expectWithin(shape, 'blocks', blocks.length, SLACK_LIMITS.blocks);
      for (const b of blocks) {
        if (b.type === 'section') {
          expect(b.text.text.length).toBeGreaterThan(0);
          expectWithin(shape, 'section text', b.text.text.length, SLACK_LIMITS.sectionText);
        }
        if (b.type === 'context') {
          expectWithin(shape, 'context elements', b.elements.length, SLACK_LIMITS.contextElements);
          for (const e of b.elements) expectWithin(shape, 'context text', e.text.length, SLACK_LIMITS.sectionText);
        }
        if (b.type === 'actions') {
          for (const e of b.elements) {
            expectWithin(shape, 'button text', e.text.text.length, SLACK_LIMITS.buttonText);
            expectWithin(shape, 'button url', e.url.length, SLACK_LIMITS.buttonUrl);
            expect(isHttpUrl(e.url)).toBe(true);
          }
        }
      }
      const first: string = blocks[0].text.text;
      const shown = /^(?:\S+ )?\*(?:<[^|>]+\|)?([\s\S]*?)>?\*$/.exec(first)?.[1] ?? '';
      expectTitle(shape, unSlack(`${view.emoji ? `${view.emoji} ` : ''}${shown}`), title);
      break;
    }
    case 'discord': {
      const [embed] = body.embeds;
      const L = DISCORD_LIMITS;
      expectWithin(shape, 'title', embed.title.length, L.title);
      expectWithin(shape, 'description', embed.description?.length ?? 0, L.description);
      expectWithin(shape, 'fields', embed.fields?.length ?? 0, L.fields);
      for (const f of embed.fields ?? []) {
        expect(f.name.length).toBeGreaterThan(0);
        expect(f.value.length).toBeGreaterThan(0);
        expectWithin(shape, 'field name', f.name.length, L.fieldName);
        expectWithin(shape, 'field value', f.value.length, L.fieldValue);
      }
      expectWithin(shape, 'author name', embed.author?.name.length ?? 0, L.authorName);
      expectWithin(shape, 'embed total', embedTextLength(embed), L.total);
      if (embed.url !== undefined) expect(isHttpUrl(embed.url)).toBe(true);
      expectTitle(shape, embed.title, title);
      break;
    }
    case 'teams-workflow': {
      expectWithin(shape, 'bytes', bytes, TEAMS_WORKFLOW_BYTES);
      const content = body.attachments[0].content;
      const context = new AC.SerializationContext(new AC.Version(1, 4));
      const card = new AC.AdaptiveCard();
      card.parse(content, context);
      const parseEvents = Array.from({ length: context.eventCount }, (_, i) => context.getEventAt(i).message);
      expect(parseEvents).toEqual([]);
      expect(card.validateProperties().validationEvents.map((e: { message: string }) => e.message)).toEqual([]);
      for (const a of content.actions ?? []) expect(isHttpUrl(a.url)).toBe(true);
      expectTitle(shape, content.body[0].inlines[0].text, title);
      break;
    }
    case 'teams-connector': {
      expectWithin(shape, 'bytes', bytes, TEAMS_CONNECTOR_BYTES);
      expect(body['@type']).toBe('MessageCard');
      expect(body.summary.length).toBeGreaterThan(0);
      for (const a of body.potentialAction ?? []) expect(isHttpUrl(a.targets[0].uri)).toBe(true);
      expectTitle(shape, body.title, title);
      break;
    }
    case 'dingtalk': {
      expectWithin(shape, 'bytes', bytes, DINGTALK_BODY_BYTES);
      expect(body.msgtype).toBe('markdown');
      expect(body.markdown.title.length).toBeGreaterThan(0);
      expectTitle(shape, body.markdown.title, view.title);
      expectTitle(shape, body.markdown.text.replace(/^### /, ''), title);
      // Every mention with a phone is notified: in atMobiles and as an @ token, never cut.
      const mobiles = [...new Set((event.mentions ?? []).map((m) => dingtalkMobile(m.phone)).filter(Boolean))];
      expect(body.at.atMobiles).toEqual(mobiles);
      if (mobiles.length) expect(body.markdown.text.endsWith(`\n\n${mobiles.map((m) => `@${m}`).join(' ')}`)).toBe(true);
      if (view.link) expect(body.markdown.text).toContain(`](${view.link})`);
      break;
    }
    case 'feishu':
    case 'lark': {
      expectWithin(shape, 'bytes', bytes, FEISHU_BODY_BYTES);
      expect(body.msg_type).toBe('interactive');
      expect(body.card.header.title.tag).toBe('plain_text');
      expectTitle(shape, body.card.header.title.content, title);
      for (const e of body.card.elements) {
        expect(['markdown', 'action']).toContain(e.tag);
        for (const a of e.actions ?? []) expect(isHttpUrl(a.url)).toBe(true);
      }
      break;
    }
    case 'wecom': {
      const content: string = body.markdown.content;
      expectWithin(shape, 'markdown bytes', Buffer.byteLength(content, 'utf8'), WECOM_MARKDOWN_BYTES);
      expectTitle(shape, content.replace(/^### (<font color="\w+">)?/, ''), title);
      if (view.link) expect(content).toContain(`](${view.link})`);
      break;
    }
    case 'googlechat': {
      expectWithin(shape, 'bytes', bytes, GOOGLECHAT_BODY_BYTES);
      const card = body.cardsV2[0].card;
      expect(card.header.title.length).toBeGreaterThan(0);
      expectTitle(shape, card.header.title, title);
      for (const w of card.sections?.[0].widgets ?? []) {
        if (w.textParagraph) expect(w.textParagraph.text).not.toMatch(/[\r\n]/);
        for (const b of w.buttonList?.buttons ?? []) expect(isHttpUrl(b.onClick.openLink.url)).toBe(true);
      }
      break;
    }
    case 'custom': {
      expect(body.title).toBe(event.title.trim() ? event.title : localizedTitle(event, 'en'));
      expect(body.link === '' || isHttpUrl(body.link)).toBe(true);
      break;
    }
  }
}

describe('issue 11 item 6: every adapter against the platform types and limits, over generated events', () => {
  it.each(SHAPES)('%s: 200 generated events', (shape) => {
    fc.assert(
      fc.property(eventArb, fc.constantFrom<'en' | 'zh'>('en', 'zh'), (event, locale) => check(shape, event, locale)),
      { numRuns: 200, seed: 20261122 },
    );
  });

  it('the compile-time oracles hold for a plain event', () => {
    const view = buildMessage({ ...eventOf('bb.issue.create'), title: 'x' }, GOLDEN_CONTEXT.project, 'en');
    expect(typeOracles(view).blocks[0].type).toBe('section');
  });
});

function eventOf(type: HeraldEvent['type']): HeraldEvent {
  return {
    id: 'e',
    projectKey: 'payments',
    type,
    level: 'INFO',
    title: '',
    occurredAt: '2026-11-22T10:00:00.000Z',
    receivedAt: '2026-11-22T10:00:01.000Z',
    source: 'api',
  };
}
