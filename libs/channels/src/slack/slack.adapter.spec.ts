import { GOLDEN_CONTEXT, GOLDEN_EVENTS, describeGolden, reply, target } from '../testing/golden';
import { slackAdapter } from './slack.adapter';

const url = 'https://hooks.slack.com/services/T000/B000/XXXXXXXXXXXXXXXX';
describeGolden(slackAdapter, __dirname, { default: target(url) });

describe('slack adapter', () => {
  it('escapes &, < and > in the mrkdwn title, never the markup it writes itself; other user text is plain_text', () => {
    const body = slackAdapter.render(GOLDEN_EVENTS['special-characters'], target(url), GOLDEN_CONTEXT).body;
    const blocks = JSON.parse(body).attachments[0].blocks;
    expect(blocks[0].text).toEqual({
      type: 'mrkdwn',
      text: '*<https://bytebase.example.com/projects/payments/issues/44?tab=comments&x=1|Comment &lt;b&gt;"quoted"&lt;/b&gt; &amp; \'single\'>*',
    });
    expect(blocks[1].text.type).toBe('plain_text');
    expect(blocks[1].text.text).toContain('a < b && c > d; <script>');
  });

  it('keeps every section within 3000 characters and the tile under a cut description', () => {
    const blocks = JSON.parse(slackAdapter.render(GOLDEN_EVENTS['long-description'], target(url), GOLDEN_CONTEXT).body).attachments[0].blocks;
    for (const b of blocks) if (b.text) expect(b.text.text.length).toBeLessThanOrEqual(3000);
    const [description, tile] = blocks[1].text.text.split('\n\n');
    expect(description.endsWith('… (see View details for the full text)')).toBe(true);
    expect(tile).toMatch(/^Checkout down\n/);
  });

  it('has the shape of docs/contract.md §7.2 for every golden event: section, section, context, actions', () => {
    for (const event of Object.values(GOLDEN_EVENTS)) {
      const [attachment] = JSON.parse(slackAdapter.render(event, target(url), GOLDEN_CONTEXT).body).attachments;
      expect(attachment.color).toMatch(/^#[0-9A-F]{6}$/i);
      expect(attachment.blocks.map((b: { type: string }) => b.type)).toEqual(['section', 'section', 'context', 'actions']);
    }
  });

  it('validates the host', () => {
    expect(() => slackAdapter.validateUrl(url, [])).not.toThrow();
    expect(() => slackAdapter.validateUrl('https://hooks.slack-gov.com/services/x', [])).not.toThrow();
    expect(() => slackAdapter.validateUrl('https://evil.example/services/T0/B0/secret', [])).toThrow(
      /host evil\.example is not a slack webhook host \(allowed: hooks\.slack\.com, hooks\.slack-gov\.com\)/,
    );
    try {
      slackAdapter.validateUrl('https://evil.example/services/T0/B0/secret', []);
    } catch (err) {
      expect((err as Error).message).not.toContain('secret');
    }
  });

  describe('classify (docs/contract.md §6.4)', () => {
    it('is delivered only on 200 "ok"', () => expect(slackAdapter.classify(reply(200, 'ok'))).toEqual({ kind: 'delivered' }));
    it('retries a 200 with another body', () => expect(slackAdapter.classify(reply(200, 'invalid_token')).kind).toBe('retryable'));
    it('rejects invalid_payload (400) and channel_not_found (404)', () => {
      expect(slackAdapter.classify(reply(400, 'invalid_payload'))).toMatchObject({ kind: 'rejected', reason: expect.stringContaining('invalid_payload') });
      expect(slackAdapter.classify(reply(404, 'channel_not_found')).kind).toBe('rejected');
      expect(slackAdapter.classify(reply(410, 'channel_is_archived'))).toMatchObject({ kind: 'rejected', gone: true });
    });
    it('holds on 429 for Retry-After', () =>
      expect(slackAdapter.classify(reply(429, 'rate_limited', { 'retry-after': '30' }))).toMatchObject({ kind: 'rate_limited', retryAfterMs: 30_000 }));
    it('retries 5xx', () => expect(slackAdapter.classify(reply(503, 'service_unavailable')).kind).toBe('retryable'));
  });

  it('defaults to 1 message per second', () => expect(slackAdapter.defaultRateLimit).toEqual({ count: 1, perSeconds: 1 }));
});
