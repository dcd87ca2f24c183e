/**
 * Error codes of a connection that failed before the request was written: the upstream never saw
 * the request, so another may take it without any risk of storing an event twice. (A reset or a
 * close after the request went out is not among them: the upstream may have committed it.)
 */
const NOT_SENT = new Set(['ECONNREFUSED', 'UND_ERR_CONNECT_TIMEOUT', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'EADDRNOTAVAIL']);

/** True when `err` (or an error it was caused by) says the connection failed before anything was sent. */
export function failedBeforeSending(err: unknown): boolean {
  for (let e = err, depth = 0; e && typeof e === 'object' && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    if (NOT_SENT.has(String((e as { code?: unknown }).code))) return true;
  }
  return false;
}

/**
 * The ingestion processes the gateway forwards to (HERALD_INGESTION_URL, one or several). Each
 * request starts with the next one in turn; one that failed to connect a moment ago goes last for
 * `avoidMs` (a stopping or dead process is not tried first by every request, which matters when a
 * connect only fails after a timeout), and is tried first again once it answers.
 */
export class Upstreams {
  private turn = 0;
  private readonly avoidUntil = new Map<string, number>();

  constructor(
    readonly urls: readonly string[],
    private readonly avoidMs = 2000,
    private readonly now: () => number = Date.now,
  ) {
    if (urls.length === 0) throw new Error('no ingestion URL');
  }

  /** The order in which one request tries the upstreams. */
  order(): string[] {
    const start = this.turn++ % this.urls.length;
    const rotated = [...this.urls.slice(start), ...this.urls.slice(0, start)];
    const t = this.now();
    const avoided = (url: string) => (this.avoidUntil.get(url) ?? 0) > t;
    return [...rotated.filter((u) => !avoided(u)), ...rotated.filter(avoided)];
  }

  /** A connection to `url` failed before sending; true when it was not already being avoided. */
  refused(url: string): boolean {
    const fresh = (this.avoidUntil.get(url) ?? 0) <= this.now();
    this.avoidUntil.set(url, this.now() + this.avoidMs);
    return fresh;
  }

  answered(url: string): void {
    this.avoidUntil.delete(url);
  }
}
