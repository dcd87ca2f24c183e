import * as RadioGroup from '@radix-ui/react-radio-group';
import { useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { useParams, useSearchParams } from 'react-router';
import { Bar, BarChart, CartesianGrid, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import type { Dora as DoraAnswer } from '@herald/sdk';
import { api, unwrap } from '../api/client';
import { errorMessage, PageHeader, TableState, Time } from '../components/ui';
import { duration, percent, rfc3339 } from '../lib/format';

type Level = 'elite' | 'high' | 'medium' | 'low' | 'none';
/** The tier colours of DevLake's DORA dashboard; the tier is always written in words too. */
export const TIER: Record<Level, { colour: string; words: string }> = {
  elite: { colour: '#1a7f37', words: 'Elite' },
  high: { colour: '#0969da', words: 'High' },
  medium: { colour: '#9a6700', words: 'Medium' },
  low: { colour: '#cf222e', words: 'Low' },
  none: { colour: '#57606a', words: 'No data' },
};
const METRIC_NAMES: Record<string, (report: string) => string> = {
  deploymentFrequency: () => 'Deployment frequency',
  leadTimeForChanges: () => 'Lead time for changes',
  changeFailureRate: () => 'Change failure rate',
  recoveryTime: (r) => (r === '2021' ? 'Time to restore service' : 'Failed deployment recovery time'),
};
const WINDOWS = [30, 90, 180, 365];
const ENVIRONMENTS = ['PRODUCTION', 'STAGING', 'TESTING', 'DEVELOPMENT'] as const;

export default function Dora() {
  const { key = '' } = useParams();
  const [params, setParams] = useSearchParams();
  const report = params.get('report') === '2021' ? '2021' : '2023';
  const environment = (ENVIRONMENTS as readonly string[]).includes(params.get('environment') ?? '')
    ? (params.get('environment') as (typeof ENVIRONMENTS)[number])
    : 'PRODUCTION';
  const days = Number(params.get('days')) || 90;
  const [custom, setCustom] = useState<{ from: string; to: string }>({ from: params.get('from') ?? '', to: params.get('to') ?? '' });
  const from = params.get('from');
  const to = params.get('to');
  const window =
    from && to
      ? { from: rfc3339(new Date(`${from}T00:00:00`)), to: rfc3339(new Date(`${to}T23:59:59`)) }
      : { from: rfc3339(new Date(Date.now() - days * 86_400_000)), to: undefined };
  const query = { report, environment, from: window.from, to: window.to } as const;
  const summary = useQuery({
    queryKey: ['project', key, 'dora', report, environment, from, to, days],
    queryFn: () => unwrap(api.GET('/v1/projects/{key}/dora', { params: { path: { key }, query } })),
  });
  const details = useQuery({
    queryKey: ['project', key, 'dora-details', report, environment, from, to, days],
    queryFn: () => unwrap(api.GET('/v1/projects/{key}/dora/details', { params: { path: { key }, query } })),
  });
  const set = (change: Record<string, string | null>) => {
    const next = new URLSearchParams(params);
    for (const [k, v] of Object.entries(change)) {
      if (v) next.set(k, v);
      else next.delete(k);
    }
    setParams(next);
  };
  const d = summary.data;
  return (
    <section>
      <PageHeader title="DORA metrics" />
      <p className="hint">Computed now from the deployments, incidents and pull requests received: nothing waits for a pipeline run.</p>
      <form
        className="filters"
        aria-label="Window and report"
        onSubmit={(e) => (e.preventDefault(), set({ from: custom.from || null, to: custom.to || null }))}
      >
        <div className="filter">
          <label htmlFor="d-days">Window</label>
          <select id="d-days" value={from && to ? '' : String(days)} onChange={(e) => set({ days: e.target.value, from: null, to: null })}>
            {from && to && <option value="">Custom</option>}
            {WINDOWS.map((n) => (
              <option key={n} value={n}>
                Last {n} days
              </option>
            ))}
          </select>
        </div>
        <div className="filter">
          <label htmlFor="d-from">From</label>
          <input id="d-from" type="date" value={custom.from} onChange={(e) => setCustom({ ...custom, from: e.target.value })} />
        </div>
        <div className="filter">
          <label htmlFor="d-to">To</label>
          <input id="d-to" type="date" value={custom.to} onChange={(e) => setCustom({ ...custom, to: e.target.value })} />
        </div>
        <button type="submit" className="secondary small" disabled={!custom.from || !custom.to}>
          Apply dates
        </button>
        <div className="filter">
          <label htmlFor="d-env">Environment</label>
          <select id="d-env" value={environment} onChange={(e) => set({ environment: e.target.value === 'PRODUCTION' ? null : e.target.value })}>
            {ENVIRONMENTS.map((env) => (
              <option key={env} value={env}>
                {env.charAt(0) + env.slice(1).toLowerCase()}
              </option>
            ))}
          </select>
        </div>
        <div className="filter">
          <span id="d-report-label">Benchmarks</span>
          <RadioGroup.Root className="segmented" value={report} onValueChange={(v) => set({ report: v })} aria-labelledby="d-report-label">
            {['2023', '2021'].map((r) => (
              <RadioGroup.Item key={r} value={r} className="segment">
                DORA {r}
              </RadioGroup.Item>
            ))}
          </RadioGroup.Root>
        </div>
      </form>
      {summary.error && <p role="alert">Could not compute the metrics: {errorMessage(summary.error)}</p>}
      {summary.isLoading && <p role="status">Computing…</p>}
      {d && <Tiles dora={d} />}
      {details.data && (
        <>
          <h2>Benchmarks (DORA {report})</h2>
          <table className="benchmarks">
            <caption className="sr-only">DORA {report} benchmark table; the achieved level of each metric is marked</caption>
            <thead>
              <tr>
                <th scope="col">Metric</th>
                {(['elite', 'high', 'medium', 'low'] as const).map((l) => (
                  <th scope="col" key={l}>
                    {TIER[l].words}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {details.data.benchmarks.map((row) => {
                const achieved = d ? (d[row.metric as keyof DoraAnswer] as { level?: string } | undefined)?.level : undefined;
                return (
                  <tr key={row.metric}>
                    <th scope="row">{METRIC_NAMES[row.metric]?.(report) ?? row.metric}</th>
                    {(['elite', 'high', 'medium', 'low'] as const).map((l) => (
                      <td
                        key={l}
                        className={achieved === l ? 'achieved' : undefined}
                        style={achieved === l ? { borderColor: TIER[l].colour } : undefined}
                        aria-current={achieved === l ? 'true' : undefined}
                      >
                        {row.levels[l]}
                        {achieved === l && <strong className="achieved-mark"> ✓ achieved</strong>}
                      </td>
                    ))}
                  </tr>
                );
              })}
            </tbody>
          </table>
          <h2>By month</h2>
          <p className="hint">Months without data show as zero.</p>
          <div className="charts">
            <MonthChart title="Deployments" data={details.data.months.map((m) => ({ month: m.month, value: m.deployments }))} unit="" />
            <MonthChart
              title="Median lead time (hours)"
              data={details.data.months.map((m) => ({
                month: m.month,
                value: m.leadTimeMedianMinutes === null ? 0 : Math.round((m.leadTimeMedianMinutes / 60) * 10) / 10,
              }))}
              unit=" h"
            />
            <MonthChart
              title="Change failure rate (%)"
              data={details.data.months.map((m) => ({ month: m.month, value: m.changeFailureRate === null ? 0 : Math.round(m.changeFailureRate * 1000) / 10 }))}
              unit=" %"
            />
            <MonthChart
              title="Median recovery (hours)"
              data={details.data.months.map((m) => ({
                month: m.month,
                value: m.recoveryMedianMinutes === null ? 0 : Math.round((m.recoveryMedianMinutes / 60) * 10) / 10,
              }))}
              unit=" h"
            />
          </div>
          <h2>Deployments</h2>
          <table>
            <caption className="sr-only">Deployments in the window</caption>
            <thead>
              <tr>
                <th scope="col">Finished</th>
                <th scope="col">Deployment</th>
                <th scope="col">Result</th>
                <th scope="col">Environment</th>
                <th scope="col">Commits</th>
                <th scope="col">Incidents caused</th>
              </tr>
            </thead>
            <tbody>
              <TableState
                columns={6}
                loading={false}
                error={null}
                rows={details.data.deployments.length}
                what="deployments"
                empty="No deployments in this window. Post one through an incoming webhook."
              />
              {details.data.deployments.map((dep) => (
                <tr key={`${dep.connectionId}/${dep.id}`} id={`dep-${dep.connectionId}-${dep.id}`}>
                  <td>
                    <Time iso={dep.finishedDate} />
                  </td>
                  <td>
                    {dep.name} <span className="small-text">({dep.id})</span>
                  </td>
                  <td>{dep.result}</td>
                  <td>{dep.environment}</td>
                  <td>{dep.commits}</td>
                  <td>{dep.incidents}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <h2>Incidents</h2>
          <table>
            <caption className="sr-only">Incidents in the window and the deployment each is attributed to</caption>
            <thead>
              <tr>
                <th scope="col">Created</th>
                <th scope="col">Incident</th>
                <th scope="col">Resolved</th>
                <th scope="col">Caused by deployment</th>
                <th scope="col">Recovery</th>
              </tr>
            </thead>
            <tbody>
              <TableState columns={5} loading={false} error={null} rows={details.data.incidents.length} what="incidents" empty="No incidents in this window." />
              {details.data.incidents.map((i) => {
                const rec = duration(i.recoveryMinutes);
                return (
                  <tr key={`${i.connectionId}/${i.issueKey}`}>
                    <td>
                      <Time iso={i.createdDate} />
                    </td>
                    <td>
                      {i.title} <span className="small-text">({i.issueKey})</span>
                    </td>
                    <td>
                      <Time iso={i.resolutionDate} fallback="open" />
                    </td>
                    <td>{i.deployment ? <a href={`#dep-${i.deployment.connectionId}-${i.deployment.id}`}>{i.deployment.name}</a> : 'none before it'}</td>
                    <td>{rec.value === '—' ? '—' : `${rec.value} ${rec.unit}`}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </>
      )}
    </section>
  );
}

function Tiles({ dora: d }: { dora: DoraAnswer }) {
  const lead = duration(d.leadTimeForChanges.medianMinutes);
  const rec = duration(d.recoveryTime.medianMinutes);
  const tiles: Array<{ name: string; value: string; unit: string; level: Level; label: string; detail: string }> = [
    {
      name: 'Deployment frequency',
      value: d.deploymentFrequency.weeklyMedianDays === null ? '—' : String(d.deploymentFrequency.weeklyMedianDays),
      unit: 'deployment days per week (median)',
      level: d.deploymentFrequency.level as Level,
      label: d.deploymentFrequency.label,
      detail: `${d.deploymentFrequency.deployments} deployments on ${d.deploymentFrequency.deploymentDays} days`,
    },
    {
      name: 'Lead time for changes',
      value: lead.value,
      unit: lead.unit ? `${lead.unit} (median)` : '',
      level: d.leadTimeForChanges.level as Level,
      label: d.leadTimeForChanges.label,
      detail: `${d.leadTimeForChanges.changes} changes`,
    },
    {
      name: 'Change failure rate',
      value: percent(d.changeFailureRate.value),
      unit: 'of deployments caused an incident',
      level: d.changeFailureRate.level as Level,
      label: d.changeFailureRate.label,
      detail: `${d.changeFailureRate.failedDeployments} of ${d.changeFailureRate.deployments} deployments`,
    },
    {
      name: METRIC_NAMES.recoveryTime(d.report),
      value: rec.value,
      unit: rec.unit ? `${rec.unit} (median)` : '',
      level: d.recoveryTime.level as Level,
      label: d.recoveryTime.label,
      detail: `${d.recoveryTime.incidents} incidents`,
    },
  ];
  return (
    <div className="tiles">
      {tiles.map((t) => (
        <article key={t.name} className="tile" style={{ borderTopColor: TIER[t.level].colour }} aria-label={t.name}>
          <h2>{t.name}</h2>
          <p className="tile-value">
            {t.value} <span className="tile-unit">{t.unit}</span>
          </p>
          <p className="tier" style={{ background: TIER[t.level].colour }}>
            {TIER[t.level].words}
          </p>
          <p className="small-text">{t.label}</p>
          <p className="small-text">{t.detail}</p>
        </article>
      ))}
    </div>
  );
}

function MonthChart({ title, data, unit }: { title: string; data: Array<{ month: string; value: number }>; unit: string }) {
  return (
    <figure className="chart">
      <figcaption>{title}</figcaption>
      <ResponsiveContainer width="100%" height={180}>
        <BarChart data={data} margin={{ top: 8, right: 8, bottom: 0, left: 0 }}>
          <CartesianGrid strokeDasharray="3 3" vertical={false} />
          <XAxis dataKey="month" tick={{ fontSize: 12 }} />
          <YAxis allowDecimals={false} width={40} tick={{ fontSize: 12 }} />
          <Tooltip formatter={(v) => `${String(v)}${unit}`} />
          <Bar dataKey="value" name={title} fill="#0969da" isAnimationActive={false} />
        </BarChart>
      </ResponsiveContainer>
      <table className="sr-only">
        <caption>{title} by month</caption>
        <tbody>
          {data.map((m) => (
            <tr key={m.month}>
              <th scope="row">{m.month}</th>
              <td>
                {m.value}
                {unit}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </figure>
  );
}
