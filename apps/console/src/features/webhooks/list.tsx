import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Link, useParams, useSearchParams } from 'react-router';
import type { Webhook } from '@herald/sdk';
import { api, unwrap } from '../../api/client';
import { ConfirmButton } from '../../components/confirm';
import { Badge, PageHeader, TableState, Time } from '../../components/ui';
import { EVENT_TYPES, type EventType } from '../../lib/catalogue';
import { percent } from '../../lib/format';
import { useWebhooks } from './data';
import { destination } from './destinations';

export function TypeMark({ type }: { type: string }) {
  const d = destination(type);
  return (
    <span className="type-mark" style={{ background: d.colour }} title={d.name} aria-label={d.name} role="img">
      {d.mark}
    </span>
  );
}

export default function Webhooks() {
  const { key = '' } = useParams();
  const [params, setParams] = useSearchParams();
  const status = params.get('status');
  const webhooks = useWebhooks(key);
  const stats = useQuery({
    queryKey: ['project', key, 'stats', 'webhooks'],
    queryFn: () => unwrap(api.GET('/v1/projects/{key}/stats/webhooks', { params: { path: { key } } })),
    refetchInterval: 30_000,
  });
  const byId = new Map(stats.data?.items.map((s) => [s.webhookId, s]));
  const all = webhooks.data ?? [];
  const items = status ? all.filter((w) => w.status === status) : all;
  return (
    <section>
      <PageHeader title="Webhooks">
        <Link className="button primary" to={`/p/${key}/webhooks/new`}>
          New webhook
        </Link>
      </PageHeader>
      <div className="filters">
        <label htmlFor="webhook-status">Status</label>
        <select id="webhook-status" value={status ?? ''} onChange={(e) => setParams(e.target.value ? { status: e.target.value } : {})}>
          <option value="">All</option>
          <option value="active">Active</option>
          <option value="disabled">Disabled</option>
        </select>
      </div>
      <table>
        <caption className="sr-only">Outgoing webhooks</caption>
        <thead>
          <tr>
            <th scope="col">Type</th>
            <th scope="col">Name</th>
            <th scope="col">URL</th>
            <th scope="col">Events</th>
            <th scope="col">Status</th>
            <th scope="col">Failure rate (24 h)</th>
            <th scope="col">Last delivery</th>
            <th scope="col">Actions</th>
          </tr>
        </thead>
        <tbody>
          <TableState
            columns={8}
            loading={webhooks.isLoading}
            error={webhooks.error}
            rows={items.length}
            filtered={Boolean(status) && all.length > 0}
            what="webhooks"
            empty={
              <>
                No webhooks yet. <Link to={`/p/${key}/webhooks/new`}>Create one</Link> to send this project's events to Slack, Teams, your own endpoint…
              </>
            }
            onRetry={() => webhooks.refetch()}
            onClearFilters={() => setParams({})}
          />
          {items.map((w) => (
            <WebhookRow key={w.id} projectKey={key} webhook={w} stats={byId.get(w.id)} />
          ))}
        </tbody>
      </table>
    </section>
  );
}

function WebhookRow({
  projectKey,
  webhook: w,
  stats,
}: {
  projectKey: string;
  webhook: Webhook;
  stats?: { failureRate: number | null; deliveries: number; failed: number; lastDeliveryAt: string | null; lastDeliveryStatus: string | null };
}) {
  const queryClient = useQueryClient();
  const setEnabled = useMutation({
    mutationFn: (enabled: boolean) =>
      unwrap(api.PATCH('/v1/projects/{key}/webhooks/{id}', { params: { path: { key: projectKey, id: w.id } }, body: { enabled } })),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: ['project', projectKey] }),
  });
  return (
    <tr>
      <td>
        <TypeMark type={w.type} />
      </td>
      <td>
        <Link to={`/p/${projectKey}/webhooks/${w.id}`}>{w.name}</Link>
      </td>
      <td>
        <code className="masked">{w.urlMasked}</code>
      </td>
      <td>
        <ul className="chips" aria-label="Events">
          {w.events.map((e) => (
            <li key={e} className="chip" title={e}>
              {EVENT_TYPES[e as EventType]?.label ?? e}
            </li>
          ))}
        </ul>
      </td>
      <td>
        <Badge value={w.status} />
        {w.status === 'disabled' && (
          <div className="small-text">
            {w.disabledReason} {w.disabledAt && <Time iso={w.disabledAt} />}
            <div>
              <ConfirmButton
                label="Re-enable"
                className="secondary small"
                title={`Re-enable ${w.name}?`}
                description={<p>New events are delivered to it again. Its failed and dead deliveries stay as they are: replay them from Deliveries.</p>}
                confirmLabel="Re-enable"
                onConfirm={() => setEnabled.mutateAsync(true)}
              />
            </div>
          </div>
        )}
      </td>
      <td>
        {stats ? (
          <span title={`${stats.failed} of ${stats.deliveries} deliveries failed in the last 24 hours`}>
            {percent(stats.failureRate)} <span className="small-text">({stats.deliveries})</span>
          </span>
        ) : (
          '—'
        )}
      </td>
      <td>
        {stats?.lastDeliveryAt ? (
          <>
            <Time iso={stats.lastDeliveryAt} /> {stats.lastDeliveryStatus && <Badge value={stats.lastDeliveryStatus} />}
          </>
        ) : (
          'never'
        )}
      </td>
      <td className="row-actions">
        <Link className="button secondary small" to={`/p/${projectKey}/deliveries?webhookId=${w.id}`}>
          Deliveries
        </Link>
        {w.status === 'active' && (
          <ConfirmButton
            label="Disable"
            className="secondary small"
            title={`Disable ${w.name}?`}
            description={
              <p>1 webhook stops receiving events until it is re-enabled. Deliveries already queued for it end failed (replayable after re-enabling).</p>
            }
            confirmLabel="Disable"
            onConfirm={() => setEnabled.mutateAsync(false)}
          />
        )}
        <ConfirmButton
          label="Delete"
          destructive
          className="danger small"
          title={`Delete webhook ${w.name}?`}
          description={<p>This deletes 1 webhook: it receives nothing more, and its deliveries can no longer be replayed.</p>}
          confirmLabel="Delete webhook"
          onConfirm={async () => {
            await unwrap(api.DELETE('/v1/projects/{key}/webhooks/{id}', { params: { path: { key: projectKey, id: w.id } } }));
            await queryClient.invalidateQueries({ queryKey: ['project', projectKey] });
          }}
        />
      </td>
    </tr>
  );
}
