import { createHmac } from 'node:crypto';
import type { HeraldEvent } from '@herald/domain';
import { GOLDEN_CONTEXT } from '../testing/golden';
import { targetFor } from '../testing/render-all';
import { renderDigest } from './digest-render';
import { buildDigest, fittingCount, itemText } from './digest-view';

const event = (patch: Partial<HeraldEvent>): HeraldEvent => ({
  id: '01a203fd-ff72-7447-ab60-7aa1ca208c01',
  projectKey: 'payments',
  type: 'bb.issue.create',
  level: 'INFO',
  title: '',
  occurredAt: '2026-11-22T10:00:00.000Z',
  receivedAt: '2026-11-22T10:00:01.000Z',
  source: 'api',
  ...patch,
});

const created = (n: number) => event({ issue: { id: n, key: `PAY-${n}`, name: `Fix ${n}` }, link: `https://bytebase.example.com/issues/${n}` });
const resolved = (n: number) =>
  event({ type: 'bb.issue.status.update', level: 'SUCCESS', issue: { id: n, key: `PAY-${n}`, name: `Fix ${n}`, status: 'DONE' } });

describe('digest view', () => {
  it('counts every item in the title and per kind in the summary, keeps acceptance order, and names each subject', () => {
    const view = buildDigest([created(1), resolved(1), created(2), created(3)], GOLDEN_CONTEXT.project, 'en');
    expect(view.title).toBe('Payments: 4 notifications');
    expect(view.summary).toBe('3 × Issue created · 1 × Issue resolved');
    expect(view.items.map(itemText)).toEqual([
      'Issue created — PAY-1 Fix 1',
      '✅ Issue resolved — PAY-1 Fix 1',
      'Issue created — PAY-2 Fix 2',
      'Issue created — PAY-3 Fix 3',
    ]);
    expect(view.items[0].link).toBe('https://bytebase.example.com/issues/1');
    expect(view.items[1].link).toBeNull();
    // One success among infos colours it green; one failure among successes, red.
    expect(view.level).toBe('SUCCESS');
    expect(
      buildDigest(
        [resolved(1), event({ type: 'bb.pipeline.failed', level: 'ERROR', rollout: { id: 1, title: 'Release 7', environment: 'prod' } })],
        GOLDEN_CONTEXT.project,
        'en',
      ).level,
    ).toBe('ERROR');
  });

  it('names deployments and rollouts by title and environment, anything else by its description; drops links that are not absolute http(s)', () => {
    const view = buildDigest(
      [
        event({ type: 'deployment.create', level: 'SUCCESS', deployment: { id: 'd1', name: 'deploy abc', environment: 'PRODUCTION' } }),
        event({ type: 'bb.pipeline.completed', rollout: { id: 2, title: 'Release 2', environment: 'staging' } }),
        event({ type: 'bb.issue.comment.create', title: 'Note', description: 'first line\nsecond line', link: '/relative' }),
      ],
      GOLDEN_CONTEXT.project,
      'en',
    );
    expect(view.items.map((i) => i.subject)).toEqual(['deploy abc (PRODUCTION)', 'Release 2 (staging)', 'first line second line']);
    expect(view.items[2].link).toBeNull();
  });

  it('speaks Chinese for a zh webhook', () => {
    const view = buildDigest([created(1), created(2), resolved(1)], GOLDEN_CONTEXT.project, 'zh');
    expect(view.title).toBe('Payments：3 条通知');
    expect(view.summary).toBe('创建工单 2 条 · 工单完成 1 条');
  });

  it('finds the largest count that fits in a few tries', () => {
    let tries = 0;
    expect(fittingCount(100, (n) => (tries++, n <= 37))).toBe(37);
    expect(tries).toBeLessThanOrEqual(9);
    expect(fittingCount(5, () => true)).toBe(5);
    expect(fittingCount(5, (n) => n === 0)).toBe(0);
  });
});

