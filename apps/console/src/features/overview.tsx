import { useQuery } from '@tanstack/react-query';
import { Link, useParams } from 'react-router';
import { CartesianGrid, Legend, Line, LineChart, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import { api, unwrap } from '../api/client';
import { errorMessage, PageHeader } from '../components/ui';
import { ms, percent } from '../lib/format';

/** The project at a glance (last hour); each figure links to the list it counts. */
export default function Overview() {
  const { key = '' } = useParams();
  const overview = useQuery({
    queryKey: ['project', key, 'stats', 'overview'],
    queryFn: () => unwrap(api.GET('/v1/projects/{key}/stats/overview', { params: { path: { key }, query: { minutes: 60 } } })),
    refetchInterval: 10_000,
  });
  const o = overview.data;
  const time = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });
  return (
    <section>
      <PageHeader title="Overview" />
      {overview.isLoading && <p role="status">Loading…</p>}
      {overview.error && <p role="alert">Could not load the overview: {errorMessage(overview.error)}</p>}
      {o && (
        <>
          <div className="tiles">
            <Figure label="Accepted (last hour)" value={String(o.accepted)} to={`/p/${key}/events?range=1h`} />
            <Figure label="Delivered (last hour)" value={String(o.delivered)} to={`/p/${key}/deliveries?status=succeeded&range=1h`} />
            <Figure
              label="Success rate (last hour)"
              value={percent(o.successRate)}
              to={`/p/${key}/deliveries?status=failed&range=1h`}
              note={`${o.failed} failed or dead`}
            />
            <Figure label="p95 latency, accepted → delivered" value={ms(o.p95LatencyMs)} to={`/p/${key}/deliveries?status=succeeded&range=1h`} />
            <Figure label="Backlog (pending now)" value={String(o.backlog)} to={`/p/${key}/deliveries?status=pending`} />
            <Figure label="Dead deliveries" value={String(o.dead)} to={`/p/${key}/deliveries?status=dead`} tone={o.dead ? 'bad' : undefined} />
            <Figure
              label="Disabled webhooks"
              value={String(o.disabledWebhooks)}
              to={`/p/${key}/webhooks?status=disabled`}
              tone={o.disabledWebhooks ? 'warn' : undefined}
            />
          </div>
          <figure className="chart wide">
            <figcaption>Accepted and delivered per minute</figcaption>
            <ResponsiveContainer width="100%" height={240}>
              <LineChart data={o.perMinute.map((m) => ({ ...m, label: time.format(new Date(m.minute)) }))} margin={{ top: 8, right: 16, bottom: 0, left: 0 }}>
                <CartesianGrid strokeDasharray="3 3" vertical={false} />
                <XAxis dataKey="label" tick={{ fontSize: 12 }} minTickGap={24} />
                <YAxis allowDecimals={false} width={40} tick={{ fontSize: 12 }} />
                <Tooltip />
                <Legend />
                <Line type="monotone" dataKey="accepted" name="Accepted" stroke="#0969da" dot={false} isAnimationActive={false} />
                <Line type="monotone" dataKey="delivered" name="Delivered" stroke="#1a7f37" dot={false} isAnimationActive={false} />
              </LineChart>
            </ResponsiveContainer>
          </figure>
        </>
      )}
    </section>
  );
}

function Figure({ label, value, to, note, tone }: { label: string; value: string; to: string; note?: string; tone?: 'bad' | 'warn' }) {
  return (
    <Link to={to} className={`tile figure${tone ? ` tone-${tone}` : ''}`}>
      <span className="figure-label">{label}</span>
      <span className="tile-value">{value}</span>
      {note && <span className="small-text">{note}</span>}
    </Link>
  );
}
