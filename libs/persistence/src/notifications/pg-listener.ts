import { Client } from 'pg';

export interface PgListenerHandlers {
  notification(channel: string, payload: string): void;
  /** LISTEN is in place (first connect and every reconnect): notifications sent meanwhile were missed. */
  listening?(): void;
  /** The connection failed or ended; a reconnect follows every second until `stop()`. */
  lost?(reason: string): void;
}

export interface PgListenerOptions {
  /** How often the idle connection is asked `SELECT 1`. */
  heartbeatMs?: number;
  /** An unanswered heartbeat after this long means the connection is dead: it is closed and reopened. */
  heartbeatTimeoutMs?: number;
}

/** TCP keepalive probes start after this much silence (the kernel's default is two hours). */
const KEEPALIVE_DELAY_MS = 10_000;

/**
 * A dedicated Postgres connection in LISTEN mode that reconnects on its own. Notifications are only
 * delivered while it is connected, so users treat `listening` as "something may have been missed".
 *
 * A LISTEN connection is idle: if the network path dies silently (a NAT or firewall forgets it, a
 * host vanishes) nothing would ever notice, and the process would wait for notifications that
 * never come. TCP keepalive (after 10 s of silence) lets the kernel find out eventually; a
 * heartbeat query (every 15 s, 5 s to answer) finds out within seconds and reconnects.
 *
 * LISTEN needs a session of its own: through a transaction pooler the server connection that ran
 * LISTEN goes to other clients after the statement, and the notifications with it. Without a URL
 * that reaches Postgres directly (`url` null: HERALD_DATABASE_LISTEN_URL unset behind a pooler)
 * the listener does nothing and never reports `listening`; its users fall back on their own
 * timers.
 */
export class PgListener {
  private client?: Client;
  private retry?: NodeJS.Timeout;
  private heartbeat?: NodeJS.Timeout;
  private stopped = false;
  private readonly heartbeatMs: number;
  private readonly heartbeatTimeoutMs: number;

  constructor(
    private readonly url: string | null,
    private readonly channels: string[],
    private readonly handlers: PgListenerHandlers,
    private readonly applicationName: string,
    options: PgListenerOptions = {},
  ) {
    this.heartbeatMs = options.heartbeatMs ?? 15_000;
    this.heartbeatTimeoutMs = options.heartbeatTimeoutMs ?? 5000;
  }

  /** Resolves after the first attempt, connected or not (a failed attempt is retried). */
  async start(): Promise<void> {
    if (this.stopped || this.url === null) return;
    const client = new Client({
      connectionString: this.url,
      connectionTimeoutMillis: 3000,
      application_name: this.applicationName,
      keepAlive: true,
      keepAliveInitialDelayMillis: KEEPALIVE_DELAY_MS,
    });
    client.on('notification', (msg) => {
      if (this.channels.includes(msg.channel)) this.handlers.notification(msg.channel, msg.payload ?? '');
    });
    client.on('error', (err) => this.handlers.lost?.(err.message));
    client.on('end', () => {
      if (this.client === client) this.client = undefined;
      clearInterval(this.heartbeat);
      this.handlers.lost?.('connection ended');
      this.scheduleReconnect();
    });
    try {
      await client.connect();
      for (const channel of this.channels) await client.query(`LISTEN ${channel}`);
      this.client = client;
      this.beat(client);
      this.handlers.listening?.();
    } catch (err) {
      this.handlers.lost?.((err as Error).message);
      await client.end().catch(() => undefined);
      this.scheduleReconnect();
    }
  }

  /** Asks the connection to answer now and then; one that stays silent is destroyed ('end' follows, then a reconnect). */
  private beat(client: Client): void {
    clearInterval(this.heartbeat);
    this.heartbeat = setInterval(() => {
      let answered = false;
      const deadline = setTimeout(() => {
        if (answered || this.client !== client) return;
        this.handlers.lost?.(`no answer to a heartbeat within ${this.heartbeatTimeoutMs} ms`);
        (client as unknown as { connection: { stream: { destroy(): void } } }).connection.stream.destroy();
      }, this.heartbeatTimeoutMs);
      deadline.unref();
      client.query('SELECT 1').then(
        () => {
          answered = true;
          clearTimeout(deadline);
        },
        () => undefined,
      );
    }, this.heartbeatMs);
    this.heartbeat.unref();
  }

  private scheduleReconnect(): void {
    if (this.stopped || this.retry) return;
    this.retry = setTimeout(() => {
      this.retry = undefined;
      void this.start();
    }, 1000);
    this.retry.unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.retry);
    clearInterval(this.heartbeat);
    const client = this.client;
    if (!client) return;
    // A polite end waits for the server's answer, which a dead connection never sends.
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([client.end().catch(() => undefined), new Promise((r) => (timer = setTimeout(r, 2000)))]);
    clearTimeout(timer);
    (client as unknown as { connection: { stream: { destroy(): void } } }).connection.stream.destroy();
  }
}
