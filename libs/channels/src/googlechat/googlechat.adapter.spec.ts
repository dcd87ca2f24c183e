import { GOLDEN_CONTEXT, GOLDEN_EVENTS, describeGolden, reply, target } from '../testing/golden';
import { googlechatAdapter } from './googlechat.adapter';

const url = 'https://chat.googleapis.com/v1/spaces/AAAAbbbbCCC/messages?key=AIzaSyKEY&token=TOKEN123';
describeGolden(googlechatAdapter, __dirname, { default: target(url) });

describe('googlechat adapter', () => {
  it('HTML-escapes user text in paragraphs; the header title is plain text and stays as written', () => {
    const card = JSON.parse(googlechatAdapter.render(GOLDEN_EVENTS['special-characters'], target(url), GOLDEN_CONTEXT).body).cardsV2[0].card;
    expect(card.header.title).toBe('Comment <b>"quoted"</b> & \'single\'');
    expect(card.sections[0].widgets[0].textParagraph.text).toMatch(/^a &lt; b &amp;&amp; c &gt; d; &lt;script&gt;/);
  });

  it('validates scheme, host, path and query (docs/contract.md §6.6) without echoing the token', () => {
    expect(() => googlechatAdapter.validateUrl(url, [])).not.toThrow();
    const bad = (u: string, re: RegExp) => {
      expect(() => googlechatAdapter.validateUrl(u, [])).toThrow(re);
      try {
        googlechatAdapter.validateUrl(u, []);
      } catch (err) {
        expect((err as Error).message).not.toContain('TOKEN123');
      }
    };
    bad('http://chat.googleapis.com/v1/spaces/A/messages?key=k&token=TOKEN123', /https/);
    bad('https://chat.googleapis.com/v1/spaces//messages?key=k&token=TOKEN123', /path/);
    bad('https://chat.googleapis.com/v1/spaces/A%2FB/messages?key=k&token=TOKEN123', /path/);
    bad('https://chat.googleapis.com/v1/spaces/A/messages?key=k', /key and token/);
    bad('https://chat.example.com/v1/spaces/A/messages?key=k&token=TOKEN123', /not a googlechat webhook host/);
  });

  it('accepts any 2xx', () => {
    expect(googlechatAdapter.classify(reply(200, '{"name":"spaces/A/messages/B"}'))).toEqual({ kind: 'delivered' });
    expect(googlechatAdapter.classify(reply(429, '', { 'retry-after': '2' }))).toMatchObject({ kind: 'rate_limited', retryAfterMs: 2000 });
    expect(googlechatAdapter.classify(reply(400, '{"error":{"code":400}}')).kind).toBe('rejected');
  });
});
