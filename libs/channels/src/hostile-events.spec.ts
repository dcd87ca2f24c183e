import type { HeraldEvent } from '@herald/domain';
import { GOLDEN_EVENTS } from './testing/golden';
import { HOSTILE_EVENTS } from './testing/hostile';
import { SHAPES, bodyOf, bytes, renderShape, type Shape } from './testing/render-all';

/** Issue 11 (items 1, 3, 4, 5) and issue 10 (item 6): every message accepted and shown as meant. */

const H = HOSTILE_EVENTS;

/** Calls `visit` on every object inside a parsed JSON body. */
function eachObject(node: unknown, visit: (o: Record<string, unknown>) => void): void {
  if (Array.isArray(node)) return node.forEach((n) => eachObject(n, visit));
  if (!node || typeof node !== 'object') return;
  visit(node as Record<string, unknown>);
  Object.values(node).forEach((n) => eachObject(n, visit));
}

describe('issue 11 item 1: bodies within the platform byte limits, cutting description and facts, never link, title or mentions', () => {
  it('DingTalk: a 20 000-character JSON-lines log stays within 20 000 bytes and keeps the link and every @mobile', () => {
    const request = renderShape('dingtalk', H['jsonl-log']);
    expect(bytes(request)).toBeLessThanOrEqual(20_000);
    const body = JSON.parse(request.body);
    expect(body.markdown.text).toContain('[查看详情](https://bytebase.example.com/incidents/7)');
    expect(body.markdown.text).toMatch(/@13800000001 @13800000002$/);
    expect(body.at.atMobiles).toEqual(['13800000001', '13800000002']);
    expect(body.markdown.text).toMatch(/^### ❗ Incident opened: payments-db\n/);
    expect(body.markdown.text).toContain('…（全文请见“查看详情”）');
  });

  it('DingTalk, Feishu and Lark: a JSON-heavy description stays within 20 000 bytes', () => {
    for (const shape of ['dingtalk', 'feishu', 'lark'] as const) {
      const request = renderShape(shape, H['json-heavy']);
      expect({ shape, bytes: bytes(request) }).toEqual({ shape, bytes: expect.any(Number) });
      expect(bytes(request)).toBeLessThanOrEqual(20_000);
      expect(request.body).toContain('https://bytebase.example.com/incidents/8');
    }
  });

  it('every field at its maximum, in Chinese: Teams within 28 000 (Workflows) and 20 000 (connector), Google Chat 32 000, DingTalk and Feishu 20 000, WeCom 4 096', () => {
    const limits: Partial<Record<Shape, number>> = {
      'teams-workflow': 28_000,
      'teams-connector': 20_000,
      googlechat: 32_000,
      dingtalk: 20_000,
      feishu: 20_000,
      lark: 20_000,
    };
    for (const [shape, limit] of Object.entries(limits) as Array<[Shape, number]>) {
      const request = renderShape(shape, H['max-zh']);
      expect({ shape, over: bytes(request) > limit }).toEqual({ shape, over: false });
      // The link survives (percent-encoded as the URL parser writes it).
      expect(request.body).toContain('https://bytebase.example.com/projects/payments/issues/9?q=%E6%95%B0');
    }
    const wecom: string = bodyOf('wecom', H['max-zh']).markdown.content;
    expect(Buffer.byteLength(wecom)).toBeLessThanOrEqual(4096);
    expect(wecom).toMatch(/\[View details\]\(https:\/\/bytebase\.example\.com\/projects\/payments\/issues\/9\?q=%E6%95%B0[^)]*\)/);
  });

  it('DingTalk keeps all 100 mentioned mobiles in atMobiles and as @ tokens when every field is at its maximum', () => {
    const body = bodyOf('dingtalk', H['max-zh']);
    expect(body.at.atMobiles).toHaveLength(100);
    for (const m of body.at.atMobiles) expect(body.markdown.text).toContain(`@${m}`);
    expect(body.markdown.text).toContain('[查看详情](https://bytebase.example.com/projects/payments/issues/9?q=');
  });

  it('facts share a total budget: with every fact at 1 000 characters, each fact keeps its label on Slack and Teams', () => {
    const labels = ['Project', 'Issue', 'Status', 'Creator', 'Approvers', 'Rollout', 'Environment', 'Stage', 'Task', 'By'];
    const slack = bodyOf('slack', H['max-zh'], 'en').attachments[0].blocks.find((b: { type: string }) => b.type === 'context').elements[0].text;
    for (const label of labels) expect(slack).toContain(`${label}:`);
    const facts = bodyOf('teams-workflow', H['max-zh'], 'en').attachments[0].content.body.find((b: { type: string }) => b.type === 'FactSet').facts;
    expect(facts.map((f: { title: string }) => f.title)).toEqual(labels);
  });
});

