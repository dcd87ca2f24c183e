import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { useParams } from 'react-router';
import type { components, Connection, ConnectionWithKey } from '@herald/sdk';
import { api, unwrap } from '../api/client';
import { ConfirmButton } from '../components/confirm';
import { RenameButton } from '../components/rename';
import { CopyButton, described, errorMessage, Field, OnceValue, PageHeader, TableState, Time } from '../components/ui';

type Route = 'deployments' | 'issues' | 'closeIssue' | 'pullRequests';
const ROUTES: Array<[Route, string]> = [
  ['deployments', 'Deployments'],
  ['issues', 'Issues and incidents'],
  ['closeIssue', 'Close an issue'],
  ['pullRequests', 'Pull requests'],
];
type Stats = components['schemas']['ConnectionStatsDto'];

/** DevLake-compatible incoming webhooks: one click gives the key (once), the endpoints and ready-to-paste curl commands. */
export default function Connections() {
  const { key = '' } = useParams();
  const queryClient = useQueryClient();
  const [name, setName] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [fresh, setFresh] = useState<ConnectionWithKey | null>(null);
  const list = useQuery({
    queryKey: ['project', key, 'connections'],
    queryFn: () => unwrap(api.GET('/v1/projects/{key}/connections', { params: { path: { key }, query: { limit: 100 } } })),
  });
  const stats = useQuery({
    queryKey: ['project', key, 'stats', 'connections'],
    queryFn: () => unwrap(api.GET('/v1/projects/{key}/stats/connections', { params: { path: { key } } })),
    refetchInterval: 10_000,
  });
  const byId = new Map(stats.data?.items.map((s) => [s.connectionId, s]));
  const create = useMutation({
    mutationFn: (n: string) => unwrap(api.POST('/v1/projects/{key}/connections', { params: { path: { key } }, body: { name: n } })),
    onSuccess: (c) => (setFresh(c), setName(''), queryClient.invalidateQueries({ queryKey: ['project', key] })),
    onError: (err) => setError(errorMessage(err)),
  });
  const items = list.data?.items ?? [];
  return (
    <section>
      <PageHeader title="Incoming webhooks" />
      <p>DevLake-compatible endpoints: CI/CD and incident tools post deployments, incidents and pull requests here, and the DORA page computes from them.</p>
      <form
        className="inline-form"
        onSubmit={(e) => {
          e.preventDefault();
          setError(null);
          create.mutate(name.trim());
        }}
      >
        <Field id="conn-name" label="New incoming webhook name" error={error ?? undefined} hint="Unique across Herald; used in connections/by-name/… URLs.">
          <input {...described('conn-name', error ?? undefined, true)} value={name} onChange={(e) => setName(e.target.value)} required maxLength={100} />
        </Field>
        <button type="submit" className="primary" disabled={!name.trim() || create.isPending}>
          Create incoming webhook
        </button>
      </form>
      {fresh && <KeyAndCommands connection={fresh} onDone={() => setFresh(null)} />}
      <table>
        <caption className="sr-only">Incoming webhooks</caption>
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">Endpoints</th>
            <th scope="col">Last received</th>
            <th scope="col">Received</th>
            <th scope="col">Actions</th>
          </tr>
        </thead>
        <tbody>
          <TableState
            columns={5}
            loading={list.isLoading}
            error={list.error}
            rows={items.length}
            what="incoming webhooks"
            empty="No incoming webhooks yet: create one above to get its URLs and curl commands."
            onRetry={() => list.refetch()}
          />
          {items.map((c) => (
            <ConnectionRow key={c.id} projectKey={key} connection={c} stats={byId.get(c.id)} onRotated={setFresh} />
          ))}
        </tbody>
      </table>
    </section>
  );
}

