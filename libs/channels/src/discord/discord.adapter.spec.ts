import { BROKEN_CHARACTER, GOLDEN_CONTEXT, GOLDEN_EVENTS, describeGolden, reply, target } from '../testing/golden';
import { DISCORD_LIMITS, discordAdapter } from './discord.adapter';

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
    const total = embed.title.length + embed.description.length + embed.author.name.length + embed.fields.reduce((n: number, f: { name: string; value: string }) => n + f.name.length + f.value.length, 0);
    expect(total).toBeLessThanOrEqual(DISCORD_LIMITS.total);
    expect(embed.description).toMatch(/…/);
    expect(JSON.stringify(embed)).not.toMatch(BROKEN_CHARACTER);
  });

  it('escapes markdown and mentions in user text', () => {
    const embed = embedOf('special-characters');
    expect(embed.description).toContain('\\*bold\\* \\_it\\_ \\[link\\](http://evil.example)');
    expect(embed.description).toContain('\\<@everyone\\>');
  });

  describe('classify (SPEC §6.4)', () => {
    it('accepts 204 and 200', () => {
      expect(discordAdapter.classify(reply(204))).toEqual({ kind: 'delivered' });
      expect(discordAdapter.classify(reply(200, '{"id":"1","type":0}'))).toEqual({ kind: 'delivered' });
    });
    it('reads retry_after (seconds) from a 429 body', () => {
      expect(discordAdapter.classify(reply(429, '{"message":"You are being rate limited.","retry_after":64.57,"global":false}'))).toMatchObject({ kind: 'rate_limited', retryAfterMs: 64_570 });
      expect(discordAdapter.classify(reply(429, '', { 'retry-after': '3' }))).toMatchObject({ kind: 'rate_limited', retryAfterMs: 3000 });
    });
    it('fails a JSON body with a non-zero code', () => {
      expect(discordAdapter.classify(reply(200, '{"code":50006,"message":"Cannot send an empty message"}'))).toMatchObject({ kind: 'retryable', reason: expect.stringContaining('50006') });
      expect(discordAdapter.classify(reply(404, '{"code":10015,"message":"Unknown Webhook"}')).kind).toBe('rejected');
    });
  });

  it('defaults to 5 per 2 seconds', () => expect(discordAdapter.defaultRateLimit).toEqual({ count: 5, perSeconds: 2 }));
});