describe('renderDigest', () => {
  const view = buildDigest([created(1), resolved(1), created(2)], GOLDEN_CONTEXT.project, 'en');

  it('Slack: a linked line per item in mrkdwn, the summary as plain text', () => {
    const body = JSON.parse(renderDigest('slack', view, targetFor('slack'), GOLDEN_CONTEXT).body);
    const blocks = body.attachments[0].blocks;
    expect(blocks[0].text.text).toBe('*✅ Payments: 3 notifications*');
    expect(blocks[1]).toEqual({ type: 'context', elements: [{ type: 'plain_text', text: '2 × Issue created · 1 × Issue resolved' }] });
    expect(blocks[2].text.text.split('\n')).toEqual([
      '• <https://bytebase.example.com/issues/1|Issue created — PAY-1 Fix 1>',
      '• ✅ Issue resolved — PAY-1 Fix 1',
      '• <https://bytebase.example.com/issues/2|Issue created — PAY-2 Fix 2>',
    ]);
  });

  it('counts what a small budget cannot show: WeCom shows as many lines as 4 096 bytes hold, then "and K more"', () => {
    const many = buildDigest(
      Array.from({ length: 100 }, (_, i) => event({ title: '数据库变更'.repeat(20), issue: { id: i, name: '订单索引'.repeat(30) } })),
      GOLDEN_CONTEXT.project,
      'en',
    );
    const content: string = JSON.parse(renderDigest('wecom', many, targetFor('wecom'), GOLDEN_CONTEXT).body).markdown.content;
    expect(Buffer.byteLength(content, 'utf8')).toBeLessThanOrEqual(4096);
    const shown = content.split('\n').filter((l) => l.startsWith('• ')).length;
    expect(shown).toBeGreaterThan(0);
    expect(content.endsWith(`… and ${100 - shown} more`)).toBe(true);
  });

  it('signs as the adapters sign: DingTalk in the query, Feishu and Lark in the body', () => {
    const dingtalk = renderDigest('dingtalk', view, targetFor('dingtalk', 'zh', { secret: 'SEC0123456789abcdef' }), GOLDEN_CONTEXT);
    const url = new URL(dingtalk.url);
    const timestamp = GOLDEN_CONTEXT.now.getTime();
    expect(url.searchParams.get('timestamp')).toBe(String(timestamp));
    expect(url.searchParams.get('sign')).toBe(createHmac('sha256', 'SEC0123456789abcdef').update(`${timestamp}\nSEC0123456789abcdef`).digest('base64'));
    expect(JSON.parse(dingtalk.body).at).toEqual({ atMobiles: [], isAtAll: false });
    const feishu = JSON.parse(renderDigest('feishu', view, targetFor('feishu', 'en', { secret: 'bot-secret' }), GOLDEN_CONTEXT).body);
    const seconds = Math.floor(timestamp / 1000);
    expect(feishu).toMatchObject({
      timestamp: String(seconds),
      sign: createHmac('sha256', `${seconds}\nbot-secret`).update('').digest('base64'),
      msg_type: 'interactive',
    });
  });

  it('Teams: an Adaptive Card for Workflows URLs (items open their links), a MessageCard for connectors', () => {
    const workflow = JSON.parse(renderDigest('teams', view, targetFor('teams-workflow'), GOLDEN_CONTEXT).body);
    const runs = workflow.attachments[0].content.body.map((b: { inlines: Array<Record<string, unknown>> }) => b.inlines[0]);
    expect(runs[2]).toEqual({
      type: 'TextRun',
      text: '• Issue created — PAY-1 Fix 1',
      color: 'Accent',
      selectAction: { type: 'Action.OpenUrl', url: 'https://bytebase.example.com/issues/1' },
    });
    const connector = JSON.parse(renderDigest('teams', view, targetFor('teams-connector'), GOLDEN_CONTEXT).body);
    expect(connector.sections[1].text).toBe(
      '- [Issue created — PAY-1 Fix 1](https://bytebase.example.com/issues/1)\n- ✅ Issue resolved — PAY-1 Fix 1\n- [Issue created — PAY-2 Fix 2](https://bytebase.example.com/issues/2)',
    );
  });

  it('keeps markup in user text from making links or mentions', () => {
    const hostile = buildDigest(
      [event({ title: 'see [here](https://evil.example) <@U1> <!channel>', link: 'https://ok.example/1' })],
      GOLDEN_CONTEXT.project,
      'en',
    );
    const slack = JSON.parse(renderDigest('slack', hostile, targetFor('slack'), GOLDEN_CONTEXT).body).attachments[0].blocks[2].text.text;
    expect(slack).toBe('• <https://ok.example/1|see [here](https://evil.example) &lt;@U1&gt; &lt;!channel&gt;>');
    const dingtalk: string = JSON.parse(renderDigest('dingtalk', hostile, targetFor('dingtalk'), GOLDEN_CONTEXT).body).markdown.text;
    expect(dingtalk).toContain('- [see ［here］(https://evil.example) <\u200B@U1> <\u200B!channel>](https://ok.example/1)');
  });

  it('refuses custom webhooks: their receivers expect one signed event per request', () => {
    expect(() => renderDigest('custom', view, targetFor('custom'), GOLDEN_CONTEXT)).toThrow(/never get digests/);
  });
});
