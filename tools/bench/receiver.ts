import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * The benchmark's webhook receiver: answers 200 (after `delayMs` if set) and records when each
 * event id first arrived. It reads `event_id` from Herald's custom payload or `id` from baseline jobs.
 */
export class BenchReceiver {
  readonly firstHit = new Map<string, number>();
  /** When every request since `reset()` arrived (performance.now()), in order. */
  readonly hitTimes: number[] = [];
  hits = 0;
  /** When the first and the latest request since `reset()` arrived (performance.now()). */
  firstAt = NaN;
  lastAt = NaN;

  /** Requests per second between the first and the last hit: start-up time does not count. */
  rate(): number {
    return (this.hits - 1) / ((this.lastAt - this.firstAt) / 1000);
  }
  delayMs = 0;
  private server?: Server;
  private waiters: Array<{ n: number; resolve: () => void }> = [];

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const at = performance.now();
        this.hits++;
        if (this.hits === 1) this.firstAt = at;
        this.lastAt = at;
        this.hitTimes.push(at);
        const text = Buffer.concat(chunks).toString('utf8');
        const match = /"(?:event_id|id)":"([^"]+)"/.exec(text);
        if (match && !this.firstHit.has(match[1])) this.firstHit.set(match[1], at);
        for (const w of [...this.waiters]) {
          if (this.hits < w.n) continue;
          this.waiters.splice(this.waiters.indexOf(w), 1);
          w.resolve();
        }
        const reply = () => res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
        if (this.delayMs) setTimeout(reply, this.delayMs);
        else reply();
      });
    });
    this.server.keepAliveTimeout = 60_000;
    await new Promise<void>((r) => this.server?.listen(0, '127.0.0.1', r));
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server?.address() as AddressInfo).port}`;
  }

  reset(): void {
    this.firstHit.clear();
    this.hitTimes.length = 0;
    this.hits = 0;
    this.firstAt = NaN;
    this.lastAt = NaN;
  }

  waitForHits(n: number, timeoutMs: number): Promise<void> {
    if (this.hits >= n) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`receiver got ${this.hits} of ${n} within ${timeoutMs} ms`)), timeoutMs);
      this.waiters.push({ n, resolve: () => (clearTimeout(timer), resolve()) });
    });
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((r) => this.server?.close(() => r()));
  }
}
