import { render, screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { HeraldApiError } from '@herald/sdk';
import { WebhookForm } from './form';
import { EMPTY_FORM } from './form-model';

const noTest = jest.fn();

describe('WebhookForm', () => {
  it('labels every control and shows each destination with its URL help and placeholder', async () => {
    render(<WebhookForm mode="create" initial={EMPTY_FORM} onSubmit={jest.fn()} onTest={noTest} />);
    await userEvent.click(screen.getByRole('radio', { name: 'Discord' }));
    const url = screen.getByLabelText('Discord webhook URL');
    expect(url).toHaveAttribute('placeholder', expect.stringContaining('https://discord.com/api/webhooks/'));
    expect(screen.getByText(/Integrations → Webhooks → New Webhook/)).toBeInTheDocument();
    expect(screen.getByLabelText(/Approval needed/)).toHaveAccessibleDescription(/Approvers are asked to review/);
    // Discord has no direct messages, Slack has.
    expect(screen.queryByLabelText(/Direct messages/)).toBeNull();
    await userEvent.click(screen.getByRole('radio', { name: 'Slack' }));
    expect(screen.getByRole('switch', { name: /Direct messages/ })).toBeInTheDocument();
  });

  it('checks the form before sending anything', async () => {
    const onSubmit = jest.fn();
    render(<WebhookForm mode="create" initial={EMPTY_FORM} onSubmit={onSubmit} onTest={noTest} />);
    await userEvent.click(screen.getByRole('button', { name: 'Create webhook' }));
    expect(await screen.findByText('Give the webhook a name')).toBeInTheDocument();
    expect(screen.getByText('Paste the URL the platform gave you')).toBeInTheDocument();
    expect(screen.getByText('Choose at least one event')).toBeInTheDocument();
    expect(screen.getByLabelText('Name')).toHaveAttribute('aria-invalid', 'true');
    expect(onSubmit).not.toHaveBeenCalled();
  });

  it("puts a 400's details on the fields they name", async () => {
    const onSubmit = jest.fn().mockRejectedValue(
      new HeraldApiError(400, 'url: host example.org is not allowed for slack; rateLimit.count: must not be greater than 1000', [
        { field: 'url', message: 'host example.org is not allowed for slack (allowed: hooks.slack.com, hooks.slack-gov.com)' },
        { field: 'rateLimit.count', message: 'count must not be greater than 1000' },
        { field: 'something', message: 'an unknown field' },
      ]),
    );
    render(<WebhookForm mode="create" initial={EMPTY_FORM} onSubmit={onSubmit} onTest={noTest} />);
    await userEvent.type(screen.getByLabelText('Name'), 'ops');
    await userEvent.type(screen.getByLabelText('Slack webhook URL'), 'https://example.org/hook');
    await userEvent.click(screen.getByLabelText(/Deployment/));
    await userEvent.type(screen.getByLabelText('Messages'), '5000');
    await userEvent.type(screen.getByLabelText('per seconds'), '1');
    await userEvent.click(screen.getByRole('button', { name: 'Create webhook' }));
    expect(onSubmit).toHaveBeenCalledWith(
      expect.objectContaining({ name: 'ops', url: 'https://example.org/hook', events: ['deployment.create'], rateCount: '5000', ratePer: '1' }),
    );
    expect(await screen.findByLabelText('Slack webhook URL')).toHaveAccessibleDescription(/host example.org is not allowed for slack/);
    expect(screen.getByLabelText('Messages')).toHaveAccessibleDescription('count must not be greater than 1000');
    expect(screen.getByText('something: an unknown field')).toBeInTheDocument();
  });

  it('warns when direct messages are on and the IM app is not configured', async () => {
    render(<WebhookForm mode="create" initial={EMPTY_FORM} imConfigured={{ slack: false, feishu: true }} onSubmit={jest.fn()} onTest={noTest} />);
    expect(screen.queryByText(/IM app is not configured/)).toBeNull();
    await userEvent.click(screen.getByRole('switch', { name: /Direct messages/ }));
    expect(screen.getByText(/The Slack IM app is not configured/)).toBeInTheDocument();
    await userEvent.click(screen.getByRole('radio', { name: 'Feishu' }));
    expect(screen.queryByText(/IM app is not configured/)).toBeNull();
  });

  it('tests before saving and shows status, latency and the response excerpt', async () => {
    const onTest = jest.fn().mockResolvedValue({ ok: false, statusCode: 404, durationMs: 87, error: 'HTTP 404', responseBody: 'no_service' });
    render(<WebhookForm mode="create" initial={EMPTY_FORM} onSubmit={jest.fn()} onTest={onTest} />);
    await userEvent.type(screen.getByLabelText('Slack webhook URL'), 'https://hooks.slack.com/services/T/B/X');
    await userEvent.click(screen.getByRole('button', { name: 'Send test (before saving)' }));
    const panel = await screen.findByRole('status', { name: 'Test result' });
    expect(within(panel).getByText('Test failed')).toBeInTheDocument();
    expect(within(panel).getByText('404')).toBeInTheDocument();
    expect(within(panel).getByText('87 ms')).toBeInTheDocument();
    expect(within(panel).getByText('no_service')).toBeInTheDocument();
    expect(onTest).toHaveBeenCalledWith(expect.objectContaining({ type: 'slack', url: 'https://hooks.slack.com/services/T/B/X' }));
  });

  it('keeps the stored URL masked when editing: empty means keep it', async () => {
    const onSubmit = jest.fn();
    render(
      <WebhookForm
        mode="edit"
        initial={{ ...EMPTY_FORM, name: 'ops', events: ['deployment.create'] }}
        urlMasked="https://hooks.slack.com/…abcd"
        onSubmit={onSubmit}
        onTest={noTest}
      />,
    );
    const url = screen.getByLabelText('New URL');
    expect(url).toHaveValue('');
    expect(url).toHaveAccessibleDescription(/Stored: https:\/\/hooks.slack.com\/…abcd — enter a new URL to replace it/);
    expect(screen.getByRole('radio', { name: 'Slack' })).toBeDisabled();
    await userEvent.click(screen.getByRole('button', { name: 'Save changes' }));
    expect(onSubmit).toHaveBeenCalledWith(expect.objectContaining({ url: '' }));
  });
});
