import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useCallback, useState } from 'react';
import { Link, useNavigate, useParams } from 'react-router';
import type { Webhook } from '@herald/sdk';
import { api, unwrap } from '../../api/client';
import { ConfirmButton } from '../../components/confirm';
import { errorMessage, OnceValue, PageHeader, Time } from '../../components/ui';
import { useImStatus } from './data';
import { WebhookForm } from './form';
import { createBody, EMPTY_FORM, toFormValues, updateBody, type WebhookFormValues } from './form-model';
import type { PreviewRequest } from './templates';

/** A rotated-out secret keeps signing this long (docs/contract.md §3.5). */
const OVERLAP_HOURS = 24;

export default function WebhookEditor() {
  const { key = '', id } = useParams();
  const queryClient = useQueryClient();
  const navigate = useNavigate();
  const im = useImStatus();
  const imConfigured = im.data ? Object.fromEntries(im.data.items.map((i) => [i.provider, i.configured])) : undefined;
  const [created, setCreated] = useState<Webhook | null>(null);
  const [saved, setSaved] = useState<string | null>(null);
  const webhook = useQuery({
    queryKey: ['project', key, 'webhook', id],
    queryFn: () => unwrap(api.GET('/v1/projects/{key}/webhooks/{id}', { params: { path: { key, id: id as string } } })),
    enabled: Boolean(id),
  });

  const trial = (values: WebhookFormValues) =>
    unwrap(
      api.POST('/v1/projects/{key}/webhooks/test', {
        params: { path: { key } },
        body: {
          type: values.type,
          url: values.url.trim(),
          name: values.name || undefined,
          events: values.events.length ? values.events : undefined,
          ...(values.secret ? { secret: values.secret } : {}),
          ...(values.locale ? { locale: values.locale } : {}),
        },
      }),
    );

  // Stable across renders: the form's live preview runs again only when what it renders changes.
  // Editing, without a new URL typed: the saved webhook's URL (Teams' format) and secret (Feishu/Lark sign in the body).
  const preview = useCallback(
    (request: PreviewRequest) =>
      unwrap(
        api.POST('/v1/projects/{key}/webhooks/preview', { params: { path: { key } }, body: { ...request, ...(id && !request.url ? { webhookId: id } : {}) } }),
      ),
    [key, id],
  );

  if (!id) {
    if (created) {
      return (
        <section>
          <PageHeader title={`Created ${created.name}`} />
          {created.secret && (
            <OnceValue label="Signing secret" value={created.secret}>
              the encrypted secret
            </OnceValue>
          )}
          <p>
            <Link to={`/p/${key}/webhooks/${created.id}`}>Open the webhook</Link> (test it with its stored URL) ·{' '}
            <Link to={`/p/${key}/webhooks`}>Back to webhooks</Link>
          </p>
        </section>
      );
    }
    return (
      <section>
        <PageHeader title="New webhook" />
        <WebhookForm
          mode="create"
          initial={EMPTY_FORM}
          imConfigured={imConfigured}
          onTest={trial}
          onPreview={preview}
          onSubmit={async (values) => {
            const result = await unwrap(api.POST('/v1/projects/{key}/webhooks', { params: { path: { key } }, body: createBody(values) }));
            await queryClient.invalidateQueries({ queryKey: ['project', key] });
            if (result.secret) setCreated(result);
            else navigate(`/p/${key}/webhooks/${result.id}`, { replace: true });
          }}
        />
      </section>
    );
  }

  if (webhook.isLoading) return <p role="status">Loading the webhook…</p>;
  if (webhook.error || !webhook.data) return <p role="alert">Could not load the webhook: {errorMessage(webhook.error)}</p>;
  const w = webhook.data;
  const initial = toFormValues(w);
  return (
    <section>
      <PageHeader title={w.name}>
        <Link className="button secondary" to={`/p/${key}/deliveries?webhookId=${w.id}`}>
          Deliveries
        </Link>
      </PageHeader>
      {w.status === 'disabled' && (
        <p className="warning" role="status">
          Disabled{w.disabledReason ? `: ${w.disabledReason}` : ''} {w.disabledAt && <Time iso={w.disabledAt} />}. Re-enable it from the webhook list.
        </p>
      )}
      {saved && (
        <p className="notice" role="status">
          {saved}
        </p>
      )}
      <WebhookForm
        key={w.updatedAt}
        mode="edit"
        initial={initial}
        urlMasked={w.urlMasked}
        imConfigured={imConfigured}
        onPreview={preview}
        onTest={(values) =>
          // An unsaved new URL is tried as typed; otherwise the stored URL is used (no re-entry).
          values.url.trim()
            ? trial({ ...values, type: w.type as WebhookFormValues['type'] })
            : unwrap(api.POST('/v1/projects/{key}/webhooks/{id}/test', { params: { path: { key, id: w.id } } }))
        }
        onSubmit={async (values) => {
          const body = updateBody(initial, values);
          if (Object.keys(body).length === 0) {
            setSaved('Nothing changed.');
            return;
          }
          await unwrap(api.PATCH('/v1/projects/{key}/webhooks/{id}', { params: { path: { key, id: w.id } }, body }));
          setSaved(`Saved: ${Object.keys(body).join(', ')}.`);
          await queryClient.invalidateQueries({ queryKey: ['project', key] });
        }}
      />
      {w.type === 'custom' && <RotateSecret projectKey={key} webhook={w} />}
    </section>
  );
}

function RotateSecret({ projectKey, webhook }: { projectKey: string; webhook: Webhook }) {
  const [rotated, setRotated] = useState<{ secret: string; oldValidUntil: string } | null>(null);
  return (
    <section className="panel" aria-labelledby="rotate-title">
      <h2 id="rotate-title">Signing secret</h2>
      <p>
        Requests are signed with Standard Webhooks. Rotating issues a new secret at once; the current one keeps signing alongside it for {OVERLAP_HOURS} hours,
        so each request carries two signatures until your receiver has switched.
      </p>
      <ConfirmButton
        label="Rotate secret"
        title="Rotate the signing secret?"
        description={
          <p>
            A new secret is issued now for 1 webhook ({webhook.name}). The current secret stays valid, as a second signature, for {OVERLAP_HOURS} hours: until{' '}
            {new Date(Date.now() + OVERLAP_HOURS * 3600_000).toLocaleString()}.
          </p>
        }
        confirmLabel="Rotate secret"
        onConfirm={async () => {
          const { secret } = await unwrap(
            api.POST('/v1/projects/{key}/webhooks/{id}/rotate-secret', { params: { path: { key: projectKey, id: webhook.id } } }),
          );
          setRotated({ secret, oldValidUntil: new Date(Date.now() + OVERLAP_HOURS * 3600_000).toISOString() });
        }}
      />
      {rotated && (
        <>
          <OnceValue label="New signing secret" value={rotated.secret}>
            the encrypted secret
          </OnceValue>
          <p>
            The old secret keeps signing until <Time iso={rotated.oldValidUntil} /> ({OVERLAP_HOURS} hours); until then every request carries both signatures.
          </p>
        </>
      )}
    </section>
  );
}
