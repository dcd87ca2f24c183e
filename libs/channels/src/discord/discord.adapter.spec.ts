import { BROKEN_CHARACTER, GOLDEN_CONTEXT, GOLDEN_EVENTS, describeGolden, reply, target } from '../testing/golden';
import { shareFairly } from '../render/text';
import { DISCORD_LIMITS, discordAdapter, embedTextLength } from './discord.adapter';

const url = 'https://discord.com/api/webhooks/1234567890/abcdefTOKEN';
describeGolden(discordAdapter, __dirname, { default: target(url) });

const embedOf = (name: string, ev = GOLDEN_EVENTS[name]) => JSON.parse(discordAdapter.render(ev, target(url), GOLDEN_CONTEXT).body).embeds[0];

describe('discord adapter', () => {
  it('carries an ISO-8601 timestamp and a colour', () => {
    const embed = embedOf('issue-created');
    expect(embed.timestamp).toBe('2026-11-22T10:00:00.000Z');
    expect(embed.color).toBe(0x1264a3);
  });

  it('stays within every embed limit with a 10 000-character description and 40 facts', () => {
    const many = { ...GOLDEN_EVENTS['long-description'], issue: { ...GOLDEN_EVENTS['long-description'].issue, name: 'x'.repeat(5000) } };
    const embed = embedOf('long-description', many);
    expect(embed.title.length).toBeLessThanOrEqual(DISCORD_LIMITS.title);
    expect(embed.description.length).toBeLessThanOrEqual(DISCORD_LIMITS.description);
    expect(embed.fields.length).toBeLessThanOrEqual(DISCORD_LIMITS.fields);
    for (const f of embed.fields) expect(f.value.length).toBeLessThanOrEqual(DISCORD_LIMITS.fieldValue);
    const total =
      embed.title.length +
      embed.description.length +
      embed.author.name.length +
      embed.fields.reduce((n: number, f: { name: string; value: string }) => n + f.name.length + f.value.length, 0);
    expect(total).toBeLessThanOrEqual(DISCORD_LIMITS.total);
    expect(embed.description).toMatch(/…/);
    expect(JSON.stringify(embed)).not.toMatch(BROKEN_CHARACTER);
  });

  it('shares the 6000 total when every text is 3000 characters (title, author, description, 9 facts)', () => {
    const big = (c: string) => c.repeat(3000);
    const person = { name: big('n'), email: `${'e'.repeat(2990)}@x.example` };
    const everything = {
      ...GOLDEN_EVENTS['issue-created'],
      title: big('t'),
      description: big('d'),
      actor: { id: 1, ...person },
      issue: { id: 1, key: big('k'), name: big('i'), status: big('s'), description: big('D'), creator: person },
      rollout: { id: 1, title: big('r'), environment: big('v') },
      stage: { name: big('g'), status: 'DONE' },
      task: { name: big('a'), status: 'DONE' },
    };
    const context = { ...GOLDEN_CONTEXT, project: { id: 1, key: 'p', name: big('p') } };
    const embed = JSON.parse(discordAdapter.render(everything, target(url), context).body).embeds[0];
    expect(embed.fields).toHaveLength(9);
    expect(embedTextLength(embed)).toBeLessThanOrEqual(DISCORD_LIMITS.total);
    expect(embed.title.length).toBeLessThanOrEqual(DISCORD_LIMITS.title);
    expect(embed.author.name.length).toBeLessThanOrEqual(DISCORD_LIMITS.authorName);
    expect(embed.description.length).toBeLessThanOrEqual(DISCORD_LIMITS.description);
    expect(embed.fields.length).toBeLessThanOrEqual(DISCORD_LIMITS.fields);
    for (const f of embed.fields) {
      expect(f.name.length).toBeLessThanOrEqual(DISCORD_LIMITS.fieldName);
      expect(f.value.length).toBeLessThanOrEqual(DISCORD_LIMITS.fieldValue);
      expect(f.value.length).toBeGreaterThan(100);
      expect(f.value.endsWith('…')).toBe(true);
    }
    // The description is cut with the hint and the tile survives under it.
    expect(embed.description).toMatch(/^d+… \(see View details for the full text\)\n\n\*\*i+…\*\*\nD+… \(see View details for the full text\)$/);
  });

  it('leaves short facts whole and cuts the long ones to an equal share', () => {
    expect(shareFairly([10, 5000, 5000, 20], 1030)).toEqual([10, 500, 500, 20]);
    expect(shareFairly([10, 20], 1000)).toEqual([10, 20]);
    expect(shareFairly([100, 100], -5)).toEqual([0, 0]);
  });

  it('escapes markdown and mentions in user text', () => {
    const embed = embedOf('special-characters');
    expect(embed.description).toContain('\\*bold\\* \\_it\\_ \\[link\\](http://evil.example)');
    expect(embed.description).toContain('\\<@everyone\\>');
  });

  describe('classify (docs/contract.md §6.4)', () => {
    it('accepts 204 and 200', () => {
      expect(discordAdapter.classify(reply(204))).toEqual({ kind: 'delivered' });
      expect(discordAdapter.classify(reply(200, '{"id":"1","type":0}'))).toEqual({ kind: 'delivered' });
    });
    it('reads retry_after (seconds) from a 429 body', () => {
      expect(discordAdapter.classify(reply(429, '{"message":"You are being rate limited.","retry_after":64.57,"global":false}'))).toMatchObject({
        kind: 'rate_limited',
        retryAfterMs: 64_570,
      });
      expect(discordAdapter.classify(reply(429, '', { 'retry-after': '3' }))).toMatchObject({ kind: 'rate_limited', retryAfterMs: 3000 });
    });
    it('fails a JSON body with a non-zero code', () => {
      expect(discordAdapter.classify(reply(200, '{"code":50006,"message":"Cannot send an empty message"}'))).toMatchObject({
        kind: 'retryable',
        reason: expect.stringContaining('50006'),
      });
      expect(discordAdapter.classify(reply(404, '{"code":10015,"message":"Unknown Webhook"}')).kind).toBe('rejected');
    });
  });

  it('defaults to 5 per 2 seconds', () => expect(discordAdapter.defaultRateLimit).toEqual({ count: 5, perSeconds: 2 }));
});
