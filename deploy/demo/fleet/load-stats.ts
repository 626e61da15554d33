/** What the load generator's records say: counts and latency over a time window, and when service looked healthy again. */

/** One client request as the load generator saw it. */
export interface LoadRecord {
  /** Epoch ms when it was sent. */
  readonly sentAt: number;
  readonly endedAt: number;
  /** The HTTP status; 0 when no answer came (a network error or the client's timeout). */
  readonly status: number;
  /** A 2xx answer came (a fallback answer is 2xx too). */
  readonly ok: boolean;
  /** The gateway answered with its degraded fallback. */
  readonly fallback: boolean;
  readonly latencyMs: number;
  readonly error?: string;
  /** The replica that answered (the gateway's x-gateway-replica answer header), when one did. */
  readonly replica?: string;
}

/** Counts and latency of the requests sent in a window. */
export interface LoadSummary {
  readonly requests: number;
  /** Non-2xx answers, network errors and timeouts (a fallback answer is not a failure). */
  readonly failures: number;
  readonly fallbacks: number;
  /** Latency percentiles of the requests a replica served (ok, not fallback); null when there were none. */
  readonly p50Ms: number | null;
  readonly p99Ms: number | null;
}

/** A request sent and not answered yet. */
export interface PendingRequest {
  readonly sentAt: number;
  readonly pending: true;
}

/** The nearest-rank percentile `q` (0..1) of ascending `sorted`; null when empty. */
export function percentile(sorted: readonly number[], q: number): number | null {
  if (sorted.length === 0) return null;
  const rank = Math.max(1, Math.ceil(q * sorted.length));
  return sorted[Math.min(sorted.length, rank) - 1] ?? null;
}

/** Summarises the finished requests sent in [fromMs, toMs]. */
export function summarize(records: readonly LoadRecord[], fromMs = -Infinity, toMs = Infinity): LoadSummary {
  const inWindow = records.filter((r) => r.sentAt >= fromMs && r.sentAt <= toMs);
  const served = inWindow.filter((r) => r.ok && !r.fallback).map((r) => r.latencyMs).sort((a, b) => a - b);
  return {
    requests: inWindow.length,
    failures: inWindow.filter((r) => !r.ok && !r.fallback).length,
    fallbacks: inWindow.filter((r) => r.fallback).length,
    p50Ms: percentile(served, 0.5),
    p99Ms: percentile(served, 0.99),
  };
}

/** Whether a finished request is what a client calls healthy service: ok, not the fallback, within the SLO. */
export function isGood(r: LoadRecord, sloMs: number): boolean {
  return r.ok && !r.fallback && r.latencyMs <= sloMs;
}

/**
 * The sentAt of the first request of the earliest run of `window` consecutive good requests
 * (in the order they were sent) among those sent at or after `afterMs`; null when there is none
 * yet. A request still unanswered breaks a run: it is not known to be good.
 */
export function healthySince(sent: readonly (LoadRecord | PendingRequest)[], afterMs: number, window: number, sloMs: number): number | null {
  const ordered = sent.filter((r) => r.sentAt >= afterMs).sort((a, b) => a.sentAt - b.sentAt);
  let runStart: number | null = null;
  let run = 0;
  for (const r of ordered) {
    if ('pending' in r || !isGood(r, sloMs)) {
      run = 0;
      runStart = null;
      continue;
    }
    runStart ??= r.sentAt;
    if (++run >= Math.max(1, window)) return runStart;
  }
  return null;
}
