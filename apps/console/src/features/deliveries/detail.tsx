import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Link } from 'react-router';
import type { Attempt, DeliveryDetail } from '@herald/sdk';
import { api, unwrap } from '../../api/client';
import { ConfirmButton } from '../../components/confirm';
import { Badge, errorMessage, Time } from '../../components/ui';
import { ms } from '../../lib/format';
import { errorClass } from './filters';

/** One delivery: its fields, every attempt (request headers, response or error class), replay. */
export function DeliveryDetailPanel({
  projectKey,
  id,
  names,
  onClose,
}: {
  projectKey: string;
  id: string;
  names?: Map<string, { name: string }>;
  onClose: () => void;
}) {
  const queryClient = useQueryClient();
  const delivery = useQuery({
    queryKey: ['project', projectKey, 'delivery', id],
    queryFn: () => unwrap(api.GET('/v1/projects/{key}/deliveries/{id}', { params: { path: { key: projectKey, id } } })),
    // Follow a delivery while it is still moving.
    refetchInterval: (q) => (q.state.data && ['pending', 'delivering'].includes(q.state.data.status) ? 2000 : false),
  });
  const requests = useQuery({
    queryKey: ['project', projectKey, 'delivery', id, 'requests', delivery.data?.attemptCount],
    queryFn: () => unwrap(api.GET('/v1/projects/{key}/deliveries/{id}/requests', { params: { path: { key: projectKey, id } } })),
    enabled: Boolean(delivery.data?.attemptCount),
  });
  const replay = useMutation({
    mutationFn: () => unwrap(api.POST('/v1/projects/{key}/deliveries/{id}/replay', { params: { path: { key: projectKey, id } } })),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: ['project', projectKey] }),
  });
  const d = delivery.data;
  return (
    <section className="panel detail" aria-labelledby="delivery-title">
      <div className="page-header">
        <h2 id="delivery-title">Delivery {id.slice(0, 8)}…</h2>
        <button type="button" className="secondary small" onClick={onClose}>
          Close
        </button>
      </div>
      {delivery.isLoading && <p role="status">Loading the delivery…</p>}
      {delivery.error && <p role="alert">Could not load the delivery: {errorMessage(delivery.error)}</p>}
      {d && (
        <>
          <dl className="facts">
            <dt>Status</dt>
            <dd>
              <Badge value={d.status} />{' '}
              {d.nextAttemptAt && (
                <span className="small-text">
                  next attempt <Time iso={d.nextAttemptAt} />
                </span>
              )}
            </dd>
            <dt>Delivery id (webhook-id)</dt>
            <dd>
              <code>{d.id}</code>
            </dd>
            <dt>Event</dt>
            <dd>
              <Link to={`/p/${projectKey}/events/${d.eventId}`}>{d.eventType}</Link>
            </dd>
            <dt>Webhook</dt>
            <dd>
              <Link to={`/p/${projectKey}/webhooks/${d.webhookId}`}>{names?.get(d.webhookId)?.name ?? d.webhookId}</Link>
            </dd>
            <dt>Created</dt>
            <dd>
              <Time iso={d.createdAt} />
            </dd>
            <dt>Delivered</dt>
            <dd>
              <Time iso={d.deliveredAt} fallback="not yet" />
            </dd>
          </dl>
          <div className="actions">
            <ConfirmButton
              label="Replay"
              title="Replay this delivery?"
              description={
                <p>
                  1 delivery is sent again as a new attempt chain, with the same delivery id (<code>webhook-id</code>), so a receiver that deduplicates by it
                  will see it as the same message.
                </p>
              }
              confirmLabel="Replay 1 delivery"
              disabled={['pending', 'delivering'].includes(d.status)}
              onConfirm={() => replay.mutateAsync()}
            />
            {['pending', 'delivering'].includes(d.status) && <span className="hint">Replay is possible once it has finished.</span>}
            {replay.data && <span role="status">Queued: attempt chain {replay.data.replay + 1}.</span>}
          </div>
          <h3>Attempts ({d.attempts.length})</h3>
          {d.attempts.length === 0 && <p>No attempt yet.</p>}
          <ol className="attempts">
            {d.attempts.map((a, i) => (
              <AttemptItem
                key={a.number}
                attempt={a}
                next={d.attempts[i + 1]}
                delivery={d}
                headers={requests.data?.items.find((r) => r.number === a.number)?.headers}
              />
            ))}
          </ol>
          {requests.data && d.attempts.length > 0 && <p className="hint">{requests.data.note}</p>}
        </>
      )}
    </section>
  );
}

function AttemptItem({
  attempt: a,
  next,
  delivery,
  headers,
}: {
  attempt: Attempt;
  next?: Attempt;
  delivery: DeliveryDetail;
  headers?: Record<string, string>;
}) {
  const cls = errorClass(a);
  const waited = a.outcome === 'rate_limited' ? (next ? Math.round((Date.parse(next.startedAt) - Date.parse(a.startedAt) - a.durationMs) / 1000) : null) : null;
  return (
    <li className="attempt">
      <div className="attempt-head">
        <strong>#{a.number}</strong> <Time iso={a.startedAt} /> · {ms(a.durationMs)} · <Badge value={a.outcome} />{' '}
        {a.statusCode !== null && <code>HTTP {a.statusCode}</code>}
        {cls && <span className="error-class"> {cls}</span>}
        {a.outcome === 'rate_limited' &&
          (waited !== null ? (
            <span className="small-text"> · waited {waited} s (Retry-After)</span>
          ) : delivery.nextAttemptAt ? (
            <span className="small-text">
              {' '}
              · Retry-After: waits until <Time iso={delivery.nextAttemptAt} />
            </span>
          ) : null)}
      </div>
      {a.error && <p className="attempt-error">{a.error}</p>}
      <details>
        <summary>Request headers</summary>
        {headers ? (
          <table className="headers">
            <caption className="sr-only">Request headers of attempt {a.number}</caption>
            <tbody>
              {Object.entries(headers).map(([name, value]) => (
                <tr key={name}>
                  <th scope="row">{name}</th>
                  <td>
                    <code>{value}</code>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        ) : (
          <p>Loading…</p>
        )}
      </details>
      <details>
        <summary>Response body (first 1 KiB)</summary>
        <pre className="excerpt">{a.responseBody ?? '(none)'}</pre>
      </details>
    </li>
  );
}
