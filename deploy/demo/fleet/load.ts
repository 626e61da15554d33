/**
 * The client: steady open-loop traffic of small completions through the gateway, every request
 * recorded. Imported by the rehearsal (startLoad), or run alone:
 * `node build/demo/deploy/demo/fleet/load.js --gateway URL --model M --rate R --seconds S`
 * prints the summary as JSON.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { healthySince, summarize, type LoadRecord, type LoadSummary, type PendingRequest } from './load-stats.js';

export { healthySince, isGood, percentile, summarize, type LoadRecord, type LoadSummary } from './load-stats.js';

/** What to send and how often. */
export interface LoadOptions {
  readonly gatewayUrl: string;
  readonly model: string;
  readonly ratePerSecond: number;
  /** The client gives up on a request after this long (a failure). */
  readonly timeoutMs: number;
  /** A request slower than this is not healthy service (healthySince). */
  readonly sloMs: number;
  /** batch: sent with `x-priority: batch`. */
  readonly priority?: 'interactive' | 'batch';
  /** fixed (default): one request every 1/rate s; poisson: exponential gaps of that mean. */
  readonly arrival?: 'fixed' | 'poisson';
  /** max_tokens of each completion (default 16, vLLM's own default). */
  readonly maxTokens?: number;
}

/** A running load generator. */
export interface LoadHandle {
  /** Stops sending and resolves once every request in flight has ended. */
  stop(): Promise<void>;
  /** Every finished request, oldest first. */
  records(): LoadRecord[];
  /** Counts and latency of the finished requests sent in [fromMs, toMs] (everything by default). */
  summary(fromMs?: number, toMs?: number): LoadSummary;
  /** When the client saw healthy service: the first of `window` consecutive good requests sent at or after afterMs, or null. */
  healthySince(afterMs: number, options: { window: number }): number | null;
  /** Requests sent and not answered yet. */
  inflight(): number;
}

async function send(o: LoadOptions, sentAt: number): Promise<LoadRecord> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (o.priority === 'batch') headers['x-priority'] = 'batch';
  const body = JSON.stringify({ model: o.model, prompt: 'remediator rehearsal load', max_tokens: o.maxTokens ?? 16 });
  try {
    const res = await fetch(`${o.gatewayUrl}/v1/completions`, { method: 'POST', headers, body, signal: AbortSignal.timeout(o.timeoutMs) });
    const text = await res.text();
    const endedAt = Date.now();
    let flagged = false;
    try {
      flagged = (JSON.parse(text) as { fallback?: unknown }).fallback === true;
    } catch {
      // not JSON: an error page; the status says enough
    }
    const fallback = flagged || res.headers.get('x-gateway-fallback') === 'degraded';
    const replica = res.headers.get('x-gateway-replica') ?? undefined;
    const error = res.ok ? undefined : `answered ${res.status}: ${text.slice(0, 200)}`;
    return { sentAt, endedAt, status: res.status, ok: res.ok, fallback, latencyMs: endedAt - sentAt, ...(error ? { error } : {}), ...(replica ? { replica } : {}) };
  } catch (thrown) {
    const endedAt = Date.now();
    // Read the fields, not instanceof: fetch's errors come from another realm under jest.
    const e = thrown as { name?: unknown; message?: unknown; cause?: { message?: unknown } };
    const cause = typeof e.cause?.message === 'string' ? `: ${e.cause.message}` : '';
    const error = e.name === 'TimeoutError' ? `no answer within ${o.timeoutMs} ms` : `${String(e.message ?? thrown)}${cause}`;
    return { sentAt, endedAt, status: 0, ok: false, fallback: false, latencyMs: endedAt - sentAt, error };
  }
}

/** Starts sending at once; requests go out on schedule whether or not earlier ones have answered (open loop). */
export function startLoad(o: LoadOptions): LoadHandle {
  if (!(o.ratePerSecond > 0)) throw new Error(`ratePerSecond must be positive, not ${o.ratePerSecond}`);
  const meanGapMs = 1000 / o.ratePerSecond;
  const gap = (): number => (o.arrival === 'poisson' ? -Math.log(1 - Math.random()) * meanGapMs : meanGapMs);
  const done: LoadRecord[] = [];
  const pending = new Map<Promise<void>, PendingRequest>();
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let nextAt = Date.now();

  const fire = (): void => {
    const sentAt = Date.now();
    const entry: PendingRequest = { sentAt, pending: true };
    const p: Promise<void> = send(o, sentAt).then((r) => {
      pending.delete(p);
      done.push(r);
    });
    pending.set(p, entry);
  };
  // Due times are absolute, so a late timer catches up instead of lowering the rate.
  const tick = (): void => {
    if (stopped) return;
    for (let now = Date.now(); nextAt <= now; nextAt += gap()) fire();
    timer = setTimeout(tick, Math.max(0, nextAt - Date.now()));
    timer.unref();
  };
  tick();

  const ordered = (): LoadRecord[] => [...done].sort((a, b) => a.sentAt - b.sentAt);
  return {
    stop: async () => {
      stopped = true;
      clearTimeout(timer);
      await Promise.all([...pending.keys()]);
    },
    records: ordered,
    summary: (fromMs, toMs) => summarize(done, fromMs, toMs),
    healthySince: (afterMs, { window }) => healthySince([...done, ...pending.values()], afterMs, window, o.sloMs),
    inflight: () => pending.size,
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      gateway: { type: 'string' },
      model: { type: 'string' },
      rate: { type: 'string', default: '4' },
      seconds: { type: 'string', default: '10' },
      'timeout-ms': { type: 'string', default: '10000' },
      'slo-ms': { type: 'string', default: '2000' },
      priority: { type: 'string', default: 'interactive' },
      'max-tokens': { type: 'string', default: '16' },
      poisson: { type: 'boolean', default: false },
    },
    strict: true,
  });
  if (!values.gateway || !values.model) throw new Error('usage: load.js --gateway URL --model M [--rate R] [--seconds S] [--timeout-ms N] [--slo-ms N] [--priority batch] [--max-tokens N] [--poisson]');
  const from = Date.now();
  const load = startLoad({
    gatewayUrl: values.gateway.replace(/\/$/, ''),
    model: values.model,
    ratePerSecond: Number(values.rate),
    timeoutMs: Number(values['timeout-ms']),
    sloMs: Number(values['slo-ms']),
    priority: values.priority === 'batch' ? 'batch' : 'interactive',
    arrival: values.poisson ? 'poisson' : 'fixed',
    maxTokens: Number(values['max-tokens']),
  });
  await new Promise((resolve) => setTimeout(resolve, Number(values.seconds) * 1000));
  await load.stop();
  process.stdout.write(`${JSON.stringify(load.summary(from, Date.now()))}\n`);
}

// Run as a program only when this file is the entry, not when the rehearsal imports it.
if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((thrown: unknown) => {
    process.stderr.write(`load: ${thrown instanceof Error ? thrown.message : String(thrown)}\n`);
    process.exit(1);
  });
}
