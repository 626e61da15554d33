/**
 * Wake-ups from other replicas: one dedicated connection that LISTENs on the channel transactions NOTIFY when they make
 * work claimable. A hint only, never the way work is found (workers poll too), so a lost connection costs latency, not
 * correctness: it is re-made with backoff, and listeners hear once after each reconnect for what was missed meanwhile.
 */

import pg from 'pg';

/** The channel transactions notify (see WAKE_SQL). */
export const WAKE_CHANNEL = 'remediator_wake';

const RETRY_FIRST_MS = 200;
const RETRY_MAX_MS = 10_000;
// A connection that died without a FIN (a partitioned network) is only noticed when something is sent on it.
const HEARTBEAT_MS = 30_000;

/** The LISTEN connection of one open store: started on demand, ended by close(); `wake` hears every notification. */
export class WakeListener {
  private client: pg.Client | null = null;
  private connecting: Promise<void> | null = null;
  private retryTimer: NodeJS.Timeout | null = null;
  private heartbeat: NodeJS.Timeout | null = null;
  private retryMs = RETRY_FIRST_MS;
  private started = false;
  private closed = false;

  constructor(
    private readonly config: pg.ClientConfig,
    private readonly wake: () => void,
  ) {}

  /** Starts listening, once; later calls do nothing. */
  start(): void {
    if (this.started || this.closed) return;
    this.started = true;
    this.connecting = this.connect(false);
  }

  /** Ends the connection and stops reconnecting. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.retryTimer !== null) clearTimeout(this.retryTimer);
    if (this.heartbeat !== null) clearInterval(this.heartbeat);
    this.retryTimer = null;
    this.heartbeat = null;
    await this.connecting;
    const client = this.client;
    this.client = null;
    await client?.end().catch(() => undefined);
  }

  private async connect(missedSome: boolean): Promise<void> {
    const client = new pg.Client(this.config);
    client.on('error', () => this.dropped(client));
    client.on('end', () => this.dropped(client));
    client.on('notification', (message) => {
      if (message.channel === WAKE_CHANNEL) this.wake();
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${WAKE_CHANNEL}`);
    } catch {
      await client.end().catch(() => undefined);
      this.retryLater();
      return;
    } finally {
      this.connecting = null;
    }
    if (this.closed) {
      await client.end().catch(() => undefined);
      return;
    }
    this.client = client;
    this.retryMs = RETRY_FIRST_MS;
    this.heartbeat = setInterval(() => void client.query('SELECT 1').catch(() => client.end().catch(() => undefined)), HEARTBEAT_MS);
    this.heartbeat.unref();
    if (missedSome) this.wake();
  }

  /** The live connection failed or ended: forget it and make another. Events of connections already given up are ignored. */
  private dropped(client: pg.Client): void {
    if (client !== this.client) return;
    this.client = null;
    if (this.heartbeat !== null) clearInterval(this.heartbeat);
    this.heartbeat = null;
    void client.end().catch(() => undefined);
    this.retryLater();
  }

  private retryLater(): void {
    if (this.closed || this.retryTimer !== null) return;
    // Jittered, so replicas that lost the server together do not all come back on the same beat.
    const delay = this.retryMs * (0.5 + Math.random() / 2);
    this.retryMs = Math.min(RETRY_MAX_MS, this.retryMs * 2);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      if (!this.closed) this.connecting = this.connect(true);
    }, delay);
    this.retryTimer.unref();
  }
}
