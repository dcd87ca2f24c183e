import { render, screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { HeraldApiError } from '@herald/sdk';
import { WebhookForm } from './form';
import { EMPTY_FORM } from './form-model';
import { SAMPLE_EVENTS } from './samples';

const noTest = jest.fn();
const slackBody = (text: string) => JSON.stringify({ attachments: [{ color: '#2EB67D', blocks: [{ type: 'section', text: { type: 'plain_text', text } }] }] });

async function fillBasics(type = 'Slack') {
  await userEvent.click(screen.getByRole('radio', { name: type }));
  await userEvent.type(screen.getByLabelText('Name'), 'ops');
  await userEvent.type(
    screen.getByLabelText(`${type} webhook URL`),
    type === 'Slack' ? 'https://hooks.slack.com/services/T/B/X' : 'https://receiver.example.com/hook',
  );
}

describe('WebhookForm: filter and message templates (issue 16)', () => {
  it('shows a template per chosen event and previews the exact body live, through the preview endpoint', async () => {
    const onPreview = jest.fn(async (req: { templates?: Record<string, string> | null }) => ({
      body: slackBody(req.templates?.['deployment.create'] ?? 'built-in'),
      templateError: null,
    }));
    render(<WebhookForm mode="create" initial={EMPTY_FORM} onSubmit={jest.fn()} onTest={noTest} onPreview={onPreview} />);
    expect(screen.getByText('Choose events above to write their templates.')).toBeInTheDocument();
    await fillBasics();
    await userEvent.click(screen.getByLabelText(/^Deployment/));
    await userEvent.click(screen.getByLabelText(/^Incident opened/));
    expect(screen.getByLabelText('Template: Deployment')).toBeInTheDocument();
    expect(screen.getByLabelText('Template: Incident opened')).toBeInTheDocument();
    expect(screen.queryByLabelText('Template: Issue created')).toBeNull();

    // The first chosen event is previewed with the built-in message until a template is written.
    const body = await screen.findByLabelText('Body that would be sent');
    expect(body).toHaveTextContent('built-in');
    await userEvent.click(screen.getByLabelText('Template: Deployment'));
    await userEvent.paste('{{ message.emoji }} {{ rollout.environment }} by {{ actor.name }}');
    await within(screen.getByRole('region', { name: 'Preview' })).findByText(/\{\{ message.emoji \}\} \{\{ rollout.environment \}\} by/);
    expect(onPreview).toHaveBeenLastCalledWith({
      type: 'slack',
      url: 'https://hooks.slack.com/services/T/B/X',
      templates: { 'deployment.create': '{{ message.emoji }} {{ rollout.environment }} by {{ actor.name }}' },
      event: SAMPLE_EVENTS['deployment.create'],
    });
    // Typing is debounced: one request for the whole paste, not one per character.
    const calls = onPreview.mock.calls.length;
    expect(calls).toBeLessThanOrEqual(3);

    // Another event's sample.
    await userEvent.selectOptions(screen.getByLabelText('Preview event'), 'Incident opened (sample)');
    await screen.findByText(/"text": "built-in"/, { selector: 'pre' });
    expect(onPreview).toHaveBeenLastCalledWith(expect.objectContaining({ event: SAMPLE_EVENTS['incident.create'] }));
    expect(onPreview.mock.calls.at(-1)?.[0]).not.toHaveProperty('templates');
  });

  it('says when a template fails to render (the built-in message goes out), and shows a 400 from the preview', async () => {
    const onPreview = jest
      .fn()
      .mockResolvedValueOnce({ body: slackBody('built-in'), templateError: null })
      .mockResolvedValueOnce({ body: slackBody('built-in'), templateError: 'template render limit exceeded, line:1, col:1' })
      .mockRejectedValue(
        new HeraldApiError(400, 'bad', [{ field: 'templates["deployment.create"]', message: 'not a template this sandbox accepts: tag "include" not found' }]),
      );
    render(<WebhookForm mode="create" initial={EMPTY_FORM} onSubmit={jest.fn()} onTest={noTest} onPreview={onPreview} />);
    await fillBasics();
    await userEvent.click(screen.getByLabelText(/^Deployment/));
    await screen.findByLabelText('Body that would be sent');
    await userEvent.click(screen.getByLabelText('Template: Deployment'));
    await userEvent.paste('{% for i in (1..100000000) %}x{% endfor %}');
    expect(
      await screen.findByText(
        /This template fails to render \(template render limit exceeded, line:1, col:1\); deliveries would send the built-in message below/,
      ),
    ).toBeInTheDocument();
    await userEvent.clear(screen.getByLabelText('Template: Deployment'));
    await userEvent.paste('{% include "x" %}');
    expect(
      await screen.findByText(/Cannot preview: templates\["deployment.create"\]: not a template this sandbox accepts: tag "include" not found/),
    ).toBeInTheDocument();
  });

  it('custom webhooks take no templates', async () => {
    const onPreview = jest.fn();
    render(<WebhookForm mode="create" initial={EMPTY_FORM} onSubmit={jest.fn()} onTest={noTest} onPreview={onPreview} />);
    await fillBasics('Custom HTTP');
    await userEvent.click(screen.getByLabelText(/^Deployment/));
    expect(screen.getByText(/Custom webhooks send the signed event as JSON/)).toBeInTheDocument();
    expect(screen.queryByLabelText('Template: Deployment')).toBeNull();
    await new Promise((r) => setTimeout(r, 400));
    expect(onPreview).not.toHaveBeenCalled();
  });

  it("checks the filter is a JSON object, and puts the server's filter and template errors on their fields", async () => {
    const onSubmit = jest.fn().mockRejectedValue(
      new HeraldApiError(400, 'bad', [
        { field: 'filter["issue.stauts"]', message: '"issue" has no field "stauts"; its fields are id, key, name, status' },
        { field: 'templates["deployment.create"]', message: 'not a template this sandbox accepts: undefined filter: sha256' },
      ]),
    );
    render(<WebhookForm mode="create" initial={EMPTY_FORM} onSubmit={onSubmit} onTest={noTest} />);
    await fillBasics();
    await userEvent.click(screen.getByLabelText(/^Deployment/));
    const filter = screen.getByLabelText('Filter (JSON)');
    await userEvent.click(filter);
    await userEvent.paste('{"level": ERROR}');
    await userEvent.click(screen.getByRole('button', { name: 'Create webhook' }));
    expect(await screen.findByLabelText('Filter (JSON)')).toHaveAccessibleDescription(/Not JSON/);
    expect(onSubmit).not.toHaveBeenCalled();

    await userEvent.clear(filter);
    await userEvent.paste('{"issue.stauts": "DONE"}');
    await userEvent.click(screen.getByLabelText('Template: Deployment'));
    await userEvent.paste('{{ title | sha256 }}');
    await userEvent.click(screen.getByRole('button', { name: 'Create webhook' }));
    expect(onSubmit).toHaveBeenCalledWith(
      expect.objectContaining({ filter: '{"issue.stauts": "DONE"}', templates: expect.arrayContaining(['{{ title | sha256 }}']) }),
    );
    expect(await screen.findByLabelText('Filter (JSON)')).toHaveAccessibleDescription(/"issue" has no field "stauts"/);
    expect(screen.getByLabelText('Template: Deployment')).toHaveAccessibleDescription('not a template this sandbox accepts: undefined filter: sha256');
  });
});
