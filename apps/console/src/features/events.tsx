import { useInfiniteQuery, useQuery } from '@tanstack/react-query';
import { Link, useNavigate, useParams, useSearchParams } from 'react-router';
import { api, unwrap } from '../api/client';
import { EventTypeFilter, RangeFilter } from '../components/filters';
import { Badge, errorMessage, PageHeader, TableState, Time } from '../components/ui';
import { EVENT_TYPE_LIST, type EventType } from '../lib/catalogue';
import { rfc3339 } from '../lib/format';
import { RANGES, type RangeKey } from './deliveries/filters';
import { useWebhooks } from './webhooks/data';

/** The intake log: events as received, the payload viewer, and the deliveries each fanned out to. */
export default function Events() {
  const { key = '', id } = useParams();
  const [params, setParams] = useSearchParams();
  const navigate = useNavigate();
  const type = EVENT_TYPE_LIST.includes(params.get('type') as EventType) ? (params.get('type') as EventType) : undefined;
  const range = params.get('range') && (params.get('range') as string) in RANGES ? (params.get('range') as RangeKey) : undefined;
  const list = useInfiniteQuery({
    queryKey: ['project', key, 'events', type, range],
    queryFn: ({ pageParam }) =>
      unwrap(
        api.GET('/v1/projects/{key}/events', {
          params: {
            path: { key },
            query: { type, since: range ? rfc3339(new Date(Date.now() - RANGES[range] * 60_000)) : undefined, limit: 50, cursor: pageParam },
          },
        }),
      ),
    initialPageParam: undefined as string | undefined,
    getNextPageParam: (last) => last.nextCursor ?? undefined,
  });
  const rows = list.data?.pages.flatMap((p) => p.items) ?? [];
  const set = (name: string, value: string) => {
    const next = new URLSearchParams(params);
    if (value) next.set(name, value);
    else next.delete(name);
    setParams(next);
  };
  return (
    <section>
      <PageHeader title="Events" />
      <form className="filters" aria-label="Filters" onSubmit={(e) => e.preventDefault()}>
        <EventTypeFilter id="e-type" label="Type" value={type ?? ''} onChange={(v) => set('type', v)} />
        <RangeFilter id="e-range" label="Received" value={range ?? ''} onChange={(v) => set('range', v)} />
      </form>
      <div className="split">
        <table>
          <caption className="sr-only">Events, newest first</caption>
          <thead>
            <tr>
              <th scope="col">Received</th>
              <th scope="col">Type</th>
              <th scope="col">Level</th>
              <th scope="col">Title</th>
              <th scope="col">Source</th>
            </tr>
          </thead>
          <tbody>
            <TableState
              columns={5}
              loading={list.isLoading}
              error={list.error}
              rows={rows.length}
              filtered={Boolean(type || range)}
              what="events"
              empty="No events yet: post one to POST /v1/projects/{key}/events, or through an incoming webhook."
              onRetry={() => list.refetch()}
              onClearFilters={() => setParams({})}
            />
            {rows.map((e) => (
              <tr key={e.id} className={`clickable${id === e.id ? ' selected' : ''}`} onClick={() => navigate(`/p/${key}/events/${e.id}?${params}`)}>
                <td>
                  <Link to={`/p/${key}/events/${e.id}?${params}`}>
                    <Time iso={e.receivedAt} />
                  </Link>
                </td>
                <td>{e.type}</td>
                <td>
                  <Badge value={e.level.toLowerCase()} label={e.level} />
                </td>
                <td>{e.title}</td>
                <td>{e.source}</td>
              </tr>
            ))}
          </tbody>
        </table>
        {id && <EventDetail projectKey={key} id={id} />}
      </div>
      {list.hasNextPage && (
        <button type="button" className="secondary" onClick={() => list.fetchNextPage()} disabled={list.isFetchingNextPage}>
          Load older
        </button>
      )}
    </section>
  );
}

function EventDetail({ projectKey, id }: { projectKey: string; id: string }) {
  const event = useQuery({
    queryKey: ['project', projectKey, 'event', id],
    queryFn: () => unwrap(api.GET('/v1/projects/{key}/events/{id}', { params: { path: { key: projectKey, id } } })),
  });
  const webhooks = useWebhooks(projectKey);
  const names = new Map((webhooks.data ?? []).map((w) => [w.id, w.name]));
  if (event.isLoading) return <p role="status">Loading the event…</p>;
  if (event.error || !event.data) return <p role="alert">Could not load the event: {errorMessage(event.error)}</p>;
  const { deliveries, ...payload } = event.data;
  return (
    <section className="panel detail" aria-labelledby="event-title">
      <h2 id="event-title">{payload.title}</h2>
      <p>
        <code>{payload.type}</code> · received <Time iso={payload.receivedAt} /> · occurred <Time iso={payload.occurredAt} />
      </p>
      <h3>Deliveries ({deliveries.length})</h3>
      <table>
        <caption className="sr-only">Deliveries of this event</caption>
        <thead>
          <tr>
            <th scope="col">Webhook</th>
            <th scope="col">Status</th>
            <th scope="col">Attempts</th>
          </tr>
        </thead>
        <tbody>
          <TableState
            columns={3}
            loading={false}
            error={null}
            rows={deliveries.length}
            what="deliveries"
            empty="None: no enabled webhook subscribed to this type when it was fanned out."
          />
          {deliveries.map((d) => (
            <tr key={d.id}>
              <td>
                <Link to={`/p/${projectKey}/deliveries/${d.id}`}>{names.get(d.webhookId) ?? d.webhookId.slice(0, 8)}</Link>
              </td>
              <td>
                <Badge value={d.status} />
              </td>
              <td>{d.attemptCount}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <h3>Payload</h3>
      <pre className="payload" tabIndex={0} aria-label="Event payload (JSON)">
        {JSON.stringify(payload, null, 2)}
      </pre>
    </section>
  );
}
