import * as Dialog from '@radix-ui/react-dialog';
import * as Switch from '@radix-ui/react-switch';
import { useInfiniteQuery, useQueryClient } from '@tanstack/react-query';
import { useVirtualizer } from '@tanstack/react-virtual';
import { useMemo, useRef, useState } from 'react';
import { useNavigate, useParams, useSearchParams } from 'react-router';
import { HeraldApiError, type Delivery, type Webhook } from '@herald/sdk';
import { api, unwrap } from '../../api/client';
import { Badge, described, errorMessage, Field, PageHeader, TableState, Time } from '../../components/ui';
import { ConfirmButton } from '../../components/confirm';
import { EventTypeFilter, RangeFilter } from '../../components/filters';
import { DELIVERY_STATUSES } from '../../lib/catalogue';
import { rfc3339 } from '../../lib/format';
import { useWebhooks } from '../webhooks/data';
import { DeliveryDetailPanel } from './detail';
import { filtersToParams, isFiltered, isUuid, parseFilters, toListQuery, withFilter, type DeliveryFilters } from './filters';

const ROW_HEIGHT = 41;

export default function Deliveries() {
  const { key = '', id } = useParams();
  const [params, setParams] = useSearchParams();
  const navigate = useNavigate();
  const filters = parseFilters(params);
  const [tail, setTail] = useState(false);
  const webhooks = useWebhooks(key);
  const names = useMemo(() => new Map((webhooks.data ?? []).map((w) => [w.id, w])), [webhooks.data]);
  const list = useInfiniteQuery({
    // The preset, not its computed `since`, keys the cache: the list does not reset every second.
    queryKey: ['project', key, 'deliveries', filters],
    queryFn: ({ pageParam }) =>
      unwrap(
        api.GET('/v1/projects/{key}/deliveries', { params: { path: { key }, query: { ...toListQuery(filters, new Date()), limit: 100, cursor: pageParam } } }),
      ),
    initialPageParam: undefined as string | undefined,
    getNextPageParam: (last) => last.nextCursor ?? undefined,
    // Tail: only the newest page, refreshed every 2 s.
    refetchInterval: tail ? 2000 : false,
    maxPages: tail ? 1 : undefined,
  });
  const rows = useMemo(() => list.data?.pages.flatMap((p) => p.items) ?? [], [list.data]);
  const setFilters = (f: DeliveryFilters) => setParams(filtersToParams(f));
  const detailPath = (deliveryId: string) => `/p/${key}/deliveries/${deliveryId}${params.size ? `?${params}` : ''}`;
  const selected = filters.webhookId ? names.get(filters.webhookId) : undefined;

  return (
    <section>
      <PageHeader title="Deliveries">
        <RecoverDialog projectKey={key} webhooks={webhooks.data ?? []} initialWebhookId={filters.webhookId} />
      </PageHeader>
      <form className="filters" aria-label="Filters" onSubmit={(e) => e.preventDefault()}>
        <div className="filter">
          <label htmlFor="f-status">Status</label>
          <select id="f-status" value={filters.status ?? ''} onChange={(e) => setFilters(withFilter(filters, { status: e.target.value }))}>
            <option value="">Any</option>
            {DELIVERY_STATUSES.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        </div>
        <div className="filter">
          <label htmlFor="f-webhook">Webhook</label>
          <select id="f-webhook" value={filters.webhookId ?? ''} onChange={(e) => setFilters(withFilter(filters, { webhookId: e.target.value }))}>
            <option value="">Any</option>
            {(webhooks.data ?? []).map((w) => (
              <option key={w.id} value={w.id}>
                {w.name}
              </option>
            ))}
          </select>
        </div>
        <EventTypeFilter id="f-event" label="Event type" value={filters.eventType ?? ''} onChange={(v) => setFilters(withFilter(filters, { eventType: v }))} />
        <RangeFilter id="f-range" label="Created" value={filters.range ?? ''} onChange={(v) => setFilters(withFilter(filters, { range: v }))} />
        <IdSearch projectKey={key} onFound={(path) => navigate(path)} />
        <div className="filter switch-row">
          <Switch.Root id="f-tail" className="switch" checked={tail} onCheckedChange={setTail}>
            <Switch.Thumb className="switch-thumb" />
          </Switch.Root>
          <label htmlFor="f-tail">Tail (newest, every 2 s)</label>
        </div>
      </form>
      {selected?.status === 'disabled' && <DisabledBanner projectKey={key} webhook={selected} />}
      <div className="split">
        <DeliveryTable
          rows={rows}
          names={names}
          loading={list.isLoading}
          error={list.error}
          filtered={isFiltered(filters)}
          onRetry={() => list.refetch()}
          onClear={() => setFilters({})}
          onOpen={(d) => navigate(detailPath(d))}
          selectedId={id}
          hrefOf={detailPath}
        />
        {id && (
          <DeliveryDetailPanel projectKey={key} id={id} names={names} onClose={() => navigate(`/p/${key}/deliveries${params.size ? `?${params}` : ''}`)} />
        )}
      </div>
      <div className="pager">
        <span role="status">
          {rows.length} {rows.length === 1 ? 'delivery' : 'deliveries'} shown{list.hasNextPage ? ', more on older pages' : ''}
        </span>
        {list.hasNextPage && !tail && (
          <button type="button" className="secondary" onClick={() => list.fetchNextPage()} disabled={list.isFetchingNextPage}>
            {list.isFetchingNextPage ? 'Loading…' : 'Load older'}
          </button>
        )}
      </div>
    </section>
  );
}

/** The list, virtualised: only the rows in view are in the DOM, so 10 000 rows scroll smoothly. */
export function DeliveryTable(props: {
  rows: Delivery[];
  names: Map<string, Webhook>;
  loading: boolean;
  error: unknown;
  filtered: boolean;
  selectedId?: string;
  onRetry: () => void;
  onClear: () => void;
  onOpen: (id: string) => void;
  hrefOf: (id: string) => string;
}) {
  const scroller = useRef<HTMLDivElement>(null);
  const virtual = useVirtualizer({
    count: props.rows.length,
    getScrollElement: () => scroller.current,
    estimateSize: () => ROW_HEIGHT,
    overscan: 12,
    initialRect: { width: 1000, height: 600 },
  });
  const items = virtual.getVirtualItems();
  const top = items[0]?.start ?? 0;
  const bottom = virtual.getTotalSize() - (items[items.length - 1]?.end ?? 0);
  return (
    <div className="scroller" ref={scroller} tabIndex={0} aria-label="Deliveries list" role="region" data-testid="deliveries-scroller">
      <table aria-rowcount={props.rows.length + 1}>
        <caption className="sr-only">Deliveries, newest first</caption>
        <thead>
          <tr>
            <th scope="col">Created</th>
            <th scope="col">Status</th>
            <th scope="col">Event type</th>
            <th scope="col">Webhook</th>
            <th scope="col">Attempts</th>
            <th scope="col">Last error</th>
          </tr>
        </thead>
        <tbody>
          <TableState
            columns={6}
            loading={props.loading}
            error={props.error}
            rows={props.rows.length}
            filtered={props.filtered}
            what="deliveries"
            empty="No deliveries yet: they appear when an event matches a webhook."
            onRetry={props.onRetry}
            onClearFilters={props.onClear}
          />
          {top > 0 && <tr aria-hidden="true" style={{ height: top }} />}
          {items.map((item) => {
            const d = props.rows[item.index];
            return (
              <tr
                key={d.id}
                aria-rowindex={item.index + 2}
                className={`clickable${props.selectedId === d.id ? ' selected' : ''}`}
                style={{ height: ROW_HEIGHT }}
                onClick={() => props.onOpen(d.id)}
                data-testid="delivery-row"
              >
                <td>
                  <a href={`/console${props.hrefOf(d.id)}`} onClick={(e) => (e.preventDefault(), props.onOpen(d.id))}>
                    <Time iso={d.createdAt} />
                  </a>
                </td>
                <td>
                  <Badge value={d.status} />
                </td>
                <td>{d.eventType}</td>
                <td>{props.names.get(d.webhookId)?.name ?? d.webhookId.slice(0, 8)}</td>
                <td>{d.attemptCount}</td>
                <td className="truncate" title={d.lastError ?? undefined}>
                  {d.lastError ?? ''}
                </td>
              </tr>
            );
          })}
          {bottom > 0 && <tr aria-hidden="true" style={{ height: bottom }} />}
        </tbody>
      </table>
    </div>
  );
}

/** A delivery id opens it; an event id opens the event with its deliveries. */
function IdSearch({ projectKey, onFound }: { projectKey: string; onFound: (path: string) => void }) {
  const [text, setText] = useState('');
  const [error, setError] = useState<string | null>(null);
  const search = async () => {
    const id = text.trim().toLowerCase();
    setError(null);
    if (!isUuid(id)) return setError('Paste a delivery or event id (a UUID).');
    try {
      await unwrap(api.GET('/v1/projects/{key}/deliveries/{id}', { params: { path: { key: projectKey, id } } }));
      return onFound(`/p/${projectKey}/deliveries/${id}`);
    } catch (err) {
      if (!(err instanceof HeraldApiError && err.status === 404)) return setError(errorMessage(err));
    }
    try {
      await unwrap(api.GET('/v1/projects/{key}/events/{id}', { params: { path: { key: projectKey, id } } }));
      return onFound(`/p/${projectKey}/events/${id}`);
    } catch {
      setError('No delivery or event of this project has that id.');
    }
  };
  return (
    <div className="filter">
      <label htmlFor="f-id">Delivery or event id</label>
      <div className="inline">
        <input
          id="f-id"
          value={text}
          onChange={(e) => setText(e.target.value)}
          onKeyDown={(e) => e.key === 'Enter' && (e.preventDefault(), search())}
          aria-describedby={error ? 'f-id-error' : undefined}
          aria-invalid={error ? true : undefined}
        />
        <button type="button" className="secondary small" onClick={search}>
          Find
        </button>
      </div>
      {error && (
        <span className="error" id="f-id-error" role="alert">
          {error}
        </span>
      )}
    </div>
  );
}

function DisabledBanner({ projectKey, webhook }: { projectKey: string; webhook: Webhook }) {
  const queryClient = useQueryClient();
  return (
    <div className="warning" role="status">
      <strong>{webhook.name}</strong> is disabled{webhook.disabledReason ? `: ${webhook.disabledReason}` : ''}. It receives nothing, and its deliveries cannot
      be replayed, until it is re-enabled.{' '}
      <ConfirmButton
        label="Re-enable webhook"
        className="secondary small"
        title={`Re-enable ${webhook.name}?`}
        description={<p>1 webhook is enabled again: new events reach it. Then replay or recover its failed deliveries.</p>}
        confirmLabel="Re-enable"
        onConfirm={async () => {
          await unwrap(api.PATCH('/v1/projects/{key}/webhooks/{id}', { params: { path: { key: projectKey, id: webhook.id } }, body: { enabled: true } }));
          await queryClient.invalidateQueries({ queryKey: ['project', projectKey] });
        }}
      />
    </div>
  );
}

const localInput = (date: Date) => new Date(date.getTime() - date.getTimezoneOffset() * 60_000).toISOString().slice(0, 16);

/** "Recover failed since …": counts first (GET .../stats/recoverable), then confirms with that count. */
function RecoverDialog({ projectKey, webhooks, initialWebhookId }: { projectKey: string; webhooks: Webhook[]; initialWebhookId?: string }) {
  const queryClient = useQueryClient();
  const [open, setOpen] = useState(false);
  const [webhookId, setWebhookId] = useState(initialWebhookId ?? '');
  const [since, setSince] = useState(() => localInput(new Date(Date.now() - 24 * 3600_000)));
  const [count, setCount] = useState<{ count: number; since: string; until: string } | null>(null);
  const [done, setDone] = useState<number | null>(null);
  const [error, setError] = useState<string | null>(null);
  const webhook = webhooks.find((w) => w.id === webhookId);
  const reset = () => (setCount(null), setDone(null), setError(null));
  const countNow = async () => {
    reset();
    if (!webhookId) return setError('Choose the webhook whose deliveries to recover.');
    try {
      setCount(
        await unwrap(
          api.GET('/v1/projects/{key}/stats/recoverable', { params: { path: { key: projectKey }, query: { webhookId, since: rfc3339(new Date(since)) } } }),
        ),
      );
    } catch (err) {
      setError(errorMessage(err));
    }
  };
  return (
    <Dialog.Root open={open} onOpenChange={(o) => (setOpen(o), reset(), setWebhookId(initialWebhookId ?? ''))}>
      <Dialog.Trigger asChild>
        <button type="button" className="secondary">
          Recover failed since…
        </button>
      </Dialog.Trigger>
      <Dialog.Portal>
        <Dialog.Overlay className="overlay" />
        <Dialog.Content className="dialog">
          <Dialog.Title>Recover failed deliveries</Dialog.Title>
          <Dialog.Description>Replays every failed or dead delivery of one webhook created since a time. You see how many first.</Dialog.Description>
          <Field id="recover-webhook" label="Webhook">
            <select {...described('recover-webhook')} value={webhookId} onChange={(e) => (setWebhookId(e.target.value), reset())}>
              <option value="">Choose…</option>
              {webhooks.map((w) => (
                <option key={w.id} value={w.id}>
                  {w.name}
                  {w.status === 'disabled' ? ' (disabled)' : ''}
                </option>
              ))}
            </select>
          </Field>
          <Field id="recover-since" label="Created since (your time zone)">
            <input {...described('recover-since')} type="datetime-local" value={since} onChange={(e) => (setSince(e.target.value), reset())} />
          </Field>
          {webhook?.status === 'disabled' && (
            <p className="warning">This webhook is disabled: re-enable it first, or the recovered deliveries would fail again.</p>
          )}
          {error && (
            <p className="error" role="alert">
              {error}
            </p>
          )}
          {count && done === null && (
            <p role="status" className="notice">
              {count.count === 0
                ? 'No failed or dead delivery of this webhook in that window: nothing to recover.'
                : `${count.count} failed or dead ${count.count === 1 ? 'delivery' : 'deliveries'} of ${webhook?.name} created since ${new Date(count.since).toLocaleString()} will be sent again, each as a new attempt chain.`}
            </p>
          )}
          {done !== null && (
            <p role="status" className="notice">
              Queued {done} {done === 1 ? 'delivery' : 'deliveries'}.
            </p>
          )}
          <div className="dialog-actions">
            <Dialog.Close asChild>
              <button type="button" className="secondary">
                {done !== null ? 'Close' : 'Cancel'}
              </button>
            </Dialog.Close>
            {!count || done !== null ? (
              <button type="button" className="primary" onClick={countNow} disabled={done !== null}>
                Count deliveries
              </button>
            ) : (
              <button
                type="button"
                className="primary"
                disabled={count.count === 0}
                onClick={async () => {
                  try {
                    const result = await unwrap(
                      api.POST('/v1/projects/{key}/webhooks/{id}/recover', {
                        params: { path: { key: projectKey, id: webhookId } },
                        body: { since: count.since, until: count.until },
                      }),
                    );
                    setDone(result.queued);
                    await queryClient.invalidateQueries({ queryKey: ['project', projectKey] });
                  } catch (err) {
                    setError(errorMessage(err));
                  }
                }}
              >
                Replay {count.count} {count.count === 1 ? 'delivery' : 'deliveries'}
              </button>
            )}
          </div>
        </Dialog.Content>
      </Dialog.Portal>
    </Dialog.Root>
  );
}
