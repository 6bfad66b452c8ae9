import pg from 'pg';
import type { Logger } from 'pino';

export interface OutboxListenerOptions {
  readonly databaseUrl: string;
  readonly channel: string;
  /** Outbox rows were committed; `payload` names the process that wrote them. */
  readonly onNotify: (payload: string) => void;
  /** LISTEN is (re-)established: notifications sent while it was down are lost, so look now. */
  readonly onListening: () => void;
  readonly logger?: Logger;
  /** Session name shown in pg_stat_activity. */
  readonly applicationName?: string;
  readonly reconnect?: { readonly initialDelayMs?: number; readonly maxDelayMs?: number };
}

/**
 * A dedicated PostgreSQL session for LISTEN (a pooled client would drop it when
 * released). When the session dies, for example because PostgreSQL restarted, it
 * reconnects with capped exponential backoff; the relay's safety poll covers the gap.
 */
export class OutboxListener {
  private client: pg.Client | null = null;
  private stopped = false;
  private timer: NodeJS.Timeout | null = null;
  private failures = 0;
  private listeningNow = false;
  private readonly log: Logger | undefined;

  constructor(private readonly options: OutboxListenerOptions) {
    this.log = options.logger?.child({ component: 'outbox-listener' });
  }

  get listening(): boolean {
    return this.listeningNow;
  }

  start(): void {
    this.stopped = false;
    void this.connect();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const client = this.client;
    this.client = null;
    this.listeningNow = false;
    if (client) await client.end().catch(() => undefined);
  }

  private async connect(): Promise<void> {
    if (this.stopped) return;
    const client = new pg.Client({
      connectionString: this.options.databaseUrl,
      application_name: this.options.applicationName ?? 'order-api-outbox-listener',
      keepAlive: true,
      connectionTimeoutMillis: 5_000,
    });
    let lost = false;
    const onLost = (err?: Error) => {
      if (lost) return;
      lost = true;
      this.listeningNow = false;
      if (this.client === client) this.client = null;
      client.end().catch(() => undefined);
      if (this.stopped) return;
      this.log?.warn({ err: err?.message }, 'outbox LISTEN session lost; reconnecting');
      this.scheduleReconnect();
    };
    client.on('error', onLost);
    client.on('end', () => onLost());
    client.on('notification', (msg) => {
      if (msg.channel === this.options.channel) this.options.onNotify(msg.payload ?? '');
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${client.escapeIdentifier(this.options.channel)}`);
    } catch (err) {
      onLost(err as Error);
      return;
    }
    if (this.stopped || lost) {
      await client.end().catch(() => undefined);
      return;
    }
    this.client = client;
    this.failures = 0;
    this.listeningNow = true;
    this.log?.debug({ channel: this.options.channel }, 'listening for outbox notifications');
    this.options.onListening();
  }

  private scheduleReconnect() {
    if (this.timer || this.stopped) return;
    const initial = this.options.reconnect?.initialDelayMs ?? 200;
    const max = this.options.reconnect?.maxDelayMs ?? 5_000;
    const delay = Math.min(max, initial * 2 ** this.failures);
    this.failures++;
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.connect();
    }, delay);
  }
}
