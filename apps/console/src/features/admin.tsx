import * as Tabs from '@radix-ui/react-tabs';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { useParams } from 'react-router';
import type { CreatedApiKey, components, paths } from '@herald/sdk';
import { api, unwrap } from '../api/client';
import { ADMIN_ONLY, useSession } from '../api/session';
import { ConfirmButton } from '../components/confirm';
import { described, errorMessage, Field, OnceValue, PageHeader, Reason, TableState, Time } from '../components/ui';
import { destination } from './webhooks/destinations';

/** A `{provider}` of the IM integration routes (the OpenAPI enum, from the server's registry). */
type Provider = paths['/v1/integrations/im/{provider}']['get']['parameters']['path']['provider'];

export default function Admin() {
  const { key = '' } = useParams();
  return (
    <section>
      <PageHeader title="Admin" />
      <Tabs.Root defaultValue="keys">
        <Tabs.List className="tabs" aria-label="Admin">
          <Tabs.Trigger value="keys">API keys</Tabs.Trigger>
          <Tabs.Trigger value="im">IM integrations</Tabs.Trigger>
        </Tabs.List>
        <Tabs.Content value="keys">
          <ApiKeys projectKey={key} />
        </Tabs.Content>
        <Tabs.Content value="im">
          <ImIntegrations />
        </Tabs.Content>
      </Tabs.Root>
    </section>
  );
}

