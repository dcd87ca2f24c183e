import { zodResolver } from '@hookform/resolvers/zod';
import * as RadioGroup from '@radix-ui/react-radio-group';
import * as Switch from '@radix-ui/react-switch';
import { useState } from 'react';
import { Controller, useForm } from 'react-hook-form';
import type { TestResult } from '@herald/sdk';
import { applyServerErrors } from '../../components/server-errors';
import { described, errorMessage, Field } from '../../components/ui';
import { EVENT_TYPE_LIST, EVENT_TYPES } from '../../lib/catalogue';
import { ms } from '../../lib/format';
import { DESTINATIONS, destination } from './destinations';
import { SERVER_FIELDS, webhookFormSchema, type WebhookFormValues } from './form-model';
import { FilterField, TemplatesSection, type PreviewFn } from './templates';

export interface WebhookFormProps {
  mode: 'create' | 'edit';
  initial: WebhookFormValues;
  /** Edit: the stored URL, masked (it is a credential and never read back). */
  urlMasked?: string;
  /** Which IM apps are configured; undefined while unknown. */
  imConfigured?: Record<string, boolean>;
  onSubmit(values: WebhookFormValues): Promise<void>;
  onTest(values: WebhookFormValues): Promise<TestResult>;
  /** Renders the body a delivery would send (the preview endpoint); the templates' live preview. */
  onPreview?: PreviewFn;
}

/**
 * The webhook form: destination cards, URL with the platform's help, events with descriptions,
 * a filter, direct messages, signing secret, rate limit, digest, order, language, message templates
 * with a live preview; a test before and after saving.
 */
