import { useEffect, useState } from 'react';
import type { UseFormReturn } from 'react-hook-form';
import { HeraldApiError, type WebhookPreview, type WebhookPreviewResult } from '@herald/sdk';
import { described, errorMessage, Field } from '../../components/ui';
import { EVENT_TYPE_LIST, EVENT_TYPES, type EventType } from '../../lib/catalogue';
import type { WebhookFormValues } from './form-model';
import { SAMPLE_EVENTS } from './samples';

/** What the form asks the API to render; the editor adds the saved webhook's id when editing. */
export type PreviewRequest = Omit<WebhookPreview, 'webhookId'>;
export type PreviewFn = (request: PreviewRequest) => Promise<WebhookPreviewResult>;

/** Wait this long after the last keystroke before asking for a preview. */
export const PREVIEW_DEBOUNCE_MS = 300;

const EXAMPLE_FILTER = '{"deployment.environment": "PRODUCTION", "actor.name": {"$nin": ["renovate[bot]"]}}';

/** The webhook's filter, as JSON text. */
export function FilterField({ form }: { form: UseFormReturn<WebhookFormValues> }) {
  const error = form.formState.errors.filter?.message;
  return (
    <Field
      id="wh-filter"
      label="Filter (JSON)"
      error={error}
      hint={
        <>
          Only events this filter passes are delivered. Keys are paths into the event (<code>level</code>, <code>issue.status</code>,{' '}
          <code>deployment.environment</code>, <code>mentions.email</code>); a value means equality; operators{' '}
          <code>$eq $ne $in $nin $exists $gt $gte $lt $lte $regex $and $or</code>. Example: <code>{EXAMPLE_FILTER}</code>. Leave empty for every event of the
          chosen types.
        </>
      }
    >
      <textarea
        {...described('wh-filter', error, true)}
        {...form.register('filter')}
        rows={3}
        spellCheck={false}
        className="code-input"
        placeholder={EXAMPLE_FILTER}
      />
    </Field>
  );
}

/**
 * One Liquid template per chosen event type, and a live preview of the exact body the webhook would
 * send for a sample event of one of them (the preview endpoint renders it as a delivery would).
 */
export function TemplatesSection({ form, onPreview }: { form: UseFormReturn<WebhookFormValues>; onPreview?: PreviewFn }) {
  const { watch, register, formState } = form;
  const type = watch('type');
  const events = watch('events');
  const templates = watch('templates');
  const locale = watch('locale');
  const url = watch('url');
  const chosen = EVENT_TYPE_LIST.filter((e) => events.includes(e));
  const [previewType, setPreviewType] = useState<EventType | ''>('');
  const shown: EventType | undefined = previewType && chosen.includes(previewType) ? previewType : chosen[0];
  const index = shown ? EVENT_TYPE_LIST.indexOf(shown) : -1;
  const template = index >= 0 ? (templates[index] ?? '') : '';
  const [preview, setPreview] = useState<{ loading: boolean; result?: WebhookPreviewResult; error?: string }>({ loading: false });

  useEffect(() => {
    if (!onPreview || !shown || type === 'custom') return;
    let cancelled = false;
    const timer = setTimeout(async () => {
      setPreview((p) => ({ ...p, loading: true }));
      try {
        const result = await onPreview({
          type,
          // The URL only when it looks like one (Teams' format depends on it); otherwise the stored or usual one.
          ...(/^https?:\/\/[^\s/]+/i.test(url.trim()) ? { url: url.trim() } : {}),
          ...(template.trim() ? { templates: { [shown]: template } } : {}),
          ...(locale ? { locale } : {}),
          event: SAMPLE_EVENTS[shown],
        });
        if (!cancelled) setPreview({ loading: false, result });
      } catch (err) {
        if (!cancelled) setPreview({ loading: false, error: previewError(err) });
      }
    }, PREVIEW_DEBOUNCE_MS);
    return () => {
      cancelled = true;
      clearTimeout(timer);
    };
  }, [onPreview, shown, template, type, locale, url]);

  if (type === 'custom') {
    return (
      <fieldset className="templates">
        <legend>Message templates</legend>
        <p className="hint">Custom webhooks send the signed event as JSON, which templates do not change; templates apply to chat destinations.</p>
      </fieldset>
    );
  }
  const errors = formState.errors.templates;
  return (
    <fieldset className="templates">
      <legend>Message templates</legend>
      <p className="hint" id="templates-hint">
        Optional, per event: the message text in Liquid, e.g. <code>{'{{ message.emoji }} {{ title }} by {{ actor.name | default: "someone" }}'}</code>. The
        event&apos;s fields (<code>title</code>, <code>description</code>, <code>issue.key</code>, <code>deployment.environment</code>…), <code>project</code>{' '}
        and <code>message</code> (<code>title</code>, <code>emoji</code>, <code>facts</code>, <code>link</code>) are there. The title, colour and link button
        stay; the text is shown as text. A template that fails at delivery sends the built-in message. Empty: the built-in message.
      </p>
      {chosen.length === 0 && <p className="hint">Choose events above to write their templates.</p>}
      {chosen.map((e) => {
        const i = EVENT_TYPE_LIST.indexOf(e);
        const error = errors?.[i]?.message;
        return (
          <Field key={e} id={`wh-tpl-${i}`} label={`Template: ${EVENT_TYPES[e].label}`} error={error}>
            <textarea
              {...described(`wh-tpl-${i}`, error)}
              {...register(`templates.${i}` as const)}
              rows={2}
              spellCheck={false}
              className="code-input"
              placeholder="Empty: the built-in message"
            />
          </Field>
        );
      })}
      {onPreview && shown && (
        <section className="preview-panel" aria-labelledby="preview-title">
          <h2 id="preview-title">Preview</h2>
          <label htmlFor="wh-preview-event">Preview event</label>{' '}
          <select id="wh-preview-event" value={shown} onChange={(ev) => setPreviewType(ev.target.value as EventType)}>
            {chosen.map((e) => (
              <option key={e} value={e}>
                {EVENT_TYPES[e].label} (sample)
              </option>
            ))}
          </select>
          <div role="status" aria-live="polite" className="preview-status">
            {preview.loading
              ? 'Rendering the preview…'
              : preview.error
                ? ''
                : preview.result
                  ? preview.result.templateError
                    ? 'Template failed: built-in message shown'
                    : 'Body rendered'
                  : ''}
          </div>
          {preview.error && (
            <p className="error" role="alert">
              {preview.error}
            </p>
          )}
          {preview.result?.templateError && (
            <p className="warning" role="alert">
              This template fails to render ({preview.result.templateError}); deliveries would send the built-in message below.
            </p>
          )}
          {preview.result && (
            <pre className="excerpt preview-body" tabIndex={0} aria-label="Body that would be sent">
              {pretty(preview.result.body)}
            </pre>
          )}
        </section>
      )}
    </fieldset>
  );
}

function pretty(body: string): string {
  try {
    return JSON.stringify(JSON.parse(body), null, 2);
  } catch {
    return body;
  }
}

/** A 400 names its fields (a template that does not parse, the URL); show them as they are. */
function previewError(err: unknown): string {
  if (err instanceof HeraldApiError && err.status === 400 && err.details.length)
    return `Cannot preview: ${err.details.map((d) => `${d.field}: ${d.message}`).join('; ')}`;
  return `Cannot preview: ${errorMessage(err)}`;
}
