/**
 * The gateway's own look at every replica: GET /health every checkEvery (GET /version when it
 * becomes ready) and a real small completion every canaryEvery, drained or not.
 */
import { callUpstream } from './gateway-upstream.js';
import type { GatewayState, Replica } from './gateway-state.js';

/** Whether a canary completion's body shows at least one generated token. */
export function answeredWithTokens(body: Buffer): boolean {
  try {
    const parsed = JSON.parse(body.toString('utf8')) as { usage?: { completion_tokens?: unknown }; choices?: { text?: unknown; message?: { content?: unknown } }[] };
    if (typeof parsed.usage?.completion_tokens === 'number') return parsed.usage.completion_tokens >= 1;
    const choice = parsed.choices?.[0];
    return typeof (choice?.text ?? choice?.message?.content) === 'string' && String(choice?.text ?? choice?.message?.content).length > 0;
  } catch {
    return false;
  }
}

/** Runs the health and canary loops of every replica until stop(). */
export class ReplicaMonitor {
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly abort = new AbortController();
  private readonly canaryBusy = new Set<Replica>();
  private stopped = false;

  constructor(private readonly state: GatewayState) {}

  /** Starts the loops; the first health check of each replica goes out at once. */
  start(): void {
    const s = this.state.config.settings;
    for (const r of this.state.replicas) {
      this.loop(() => this.check(r), s.checkEveryMs, 0);
      this.loop(() => this.canary(r), s.canaryEveryMs, s.canaryEveryMs);
    }
  }

  /** Stops every loop and aborts checks in flight. */
  stop(): void {
    this.stopped = true;
    this.abort.abort();
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }

  // A chained timeout, not setInterval: a check that hangs (up to its deadline) never overlaps the next one.
  private loop(task: () => Promise<void>, everyMs: number, firstInMs: number): void {
    const next = (inMs: number): void => {
      if (this.stopped) return;
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        void task().finally(() => next(everyMs));
      }, inMs);
      timer.unref();
      this.timers.add(timer);
    };
    next(firstInMs);
  }

  /** Checks one replica's /health now (the loop's check; the ready probe asks for a fresh one). */
  async check(r: Replica): Promise<void> {
    const s = this.state.config.settings;
    const deadlineMs = Math.min(s.ttftTimeoutMs, Math.max(250, s.checkEveryMs * 2));
    const result = await callUpstream({ host: r.target.ip, port: r.target.port, method: 'GET', path: '/health', deadlineMs, signal: this.abort.signal });
    if (this.stopped) return;
    const up = result.kind === 'answer' && result.status === 200;
    const detail = result.kind === 'answer' ? { status: result.status } : result.kind === 'failure' ? { error: result.error } : {};
    const changed = r.setUp(up, detail);
    // The version is read when the replica becomes ready, and again until a read succeeds.
    if (up && (changed || r.version === null)) await this.readVersion(r);
    // A replica that just came back answers its first canary now rather than up to canaryEvery later.
    if (up && changed) void this.canary(r);
  }

  private async readVersion(r: Replica): Promise<void> {
    const result = await callUpstream({ host: r.target.ip, port: r.target.port, method: 'GET', path: '/version', deadlineMs: this.state.config.settings.ttftTimeoutMs, signal: this.abort.signal });
    if (result.kind !== 'answer' || result.status !== 200) return;
    try {
      const version = (JSON.parse(result.body.toString('utf8')) as { version?: unknown }).version;
      if (typeof version === 'string' && version !== '') r.setVersion(version);
    } catch {
      // not JSON: read it again at the next check
    }
  }

  private async canary(r: Replica): Promise<void> {
    if (this.canaryBusy.has(r)) return;
    // A replica whose /health fails cannot answer a completion; its canary fails without a request.
    if (!r.up) {
      r.canary = false;
      return;
    }
    this.canaryBusy.add(r);
    try {
      const body = Buffer.from(JSON.stringify({ model: r.target.model, prompt: 'gateway canary', max_tokens: 1 }));
      const deadlineMs = this.state.config.settings.ttftTimeoutMs;
      const result = await callUpstream({ host: r.target.ip, port: r.target.port, method: 'POST', path: '/v1/completions', body, deadlineMs, signal: this.abort.signal });
      if (this.stopped) return;
      r.canary = r.up && result.kind === 'answer' && result.status === 200 && answeredWithTokens(result.body);
      r.canaryAt = Date.now();
    } finally {
      this.canaryBusy.delete(r);
    }
  }
}
