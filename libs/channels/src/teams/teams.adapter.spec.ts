import { GOLDEN_CONTEXT, GOLDEN_EVENTS, describeGolden, reply, target } from '../testing/golden';
import { isTeamsWorkflowUrl, teamsAdapter } from './teams.adapter';

const workflow = 'https://prod-01.westus.logic.azure.com/workflows/abc123/triggers/manual/paths/invoke?api-version=2016-06-01&sig=SIGNATURE';
const connector = 'https://contoso.webhook.office.com/webhookb2/aaaa@bbbb/IncomingWebhook/cccc/dddd';
describeGolden(teamsAdapter, __dirname, { workflow: target(workflow), connector: target(connector) }, ['workflow', 'connector']);

describe('teams adapter', () => {
  it('tells Workflows URLs from Office 365 connector URLs (docs/contract.md §6.4)', () => {
    expect(isTeamsWorkflowUrl(workflow)).toBe(true);
    expect(
      isTeamsWorkflowUrl(
        'https://default0123.environment.api.powerplatform.com/powerautomate/automations/direct/workflows/x/triggers/manual/paths/invoke?sig=s',
      ),
    ).toBe(true);
    expect(isTeamsWorkflowUrl('https://contoso.webhook.office.com/workflows/abc')).toBe(true);
    expect(isTeamsWorkflowUrl(connector)).toBe(false);
  });

  it('sends an Adaptive Card 1.4 in a message envelope to Workflows, a MessageCard to connectors', () => {
    const wf = JSON.parse(teamsAdapter.render(GOLDEN_EVENTS['issue-created'], target(workflow), GOLDEN_CONTEXT).body);
    expect(wf.type).toBe('message');
    expect(wf.attachments[0].contentType).toBe('application/vnd.microsoft.card.adaptive');
    expect(wf.attachments[0].content).toMatchObject({ type: 'AdaptiveCard', version: '1.4' });
    const mc = JSON.parse(teamsAdapter.render(GOLDEN_EVENTS['issue-created'], target(connector), GOLDEN_CONTEXT).body);
    expect(mc['@type']).toBe('MessageCard');
  });

  describe('classify (docs/contract.md §6.4)', () => {
    const wfReq = { url: workflow, method: 'POST' as const, headers: {}, body: '' };
    const ocReq = { url: connector, method: 'POST' as const, headers: {}, body: '' };
    it('accepts any 2xx from a Workflows URL', () => {
      expect(teamsAdapter.classify(reply(202), wfReq)).toEqual({ kind: 'delivered' });
      expect(teamsAdapter.classify(reply(200, 'anything'), wfReq)).toEqual({ kind: 'delivered' });
    });
    it('needs 200 with body 1 from a connector URL', () => {
      expect(teamsAdapter.classify(reply(200, '1'), ocReq)).toEqual({ kind: 'delivered' });
      expect(
        teamsAdapter.classify(reply(200, 'Webhook message delivery failed with error: Microsoft Teams endpoint returned HTTP error 429 with ContextId'), ocReq),
      ).toMatchObject({ kind: 'rate_limited' });
      expect(teamsAdapter.classify(reply(200, 'Summary or Text is required.'), ocReq).kind).toBe('rejected');
      expect(teamsAdapter.classify(reply(400, 'Bad payload'), ocReq).kind).toBe('rejected');
    });
    it('without the request, judges by the answer alone', () => {
      expect(teamsAdapter.classify(reply(200, '1'))).toEqual({ kind: 'delivered' });
      expect(teamsAdapter.classify(reply(202))).toEqual({ kind: 'delivered' });
      expect(teamsAdapter.classify(reply(200, 'error text')).kind).toBe('retryable');
    });
  });

  it('validates the host list', () => {
    expect(() => teamsAdapter.validateUrl(connector, [])).not.toThrow();
    expect(() => teamsAdapter.validateUrl(workflow, [])).not.toThrow();
    expect(() => teamsAdapter.validateUrl('https://office.com.evil.example/webhookb2/x', [])).toThrow(/not a teams webhook host/);
  });
});
