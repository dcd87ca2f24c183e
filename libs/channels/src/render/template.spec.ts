import { GOLDEN_CONTEXT, GOLDEN_EVENTS } from '../testing/golden';
import { SHAPES, adapterFor, bytes, targetFor, type Shape } from '../testing/render-all';
import { TEMPLATE_FILTERS, TEMPLATE_LIMITS, renderTemplate, templatesProblems } from './template';
import { renderMessage, usesTemplates } from './templated';

const issue = GOLDEN_EVENTS['issue-created'];
const project = GOLDEN_CONTEXT.project;
const render = (template: string, event = issue) => renderTemplate(template, event, project, 'en');
const send = (shape: Shape, template: string | null, event = issue) =>
  renderMessage(adapterFor(shape), event, targetFor(shape, undefined, { template }), GOLDEN_CONTEXT);

describe('message templates: what a template sees', () => {
  it('the event as the API returns it, the project, and the built-in message parts', () => {
    expect(render('{{ title }} · {{ issue.key }} {{ issue.name }} by {{ actor.name }} in {{ project.name }} ({{ projectKey }})')).toEqual({
      ok: true,
      text: 'Issue created · PAY-42 Add index on orders by Ann in Payments (payments)',
    });
    expect(render('{% for f in message.facts %}{{ f.name }}={{ f.value }};{% endfor %}')).toMatchObject({
      ok: true,
      text: expect.stringContaining('Project=Payments;'),
    });
    expect(render('{{ message.emoji }}{{ level | downcase }} {{ message.link }}', GOLDEN_EVENTS['rollout-failed'])).toMatchObject({
      ok: true,
      text: expect.stringMatching(/^❗error https:\/\//),
    });
    expect(render('{{ occurredAt | date: "%Y-%m-%d %H:%M" }} UTC')).toEqual({ ok: true, text: '2026-11-22 10:00 UTC' });
    expect(render('{{ issue.missing | default: "none" }}|{{ nothing.at.all }}|')).toEqual({ ok: true, text: 'none||' });
  });

  it('no prototype, no file system, no include/render/layout', () => {
    expect(render('{{ constructor }}|{{ issue.__proto__ }}|{{ issue.constructor.name }}|{{ title.toUpperCase }}|{{ issue.hasOwnProperty }}')).toEqual({
      ok: true,
      text: '||||',
    });
    for (const tag of ['include', 'render', 'layout']) {
      const [problem] = templatesProblems({ 'bb.issue.create': `{% ${tag} '/etc/passwd' %}` });
      expect(problem).toEqual({ field: 'templates["bb.issue.create"]', message: expect.stringContaining(`tag "${tag}" not found`) });
    }
  });

  it('only the listed filters', () => {
    for (const filter of ['escape', 'strip_html', 'sha256', 'inspect', 'sample', 'where_exp', 'base64_decode']) {
      expect(templatesProblems({ 'bb.issue.create': `{{ title | ${filter} }}` })[0].message).toContain(`undefined filter: ${filter}`);
    }
    for (const filter of TEMPLATE_FILTERS)
      expect(templatesProblems({ 'bb.issue.create': `{{ title | ${filter} }}` }).filter((p) => p.message.includes('undefined filter'))).toEqual([]);
  });

  it('limits: a loop or a growing string stops the render; a long template is refused', () => {
    expect(render('{% for i in (1..10000000) %}x{% endfor %}')).toEqual({ ok: false, reason: expect.stringMatching(/limit exceeded/) });
    expect(render('{% assign s = "xxxxxxxxxx" %}{% for i in (1..40) %}{% assign s = s | append: s %}{% endfor %}{{ s }}')).toEqual({
      ok: false,
      reason: expect.stringMatching(/memory alloc limit exceeded/),
    });
    expect(templatesProblems({ 'bb.issue.create': 'x'.repeat(TEMPLATE_LIMITS.chars + 1) })[0].message).toMatch(/at most 4000 characters/);
  });

  it('validation names the type and the reason, with the line and column', () => {
    expect(templatesProblems(null)).toEqual([]);
    expect(templatesProblems(['x'])[0]).toMatchObject({ field: 'templates' });
    expect(templatesProblems({ 'bb.issue.created': 'x', 'bb.issue.create': 7, 'deployment.create': '{% if level %}open' })).toEqual([
      { field: 'templates["bb.issue.created"]', message: expect.stringContaining('"bb.issue.created" is not an event type') },
      { field: 'templates["bb.issue.create"]', message: 'a template is a string of Liquid text' },
      { field: 'templates["deployment.create"]', message: expect.stringContaining('tag {% if level %} not closed, line:1, col:1') },
    ]);
  });
});

describe('message templates in the channels', () => {
  it('the template text replaces description, tile and facts; title, colour and link stay (Slack)', () => {
    const { request, templateError } = send('slack', 'Deployed by {{ actor.name }}\nsee {{ link }}');
    expect(templateError).toBeNull();
    const [attachment] = JSON.parse(request.body).attachments;
    expect(attachment.color).toBe('#1264A3');
    expect(attachment.blocks.map((b: { type: string }) => b.type)).toEqual(['section', 'section', 'actions']);
    expect(attachment.blocks[0].text.text).toContain('Issue created');
    expect(attachment.blocks[1].text).toEqual({ type: 'plain_text', text: 'Deployed by Ann\nsee https://bytebase.example.com/projects/payments/issues/42' });
    expect(attachment.blocks[2].elements[0].url).toBe('https://bytebase.example.com/projects/payments/issues/42');
  });

  it('template text is user text: each platform escapes it as it escapes descriptions', () => {
    const template = '<!channel> <@U123> **bold** [x](https://evil.example) <font color="red">r</font>';
    const slack = JSON.parse(send('slack', template).request.body).attachments[0].blocks[1].text;
    expect(slack).toEqual({ type: 'plain_text', text: template });
    const wecom: string = JSON.parse(send('wecom', template).request.body).markdown.content;
    expect(wecom).not.toContain('<@U123>');
    expect(wecom).not.toContain('](https://evil.example)');
    expect(wecom).not.toContain('<font color="red">');
    const feishu = send('feishu', template).request.body;
    expect(feishu).toContain('&lt;font');
    const discord = JSON.parse(send('discord', template).request.body).embeds[0].description;
    expect(discord).toContain('\\*\\*bold\\*\\*');
    const googlechat = send('googlechat', template).request.body;
    expect(googlechat).toContain('&lt;!channel&gt;');
  });

  it('a long rendered text is fitted to the platform like a long description', () => {
    const template = '{% for i in (1..3000) %}数据库{% endfor %}';
    expect(bytes(send('dingtalk', template).request)).toBeLessThanOrEqual(20_000);
    expect(Buffer.byteLength(JSON.parse(send('wecom', template).request.body).markdown.content)).toBeLessThanOrEqual(4096);
    expect(bytes(send('teams-connector', template).request)).toBeLessThanOrEqual(20_000);
  });

  it('a template that fails falls back to the built-in message, byte for byte, and says why', () => {
    for (const shape of SHAPES.filter((s) => s !== 'custom')) {
      const failed = send(shape, '{% for i in (1..10000000) %}x{% endfor %}');
      expect(failed.templateError).toMatch(/limit exceeded/);
      expect(failed.request).toEqual(send(shape, null).request);
    }
  });

  it('custom webhooks ignore templates: the signed body is the event', () => {
    expect(usesTemplates('custom')).toBe(false);
    const templated = send('custom', '{{ title }} by someone');
    expect(templated).toEqual({ request: send('custom', null).request, templateError: null });
  });

  it('without a template every channel renders as before', () => {
    for (const shape of SHAPES) {
      expect(send(shape, null).request).toEqual(adapterFor(shape).render(issue, targetFor(shape), GOLDEN_CONTEXT));
    }
  });
});
