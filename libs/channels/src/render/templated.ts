import type { ChannelType } from '@herald/domain';
import type { ChannelAdapter, ChannelTarget, PreparedRequest, RenderContext } from '../channel-adapter';
import { renderTemplate } from './template';

/**
 * Whether a webhook type takes message templates: every chat channel. A custom webhook's body is
 * the signed JSON event (docs/contract.md §7.3), which a template must not change; its receivers format it.
 */
export function usesTemplates(type: ChannelType): boolean {
  return type !== 'custom';
}

export interface RenderedMessage {
  request: PreparedRequest;
  /** Why the webhook's template could not be used (the built-in message was rendered instead); null otherwise. */
  templateError: string | null;
}

/**
 * The request for an event, through the webhook's template when it has one for the event's type
 * (`target.template`): the delivery processor and the preview endpoint both render this way, so
 * the preview's body is the one that would be sent. A template that fails falls back to the
 * built-in message, and says why.
 */
export function renderMessage(
  adapter: ChannelAdapter,
  event: Parameters<ChannelAdapter['render']>[0],
  target: ChannelTarget,
  context: RenderContext,
): RenderedMessage {
  const { template, text: _ignored, ...plain } = target;
  if (!template || !usesTemplates(adapter.type)) return { request: adapter.render(event, plain, context), templateError: null };
  const rendered = renderTemplate(template, event, context.project, target.locale);
  if (!rendered.ok) return { request: adapter.render(event, plain, context), templateError: rendered.reason };
  return { request: adapter.render(event, { ...plain, text: rendered.text }, context), templateError: null };
}
