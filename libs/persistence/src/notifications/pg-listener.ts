import { Client } from 'pg';

export interface PgListenerHandlers {
  notification(channel: string, payload: string): void;
  /** LISTEN is in place (first connect and every reconnect): notifications sent meanwhile were missed. */
  listening?(): void;
  /** The connection failed or ended; a reconnect follows every second until `stop()`. */
  lost?(reason: string): void;
}

/**
 * A dedicated Postgres connection in LISTEN mode that reconnects on its own. Notifications are only
 * delivered while it is connected, so users treat `listening` as "something may have been missed".
 */
export class PgListener {
  private client?: Client;
  private retry?: NodeJS.Timeout;
  private stopped = false;

  constructor(
    private readonly url: string,
    private readonly channels: string[],
    private readonly handlers: PgListenerHandlers,
    private readonly applicationName: string,
  ) {}

  /** Resolves after the first attempt, connected or not (a failed attempt is retried). */
  async start(): Promise<void> {
    if (this.stopped) return;
    const client = new Client({ connectionString: this.url, connectionTimeoutMillis: 3000, application_name: this.applicationName });
    client.on('notification', (msg) => {
      if (this.channels.includes(msg.channel)) this.handlers.notification(msg.channel, msg.payload ?? '');
    });
    client.on('error', (err) => this.handlers.lost?.(err.message));
    client.on('end', () => {
      this.handlers.lost?.('connection ended');
      this.scheduleReconnect();
    });
    try {
      await client.connect();
      for (const channel of this.channels) await client.query(`LISTEN ${channel}`);
      this.client = client;
      this.handlers.listening?.();
    } catch (err) {
      this.handlers.lost?.((err as Error).message);
      await client.end().catch(() => undefined);
      this.scheduleReconnect();
    }
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
    await this.client?.end().catch(() => undefined);
  }
}
