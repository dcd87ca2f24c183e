import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedRequest {
  at: number;
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
}

/** How the receiver answers one request. */
export interface Reply {
  status?: number;
  body?: string;
  headers?: Record<string, string>;
  delayMs?: number;
}

/**
 * A local HTTP endpoint for tests: records every request and answers from a script (a queue of
 * replies, then a default), so a test can make it slow, fail with 5xx, answer 429 + Retry-After,
 * 410, or a 200 whose body reports an error.
 */
export class FakeReceiver {
  readonly requests: ReceivedRequest[] = [];
  private readonly script: Reply[] = [];
  private fallback: Reply = { status: 200, body: 'ok' };
  private readonly waiters: Array<{ n: number; resolve: () => void }> = [];
  private server?: Server;

  static async start(): Promise<FakeReceiver> {
    const receiver = new FakeReceiver();
    await receiver.listen();
    return receiver;
  }

  get url(): string {
    const port = (this.server?.address() as AddressInfo | null)?.port ?? this.port;
    return `http://127.0.0.1:${port}`;
  }

  /** Replies used in order, one per request, before the default reply applies. */
  enqueue(...replies: Reply[]): this {
    this.script.push(...replies);
    return this;
  }

  setDefault(reply: Reply): this {
    this.fallback = reply;
    return this;
  }

  /** Resolves once at least `n` requests arrived; rejects after `timeoutMs`. */
  waitFor(n: number, timeoutMs = 10_000): Promise<ReceivedRequest[]> {
    if (this.requests.length >= n) return Promise.resolve(this.requests);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`expected ${n} requests, got ${this.requests.length} within ${timeoutMs} ms`)), timeoutMs);
      this.waiters.push({
        n,
        resolve: () => {
          clearTimeout(timer);
          resolve(this.requests);
        },
      });
    });
  }

  /** Stops answering (connections refused) until `start` is called again, on the same port. */
  async goDown(): Promise<void> {
    this.port = (this.server?.address() as AddressInfo).port;
    await this.stop();
  }

  async comeBack(): Promise<void> {
    await this.listen(this.port);
  }

  private port = 0;

  private listen(port = 0): Promise<void> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        this.requests.push({
          at: Date.now(),
          method: req.method ?? '',
          path: req.url ?? '',
          headers: req.headers,
          body: Buffer.concat(chunks).toString('utf8'),
        });
        for (const w of [...this.waiters]) {
          if (this.requests.length >= w.n) {
            this.waiters.splice(this.waiters.indexOf(w), 1);
            w.resolve();
          }
        }
        const reply = this.script.shift() ?? this.fallback;
        const send = () => {
          res.writeHead(reply.status ?? 200, reply.headers ?? {});
          res.end(reply.body ?? '');
        };
        if (reply.delayMs) setTimeout(send, reply.delayMs);
        else send();
      });
    });
    this.server.keepAliveTimeout = 60_000;
    return new Promise((resolve) => this.server?.listen(port, '127.0.0.1', resolve));
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => {
      this.server?.closeAllConnections();
      this.server?.close(() => resolve());
    });
  }
}