describe('issue 11 item 3: a blank title falls back to the catalogue title at render', () => {
  const blank = (title: string): HeraldEvent => ({ ...H['empty-title'], title });

  it.each([[''], ['   '], ['\n\t']])('title %j shows "Rollout failed" on every platform', (title) => {
    const ev = blank(title);
    expect(bodyOf('slack', ev).attachments[0].blocks[0].text.text).toContain('Rollout failed');
    expect(bodyOf('slack', ev).attachments[0].blocks[0].text.text).not.toContain('**');
    expect(bodyOf('discord', ev).embeds[0].title).toBe('❗ Rollout failed');
    expect(JSON.stringify(bodyOf('teams-workflow', ev).attachments[0].content.body[0])).toContain('❗ Rollout failed');
    const connector = bodyOf('teams-connector', ev);
    expect(connector.summary).toBe('❗ Rollout failed');
    expect(connector.title).toBe('❗ Rollout failed');
    expect(bodyOf('dingtalk', ev).markdown.title).toBe('发布失败');
    expect(bodyOf('dingtalk', ev).markdown.text).toMatch(/^### ❗ 发布失败\n/);
    expect(bodyOf('dingtalk', ev, 'en').markdown.title).toBe('Rollout failed');
    expect(bodyOf('feishu', ev).card.header.title.content).toBe('❗ Rollout failed');
    expect(bodyOf('feishu', ev, 'zh').card.header.title.content).toBe('❗ 发布失败');
    expect(bodyOf('wecom', ev).markdown.content).toMatch(/^### <font color="warning">❗ Rollout failed<\/font>\n/);
    expect(bodyOf('googlechat', ev).cardsV2[0].card.header.title).toBe('❗ Rollout failed');
    expect(bodyOf('custom', ev).title).toBe('Rollout failed');
  });
});

describe('issue 11 item 4 and issue 10 item 6: only absolute http(s) links, percent-encoded, become link elements', () => {
  const noLink = (ev: HeraldEvent) => {
    const slack = bodyOf('slack', ev).attachments[0];
    expect(slack.blocks.map((b: { type: string }) => b.type)).not.toContain('actions');
    expect(JSON.stringify(slack)).not.toMatch(/<[^>]*\|/);
    expect(bodyOf('discord', ev).embeds[0].url).toBeUndefined();
    expect(bodyOf('teams-workflow', ev).attachments[0].content.actions).toBeUndefined();
    expect(bodyOf('teams-connector', ev).potentialAction).toBeUndefined();
    for (const shape of ['feishu', 'lark'] as const) expect(JSON.stringify(bodyOf(shape, ev).card)).not.toMatch(/"url"|\]\(/);
    expect(bodyOf('dingtalk', ev).markdown.text).not.toContain('](');
    expect(bodyOf('wecom', ev).markdown.content).not.toContain('](');
    expect(JSON.stringify(bodyOf('googlechat', ev))).not.toContain('openLink');
    expect(bodyOf('custom', ev).link).toBe('');
  };

  it('a relative link (/projects/payments/issues/42) gives no button, embed url, action or markdown link', () => noLink(H['relative-link']));
  it('the reported injection ("https://ok|x> <!channel> <https://phish|Reset password") is not a URL: no link anywhere', () => noLink(H['link-injection']));
  it.each([['javascript:alert(1)'], ['ftp://files.example/x'], ['//evil.example/x'], ['https://'], ['   ']])('%j is not a link', (link) =>
    noLink({ ...H['relative-link'], link }),
  );

  it('an injection inside a valid URL is percent-encoded: no mention or extra link on Slack, no extra Markdown link', () => {
    const ev = H['link-injection-path'];
    const encoded =
      'https://ok.example/a%7Cx%3E%20%3C!channel%3E%20%3Chttps://phish.example%7CReset%20password%29%20%5BReset%5D%28https://phish.example/%28x%29';
    const slack = JSON.stringify(bodyOf('slack', ev));
    expect(slack).not.toContain('<!channel>');
    expect(slack).toContain(`<${encoded}|`);
    expect(bodyOf('slack', ev).attachments[0].blocks.at(-1).elements[0].url).toBe(encoded);
    expect(bodyOf('discord', ev).embeds[0].url).toBe(encoded);
    for (const [shape, label] of [
      ['dingtalk', '查看详情'],
      ['wecom', 'View details'],
    ] as const) {
      const text: string = shape === 'dingtalk' ? bodyOf(shape, ev).markdown.text : bodyOf(shape, ev).markdown.content;
      expect(text.match(/\]\(/g)).toHaveLength(1);
      expect(text).toContain(`[${label}](${encoded})`);
    }
    expect(bodyOf('teams-workflow', ev).attachments[0].content.actions[0].url).toBe(encoded);
    expect(bodyOf('googlechat', ev).cardsV2[0].card.sections[0].widgets.at(-1).buttonList.buttons[0].onClick.openLink.url).toBe(encoded);
  });

  it('keeps a plain absolute link exactly as given', () => {
    const link = GOLDEN_EVENTS['special-characters'].link;
    expect(bodyOf('discord', GOLDEN_EVENTS['special-characters']).embeds[0].url).toBe(link);
  });
});

describe('issue 11 item 5: user text shows as text on every platform', () => {
  const ev = H.markup;
  const MARKDOWN_LINK = /\[([^\]]*)\]\(/g;
  const userLinks = (text: string, ours: string[]) => [...text.matchAll(MARKDOWN_LINK)].map((m) => m[1]).filter((label) => !ours.includes(label));

  it('WeCom: <@U123> does not mention and <font> from user text does not colour', () => {
    const content: string = bodyOf('wecom', ev).markdown.content;
    expect(content).not.toContain('<@U123>');
    expect(content).not.toContain('<@U999>');
    expect(content).not.toContain('<font color="warning">red');
    expect(content).not.toContain('<font color="info">green');
    expect(content).toMatch(/^### <font color="warning">⚠️ /);
    expect(userLinks(content, ['View details'])).toEqual([]);
  });

  it('DingTalk and Feishu: [text](http://evil.example) in user text is not a link', () => {
    expect(userLinks(bodyOf('dingtalk', ev).markdown.text, ['查看详情'])).toEqual([]);
    const feishu: string = bodyOf('feishu', ev)
      .card.elements.map((e: { content?: string }) => e.content ?? '')
      .join('\n');
    expect(userLinks(feishu, ['View details'])).toEqual([]);
    expect(feishu).not.toMatch(/<at|<font/);
  });

  it('Teams: no Markdown link from user text in a field Teams reads as Markdown (TextBlock, Fact title and value; connector text fields)', () => {
    const card = bodyOf('teams-workflow', ev).attachments[0].content;
    const markdownFields: string[] = [];
    eachObject(card.body, (o) => {
      if (o.type === 'TextBlock') markdownFields.push(String(o.text));
      if (o.type === 'FactSet') for (const f of o.facts as Array<{ title: string; value: string }>) markdownFields.push(f.title, f.value);
    });
    for (const field of markdownFields) expect(userLinks(field, [])).toEqual([]);
    expect(JSON.stringify(card.body)).toContain('[Reset password](http://evil.example)');
    const connector = bodyOf('teams-connector', ev);
    const texts = [
      connector.title,
      connector.summary,
      ...connector.sections.flatMap((s: Record<string, unknown>) => [
        s.text,
        s.activityTitle,
        s.activitySubtitle,
        ...((s.facts as Array<{ name: string; value: string }>) ?? []).flatMap((f) => [f.name, f.value]),
      ]),
    ];
    for (const t of texts.filter(Boolean)) expect(userLinks(String(t), [])).toEqual([]);
  });

  it('Slack: user text goes in plain_text; in mrkdwn (the linked title) *, _, ~ and ` are neutralised', () => {
    const blocks = bodyOf('slack', ev).attachments[0].blocks;
    const mrkdwn: string[] = [];
    const plain: string[] = [];
    eachObject(blocks, (o) => {
      if (o.type === 'mrkdwn') mrkdwn.push(String(o.text));
      if (o.type === 'plain_text') plain.push(String(o.text));
    });
    for (const token of ['*now*', '_please_', '~x~', '`y`', '*bold*', '_it_', '~strike~', '`code`', '<!channel>', '<@U123>', '<https://phish']) {
      for (const text of mrkdwn) expect(text).not.toContain(token);
    }
    expect(plain.join('\n')).toContain('*bold* _it_ ~strike~ `code`');
    expect(plain.join('\n')).toContain('<!channel>');
  });

  it('Google Chat: the header title is plain text (not HTML-escaped) and paragraphs break lines with <br>', () => {
    const card = bodyOf('googlechat', ev).cardsV2[0].card;
    expect(card.header.title).toBe('⚠️ <b>Deploy</b> *now* _please_ ~x~ `y` [ok](http://evil.example)');
    const paragraphs: string[] = card.sections[0].widgets
      .filter((w: Record<string, unknown>) => w.textParagraph)
      .map((w: { textParagraph: { text: string } }) => w.textParagraph.text);
    for (const p of paragraphs) expect(p).not.toContain('\n');
    expect(paragraphs[0]).toBe(
      'ping &lt;@U123&gt; and &lt;font color=&quot;warning&quot;&gt;red&lt;/font&gt;<br>*bold* _it_ ~strike~ `code`<br>[Reset password](http://evil.example) &lt;!channel&gt; &lt;https://phish.example|login&gt;',
    );
  });

  it('every chat shape renders every hostile event without a lone surrogate or a control character (WeCom refuses \\uXXXX escapes: 40033)', () => {
    const stored = {
      ...H.markup,
      id: 'stored-before-intake-checks',
      title: 'bell \u0007 half \ud800 title',
      description: 'nul \u0000 esc \u001b half \udc00 end',
    };
    for (const event of [...Object.values(H), stored]) {
      // Custom webhooks get the producer's texts as written (the seed's contract): JSON carries them.
      for (const shape of SHAPES.filter((s) => s !== 'custom')) {
        const body = renderShape(shape, event).body;
        expect(body).not.toMatch(/\\u(?!00)|\\u00[01][0-9a-f]/i);
      }
    }
  });
});