function ApiKeys({ projectKey }: { projectKey: string }) {
  const { isAdmin } = useSession();
  const queryClient = useQueryClient();
  const [name, setName] = useState('');
  const [created, setCreated] = useState<CreatedApiKey | null>(null);
  const [error, setError] = useState<string | null>(null);
  const keys = useQuery({
    queryKey: ['project', projectKey, 'api-keys'],
    queryFn: () => unwrap(api.GET('/v1/projects/{key}/api-keys', { params: { path: { key: projectKey }, query: { limit: 100 } } })),
  });
  const create = useMutation({
    mutationFn: () => unwrap(api.POST('/v1/projects/{key}/api-keys', { params: { path: { key: projectKey } }, body: { name: name.trim() } })),
    onSuccess: (k) => (setCreated(k), setName(''), queryClient.invalidateQueries({ queryKey: ['project', projectKey, 'api-keys'] })),
    onError: (err) => setError(errorMessage(err)),
  });
  const items = keys.data?.items ?? [];
  return (
    <div>
      <h2>API keys of {projectKey}</h2>
      <p>A project API key reaches this project only: its webhooks, events, deliveries, incoming webhooks and DORA.</p>
      {!isAdmin && <Reason>{ADMIN_ONLY.apiKeys}</Reason>}
      <form
        className="inline-form"
        onSubmit={(e) => {
          e.preventDefault();
          setError(null);
          create.mutate();
        }}
      >
        <Field id="key-name" label="New key name" error={error ?? undefined}>
          <input {...described('key-name', error ?? undefined)} value={name} onChange={(e) => setName(e.target.value)} disabled={!isAdmin} maxLength={200} />
        </Field>
        <button type="submit" className="primary" disabled={!isAdmin || !name.trim()} title={isAdmin ? undefined : ADMIN_ONLY.apiKeys}>
          Create API key
        </button>
      </form>
      {created && <OnceValue label={`API key ${created.name}`} value={created.key} />}
      <table>
        <caption className="sr-only">API keys</caption>
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">Ends with</th>
            <th scope="col">Created</th>
            <th scope="col">Actions</th>
          </tr>
        </thead>
        <tbody>
          <TableState
            columns={4}
            loading={keys.isLoading}
            error={keys.error}
            rows={items.length}
            what="API keys"
            empty="No API keys: services can use one to post events to this project."
            onRetry={() => keys.refetch()}
          />
          {items.map((k) => (
            <tr key={k.id}>
              <td>{k.name}</td>
              <td>
                <code>…{k.hint}</code>
              </td>
              <td>
                <Time iso={k.createdAt} />
              </td>
              <td>
                <span title={isAdmin ? undefined : ADMIN_ONLY.apiKeys}>
                  <ConfirmButton
                    label="Revoke"
                    destructive
                    className="danger small"
                    disabled={!isAdmin}
                    title={`Revoke ${k.name}?`}
                    description={<p>1 API key (…{k.hint}) stops working at once: every service using it gets 401 from now on.</p>}
                    confirmLabel="Revoke key"
                    onConfirm={async () => {
                      await unwrap(api.DELETE('/v1/projects/{key}/api-keys/{id}', { params: { path: { key: projectKey, id: k.id } } }));
                      await queryClient.invalidateQueries({ queryKey: ['project', projectKey, 'api-keys'] });
                    }}
                  />
                </span>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** One IM app as `GET /v1/integrations/im` describes it: the providers and their fields come from the server's channel registry. */
type ImStatus = components['schemas']['ImStatusDto'];
/** The integration as stored, secrets masked. */
type ImIntegration = components['schemas']['ImIntegrationDto'];

function ImIntegrations() {
  const { isAdmin } = useSession();
  const status = useQuery({ queryKey: ['im-status'], queryFn: () => unwrap(api.GET('/v1/integrations/im')) });
  return (
    <div>
      <h2>IM integrations</h2>
      <p>Workspace-wide apps that send direct messages to the people an event mentions. Credentials are write-only: saved values are shown masked.</p>
      {!isAdmin && <Reason>{ADMIN_ONLY.im}</Reason>}
      {status.isLoading && <p role="status">Loading IM apps…</p>}
      {status.error && <p role="alert">Could not load the IM apps: {errorMessage(status.error)}</p>}
      <div className="im-grid">
        {status.data?.items.map((item) => (
          <ImProvider key={item.provider} item={item} name={destination(item.provider).name} admin={isAdmin} />
        ))}
      </div>
    </div>
  );
}

function ImProvider({ item, name, admin }: { item: ImStatus; name: string; admin: boolean }) {
  const queryClient = useQueryClient();
  const provider = item.provider as Provider;
  const configuredAt = item.configured ? item.updatedAt : undefined;
  const [values, setValues] = useState<Record<string, string>>({});
  const [message, setMessage] = useState<string | null>(null);
  const [errors, setErrors] = useState<Record<string, string>>({});
  const stored = useQuery({
    queryKey: ['im', provider],
    queryFn: () =>
      api.GET('/v1/integrations/im/{provider}', { params: { path: { provider } } }).then((r) => (r.response.ok ? (r.data as ImIntegration) : null)),
    enabled: admin && configuredAt !== undefined,
  });
  // The API base is shown as stored until the admin types another; empty means the default.
  const apiBaseUrl = values.apiBaseUrl ?? stored.data?.apiBaseUrl ?? '';
  const save = async () => {
    setMessage(null);
    setErrors({});
    const body: Record<string, string | number | null> = Object.fromEntries(
      item.credentialFields.map((f) => [f.name, f.type === 'integer' && /^\d+$/.test(values[f.name] ?? '') ? Number(values[f.name]) : (values[f.name] ?? '')]),
    );
    body.apiBaseUrl = apiBaseUrl.trim() || null;
    const res = await api.PUT('/v1/integrations/im/{provider}', { params: { path: { provider } }, body: body as never });
    if (res.response.ok) {
      setValues({});
      setMessage('Saved.');
      await queryClient.invalidateQueries({ queryKey: ['im-status'] });
      await queryClient.invalidateQueries({ queryKey: ['im', provider] });
    } else {
      const err = res.error as { message?: string; details?: Array<{ field: string; message: string }> } | undefined;
      setErrors(Object.fromEntries((err?.details ?? []).map((d) => [d.field, d.message])));
      setMessage(err?.message ?? `HTTP ${res.response.status}`);
    }
  };
  const baseId = `im-${provider}-apiBaseUrl`;
  return (
    <section className="panel" aria-labelledby={`im-${provider}`}>
      <h3 id={`im-${provider}`}>
        {name} {configuredAt !== undefined ? <span className="badge badge-good">configured</span> : <span className="badge badge-neutral">not configured</span>}
      </h3>
      {configuredAt && (
        <p className="small-text">
          Saved <Time iso={configuredAt} />
        </p>
      )}
      {stored.data && (
        <dl className="facts">
          {Object.entries(stored.data.settings).map(([k, v]) => (
            <div key={k}>
              <dt>{k}</dt>
              <dd>
                <code>{String(v)}</code>
              </dd>
            </div>
          ))}
          <div>
            <dt>API</dt>
            <dd>
              <code>{stored.data.apiBaseUrl ?? stored.data.defaultApiBaseUrl}</code>
              {stored.data.apiBaseUrl === null && ' (default)'}
            </dd>
          </div>
        </dl>
      )}
      <form
        onSubmit={(e) => {
          e.preventDefault();
          save();
        }}
      >
        {item.credentialFields.map((f) => {
          const id = `im-${provider}-${f.name}`;
          return (
            <Field key={f.name} id={id} label={f.label} error={errors[f.name]}>
              <input
                {...described(id, errors[f.name])}
                type={f.secret ? 'password' : 'text'}
                autoComplete="off"
                disabled={!admin}
                value={values[f.name] ?? ''}
                onChange={(e) => setValues({ ...values, [f.name]: e.target.value })}
              />
            </Field>
          );
        })}
        <Field
          id={baseId}
          label="API base URL (optional)"
          error={errors.apiBaseUrl}
          hint={`For a self-hosted ${name} or a proxy; leave empty for ${stored.data?.defaultApiBaseUrl ?? 'the default API'}.`}
        >
          <input
            {...described(baseId, errors.apiBaseUrl, true)}
            type="url"
            inputMode="url"
            autoComplete="off"
            placeholder={stored.data?.defaultApiBaseUrl}
            disabled={!admin}
            value={apiBaseUrl}
            onChange={(e) => setValues({ ...values, apiBaseUrl: e.target.value })}
          />
        </Field>
        {message && <p role="status">{message}</p>}
        <div className="form-actions">
          <button type="submit" className="primary" disabled={!admin}>
            Save {name}
          </button>
          {configuredAt !== undefined && (
            <ConfirmButton
              label="Remove"
              destructive
              className="danger"
              disabled={!admin}
              title={`Remove the ${name} app?`}
              description={<p>1 IM integration is removed: {name} webhooks with direct messages on fall back to the channel post for everyone.</p>}
              confirmLabel="Remove"
              onConfirm={async () => {
                await unwrap(api.DELETE('/v1/integrations/im/{provider}', { params: { path: { provider } } }));
                await queryClient.invalidateQueries({ queryKey: ['im-status'] });
              }}
            />
          )}
        </div>
      </form>
      {configuredAt !== undefined && admin && <ImTest provider={provider} name={name} />}
    </section>
  );
}

/** Checks the stored app with its provider: a token, then a lookup of one recipient; nobody is messaged. */
function ImTest({ provider, name }: { provider: Provider; name: string }) {
  const [recipient, setRecipient] = useState('');
  const [result, setResult] = useState<{ ok: boolean; message: string } | null>(null);
  const [error, setError] = useState<string | null>(null);
  const id = `im-${provider}-test`;
  return (
    <form
      className="inline-form"
      onSubmit={async (e) => {
        e.preventDefault();
        setResult(null);
        setError(null);
        try {
          setResult(await unwrap(api.POST('/v1/integrations/im/{provider}/test', { params: { path: { provider } }, body: { recipient: recipient.trim() } })));
        } catch (err) {
          setError(errorMessage(err));
        }
      }}
    >
      <Field
        id={id}
        label={provider === 'dingtalk' ? 'Test: look up a mobile number' : 'Test: look up an email'}
        error={error ?? undefined}
        hint="Nobody is messaged: Herald gets a token and looks the person up."
      >
        <input {...described(id, error ?? undefined, true)} value={recipient} onChange={(e) => setRecipient(e.target.value)} />
      </Field>
      <button type="submit" className="secondary" disabled={!recipient.trim()}>
        Test {name}
      </button>
      {result && (
        <p role="status" className={result.ok ? 'notice' : 'warning'}>
          {result.message}
        </p>
      )}
    </form>
  );
}