export function WebhookForm(props: WebhookFormProps) {
  const form = useForm<WebhookFormValues>({ resolver: zodResolver(webhookFormSchema(props.mode)), defaultValues: props.initial, mode: 'onTouched' });
  const { register, control, watch, formState } = form;
  const errors = formState.errors;
  const [formError, setFormError] = useState<string | null>(null);
  const [test, setTest] = useState<{ running: boolean; result?: TestResult; error?: string }>({ running: false });
  const type = watch('type');
  const d = destination(type);
  const dmOn = watch('directMessage');
  const im = props.imConfigured;

  const runTest = async () => {
    const valid = await form.trigger(props.mode === 'create' ? ['type', 'url', 'secret'] : ['url', 'secret']);
    if (!valid) return;
    setTest({ running: true });
    try {
      setTest({ running: false, result: await props.onTest(form.getValues()) });
    } catch (err) {
      const unplaced = applyServerErrors(err, (f, e) => form.setError(f as keyof WebhookFormValues, e), SERVER_FIELDS);
      setTest({ running: false, error: unplaced ?? errorMessage(err) });
    }
  };

  return (
    <form
      noValidate
      onSubmit={form.handleSubmit(async (values) => {
        setFormError(null);
        try {
          await props.onSubmit(values);
        } catch (err) {
          setFormError(applyServerErrors(err, (f, e) => form.setError(f as keyof WebhookFormValues, e), SERVER_FIELDS));
        }
      })}
    >
      <fieldset className="destinations">
        <legend>Destination</legend>
        <Controller
          control={control}
          name="type"
          render={({ field }) => (
            <RadioGroup.Root className="card-grid" value={field.value} onValueChange={field.onChange} disabled={props.mode === 'edit'} aria-label="Destination">
              {DESTINATIONS.map((dest) => (
                <RadioGroup.Item key={dest.type} value={dest.type} className="card" id={`dest-${dest.type}`} aria-label={dest.name}>
                  <span className="type-mark" style={{ background: dest.colour }} aria-hidden="true">
                    {dest.mark}
                  </span>
                  <span>{dest.name}</span>
                </RadioGroup.Item>
              ))}
            </RadioGroup.Root>
          )}
        />
        {props.mode === 'edit' && <p className="hint">The destination of a saved webhook cannot change; create another webhook instead.</p>}
      </fieldset>

      <Field id="wh-name" label="Name" error={errors.name?.message}>
        <input {...described('wh-name', errors.name?.message)} {...register('name')} placeholder={`e.g. deploys to #ops`} />
      </Field>

      <Field
        id="wh-url"
        label={props.mode === 'edit' ? 'New URL' : `${d.name} webhook URL`}
        error={errors.url?.message}
        hint={
          <>
            {props.mode === 'edit' && (
              <span className="stored">
                Stored: <code>{props.urlMasked}</code> — enter a new URL to replace it; leave empty to keep it.{' '}
              </span>
            )}
            {d.help}
          </>
        }
      >
        <input
          {...described('wh-url', errors.url?.message, true)}
          {...register('url')}
          type="url"
          autoComplete="off"
          spellCheck={false}
          placeholder={d.placeholder}
        />
      </Field>

      <fieldset className="events">
        <legend>Events</legend>
        {errors.events?.message && (
          <p className="error" role="alert" id="events-error">
            {errors.events.message}
          </p>
        )}
        <div className="event-grid">
          {EVENT_TYPE_LIST.map((e) => (
            <div className="check" key={e}>
              <input id={`ev-${e}`} type="checkbox" value={e} {...register('events')} aria-describedby={`ev-${e}-desc`} />
              <label htmlFor={`ev-${e}`}>
                {EVENT_TYPES[e].label} <code className="small-text">{e}</code>
              </label>
              <span className="hint" id={`ev-${e}-desc`}>
                {EVENT_TYPES[e].description}
              </span>
            </div>
          ))}
        </div>
      </fieldset>

      <FilterField form={form} />

      {d.directMessage && (
        <div className="field">
          <div className="switch-row">
            <Controller
              control={control}
              name="directMessage"
              render={({ field }) => (
                <Switch.Root id="wh-dm" className="switch" checked={field.value} onCheckedChange={field.onChange} aria-describedby="wh-dm-hint">
                  <Switch.Thumb className="switch-thumb" />
                </Switch.Root>
              )}
            />
            <label htmlFor="wh-dm">Direct messages to the mentioned users</label>
          </div>
          <div className="hint" id="wh-dm-hint">
            For approval, approved, rollout and sent-back events, the people in <code>mentions</code> get a direct message through the {d.name} app; anyone not
            found gets the channel post.
          </div>
          {dmOn && im && !im[type] && (
            <p className="warning" role="alert">
              The {d.name} IM app is not configured, so no direct message will go out (the channel post still will). An admin sets it up under Admin → IM
              integrations.
            </p>
          )}
          {dmOn && !im && <p className="hint">Could not check whether the {d.name} IM app is configured.</p>}
          {errors.directMessage?.message && (
            <p className="error" role="alert">
              {errors.directMessage.message}
            </p>
          )}
        </div>
      )}

      {d.secret !== 'none' && (
        <Field id="wh-secret" label={props.mode === 'edit' ? 'New signing secret' : 'Signing secret'} error={errors.secret?.message} hint={d.secretHelp}>
          <input {...described('wh-secret', errors.secret?.message, true)} {...register('secret')} type="password" autoComplete="off" />
        </Field>
      )}

      <fieldset className="rate">
        <legend>Rate limit</legend>
        <p className="hint" id="rate-hint">
          Leave both empty for {d.name}'s published limit. Deliveries over the limit wait; they are not dropped.
        </p>
        <div className="inline-fields">
          <Field id="wh-rate-count" label="Messages" error={errors.rateCount?.message}>
            <input {...described('wh-rate-count', errors.rateCount?.message)} {...register('rateCount')} inputMode="numeric" />
          </Field>
          <Field id="wh-rate-per" label="per seconds" error={errors.ratePer?.message}>
            <input {...described('wh-rate-per', errors.ratePer?.message)} {...register('ratePer')} inputMode="numeric" />
          </Field>
        </div>
      </fieldset>

      {type !== 'custom' && (
        <fieldset className="rate">
          <legend>Digest</legend>
          <p className="hint" id="digest-hint">
            When more deliveries wait than the first number (for the rate limit, or a retry), the next message merges up to the second number of them into one:
            a summary, then a line per event linking to it. Leave both empty for one message per event.
          </p>
          <div className="inline-fields">
            <Field id="wh-digest-after" label="When more than … wait" error={errors.digestAfter?.message}>
              <input {...described('wh-digest-after', errors.digestAfter?.message)} {...register('digestAfter')} inputMode="numeric" placeholder="5" />
            </Field>
            <Field id="wh-digest-max" label="Events per message" error={errors.digestMax?.message}>
              <input {...described('wh-digest-max', errors.digestMax?.message)} {...register('digestMax')} inputMode="numeric" placeholder="50" />
            </Field>
          </div>
        </fieldset>
      )}

      <Field
        id="wh-ordering"
        label="Order"
        error={errors.ordering?.message}
        hint="In order per subject: the events about one issue, incident or deployment arrive in the order Herald accepted them; one waiting for a retry holds the later ones about the same subject only."
      >
        <select {...described('wh-ordering', errors.ordering?.message, true)} {...register('ordering')}>
          <option value="none">Any order</option>
          <option value="subject">In order per subject</option>
        </select>
      </Field>

      <Field id="wh-locale" label="Message language" error={errors.locale?.message}>
        <select {...described('wh-locale', errors.locale?.message)} {...register('locale')}>
          <option value="">Default ({type === 'dingtalk' ? 'Chinese' : 'English'})</option>
          <option value="en">English</option>
          <option value="zh">Chinese</option>
        </select>
      </Field>

      <TemplatesSection form={form} onPreview={props.onPreview} />

      {formError && (
        <p className="error" role="alert">
          {formError}
        </p>
      )}
      <div className="form-actions">
        <button type="button" className="secondary" onClick={runTest} disabled={test.running}>
          {test.running ? 'Sending test…' : props.mode === 'edit' ? 'Send test' : 'Send test (before saving)'}
        </button>
        <button type="submit" className="primary" disabled={formState.isSubmitting}>
          {props.mode === 'edit' ? 'Save changes' : 'Create webhook'}
        </button>
      </div>
      <TestPanel {...test} />
    </form>
  );
}

export function TestPanel({ result, error, running }: { result?: TestResult; error?: string; running: boolean }) {
  if (running || (!result && !error))
    return (
      <div role="status" aria-live="polite" className="sr-only">
        {running ? 'Sending a test message' : ''}
      </div>
    );
  return (
    <section className={`test-panel ${result?.ok ? 'ok' : 'failed'}`} aria-label="Test result" role="status" aria-live="polite">
      <h2>{result ? (result.ok ? 'Test delivered' : 'Test failed') : 'Test not sent'}</h2>
      {result && (
        <dl>
          <dt>Status</dt>
          <dd>{result.statusCode ?? 'no answer'}</dd>
          <dt>Latency</dt>
          <dd>{ms(result.durationMs)}</dd>
          {result.error && (
            <>
              <dt>Error</dt>
              <dd>{result.error}</dd>
            </>
          )}
        </dl>
      )}
      {error && <p>{error}</p>}
      {result?.responseBody ? (
        <>
          <h3>Response (first 1 KiB)</h3>
          <pre className="excerpt">{result.responseBody}</pre>
        </>
      ) : null}
    </section>
  );
}