function ConnectionRow({
  projectKey,
  connection: c,
  stats,
  onRotated,
}: {
  projectKey: string;
  connection: Connection;
  stats?: Stats;
  onRotated: (c: ConnectionWithKey) => void;
}) {
  const queryClient = useQueryClient();
  const [sample, setSample] = useState<{ route: Route; status: number; response: unknown } | { route: Route; error: string } | null>(null);
  const send = async (route: Route) => {
    try {
      const r = await unwrap(
        api.POST('/v1/projects/{key}/connections/{id}/samples/{route}', { params: { path: { key: projectKey, id: String(c.id), route } } }),
      );
      setSample({ route, status: r.status, response: r.response });
      await queryClient.invalidateQueries({ queryKey: ['project', projectKey, 'stats'] });
    } catch (err) {
      setSample({ route, error: errorMessage(err) });
    }
  };
  const posted = stats ? stats.deployments + stats.issues + stats.pullRequests : 0;
  return (
    <tr>
      <td>
        <strong>{c.name}</strong>
        <div className="small-text">
          id {c.id} · key …{c.keyHint} · created <Time iso={c.createdAt} />
        </div>
      </td>
      <td>
        <ul className="endpoints">
          {ROUTES.map(([route, label]) => (
            <li key={route}>
              <span className="small-text">{label}</span> <code>{c.endpoints[route]}</code> <CopyButton text={c.endpoints[route]} label="Copy URL" />{' '}
              <button type="button" className="secondary small" onClick={() => send(route)} aria-label={`Send sample to ${label} of ${c.name}`}>
                Send sample
              </button>
            </li>
          ))}
        </ul>
        {sample && (
          <div role="status" className="sample-result">
            {'error' in sample ? (
              <span className="error">
                Sample to {sample.route} not sent: {sample.error}
              </span>
            ) : (
              <>
                Sample to {sample.route}: HTTP {sample.status} <code>{JSON.stringify(sample.response)}</code>
              </>
            )}
          </div>
        )}
      </td>
      <td>
        <Time iso={stats?.lastReceivedAt} fallback="never" />
      </td>
      <td>
        {stats ? (
          <span className="small-text">
            {stats.deployments} deployments · {stats.issues} issues ({stats.incidents} incidents) · {stats.pullRequests} pull requests
          </span>
        ) : (
          '—'
        )}
      </td>
      <td className="row-actions">
        <RenameButton
          id={`conn-${c.id}`}
          title={`Rename ${c.name}`}
          description="Names are unique across Herald and appear in connections/by-name/… URLs: tools posting to the old name's URLs must switch."
          current={c.name}
          maxLength={100}
          onRename={async (name) => {
            await unwrap(api.PATCH('/v1/projects/{key}/connections/{id}', { params: { path: { key: projectKey, id: String(c.id) } }, body: { name } }));
            await queryClient.invalidateQueries({ queryKey: ['project', projectKey, 'connections'] });
          }}
        />
        <ConfirmButton
          label="Regenerate key"
          className="secondary small"
          title={`Regenerate the key of ${c.name}?`}
          description={
            <p>1 connection gets a new key now. The current key (…{c.keyHint}) stops working at once: every tool posting with it must switch to the new one.</p>
          }
          confirmLabel="Regenerate key"
          onConfirm={async () =>
            onRotated(await unwrap(api.POST('/v1/projects/{key}/connections/{id}/rotate-key', { params: { path: { key: projectKey, id: String(c.id) } } })))
          }
        />
        <ConfirmButton
          label="Revoke"
          destructive
          className="danger small"
          title={`Revoke ${c.name}?`}
          description={
            <p>
              1 connection is deleted with its key, and with what was posted through it:{' '}
              {stats ? `${stats.deployments} deployments, ${stats.issues} issues and ${stats.pullRequests} pull requests` : `${posted} records`}, which DORA
              stops counting. It cannot be undone.
            </p>
          }
          confirmLabel="Revoke and delete"
          onConfirm={async () => {
            await unwrap(api.DELETE('/v1/projects/{key}/connections/{id}', { params: { path: { key: projectKey, id: String(c.id) } } }));
            await queryClient.invalidateQueries({ queryKey: ['project', projectKey] });
          }}
        />
      </td>
    </tr>
  );
}

/** The key (once) and the generated curl commands, exactly as the API built them on HERALD_PUBLIC_URL. */
function KeyAndCommands({ connection, onDone }: { connection: ConnectionWithKey; onDone: () => void }) {
  return (
    <section className="panel" aria-labelledby="fresh-title">
      <h2 id="fresh-title">{connection.name}: key and commands</h2>
      <OnceValue label="Connection key" value={connection.apiKey} />
      <p>Ready to paste (the key is in them; they are not shown again either):</p>
      {ROUTES.map(([route, label]) => (
        <div key={route} className="curl">
          <h3>{label}</h3>
          <pre data-testid={`curl-${route}`} tabIndex={0}>
            {connection.curl[route]}
          </pre>
          <CopyButton text={connection.curl[route]} label={`Copy ${label} command`} />
        </div>
      ))}
      <button type="button" className="secondary" onClick={onDone}>
        I have copied them
      </button>
    </section>
  );
}
