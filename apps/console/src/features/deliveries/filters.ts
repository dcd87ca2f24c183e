import { DELIVERY_STATUSES, EVENT_TYPE_LIST, type DeliveryStatus, type EventType } from '../../lib/catalogue';
import { rfc3339 } from '../../lib/format';

/** Time presets of the filter bar, in minutes. */
export const RANGES = { '15m': 15, '1h': 60, '24h': 24 * 60, '7d': 7 * 24 * 60 } as const;
export type RangeKey = keyof typeof RANGES;
export const RANGE_LABELS: Record<RangeKey, string> = { '15m': 'Last 15 minutes', '1h': 'Last hour', '24h': 'Last 24 hours', '7d': 'Last 7 days' };

export interface DeliveryFilters {
  status?: DeliveryStatus;
  webhookId?: string;
  eventType?: EventType;
  range?: RangeKey;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export const isUuid = (text: string) => UUID.test(text.trim());

/**
 * The filters live in the URL (?status=&webhookId=&eventType=&range=), so a view can be shared.
 * A value the API would refuse (a typo in a shared link) is dropped rather than sent.
 */
export function parseFilters(params: URLSearchParams): DeliveryFilters {
  const f: DeliveryFilters = {};
  const status = params.get('status');
  if (status && (DELIVERY_STATUSES as readonly string[]).includes(status)) f.status = status as DeliveryStatus;
  const webhookId = params.get('webhookId');
  if (webhookId && isUuid(webhookId)) f.webhookId = webhookId.toLowerCase();
  const eventType = params.get('eventType');
  if (eventType && (EVENT_TYPE_LIST as string[]).includes(eventType)) f.eventType = eventType as EventType;
  const range = params.get('range');
  if (range && range in RANGES) f.range = range as RangeKey;
  return f;
}

/** The URL form, keys in a fixed order and empty ones left out. */
export function filtersToParams(f: DeliveryFilters): URLSearchParams {
  const params = new URLSearchParams();
  for (const key of ['status', 'webhookId', 'eventType', 'range'] as const) {
    const value = f[key];
    if (value) params.set(key, value);
  }
  return params;
}

export function withFilter(f: DeliveryFilters, change: Partial<Record<keyof DeliveryFilters, string | undefined>>): DeliveryFilters {
  const next = { ...f, ...change } as Record<string, string | undefined>;
  for (const k of Object.keys(next)) if (!next[k]) delete next[k];
  return next as DeliveryFilters;
}

export const isFiltered = (f: DeliveryFilters) => Object.keys(f).length > 0;

/** The list query the API takes (GET .../deliveries); `since` is computed from the preset at `now`. */
export function toListQuery(f: DeliveryFilters, now: Date): { status?: DeliveryStatus; webhookId?: string; eventType?: EventType; since?: string } {
  return {
    ...(f.status ? { status: f.status } : {}),
    ...(f.webhookId ? { webhookId: f.webhookId } : {}),
    ...(f.eventType ? { eventType: f.eventType } : {}),
    ...(f.range ? { since: rfc3339(new Date(now.getTime() - RANGES[f.range] * 60_000)) } : {}),
  };
}

/** What an attempt's error was, in the classes the delivery log names (issue 14 §3). */
export function errorClass(a: { statusCode: number | null; outcome: string; error: string | null }): string | null {
  const error = a.error ?? '';
  if (a.outcome === 'delivered') return null;
  if (a.statusCode === 429 || a.outcome === 'rate_limited') {
    const after = /retry[- ]after[^0-9]*(\d+)/i.exec(error);
    return after ? `429 rate limited (Retry-After ${after[1]} s)` : '429 rate limited';
  }
  if (/^timeout|did not answer within|timed out/i.test(error)) return 'timeout';
  if (/ENOTFOUND|EAI_AGAIN|getaddrinfo|DNS/i.test(error)) return 'DNS';
  if (/is not allowed|resolves to a .* address|allow-list/i.test(error)) return 'SSRF-blocked';
  if (/ECONNREFUSED|ECONNRESET|network error/i.test(error)) return 'connection failed';
  if (a.statusCode !== null && a.statusCode >= 500) return `HTTP ${a.statusCode}`;
  if (a.statusCode !== null && a.statusCode >= 400) return `HTTP ${a.statusCode}`;
  return error ? 'error' : null;
}
