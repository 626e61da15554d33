/**
 * The overview's figures over the runs created in a window, from their summaries alone (what GET /api/v1/runs
 * lists), so that anyone can compute the same numbers from the API. The definitions are exported as text: the page
 * prints them, and they are what the code below does.
 */

import { ACTIVE_STATES, RUN_STATES, type RunState, type RunSummary } from '../core/run.js';

/** The windows the overview offers, by their query value. */
export const WINDOWS = { '1h': 3_600_000, '6h': 21_600_000, '24h': 86_400_000, '7d': 604_800_000 } as const;
export type WindowName = keyof typeof WINDOWS;
export const DEFAULT_WINDOW: WindowName = '24h';

export const RECOVERY_DEFINITION =
  'Recovery time: from the alert’s startsAt (when Prometheus started firing it) to the run’s endedAt, over the runs of the window that ended succeeded (verified, or unverified for tiers without a verify). p50 and p90 are nearest-rank percentiles: the value at rank ⌈p/100 × n⌉ of the n times in ascending order.';
export const ESCALATION_DEFINITION =
  'Escalation rate: runs that ended failed or interrupted, or were skipped as stale (those that paged a person: RemediationFailed), divided by the runs of the window that ended, shadow runs left out. Active runs are not counted until they end.';

/** One fault class: its runs by state, and its escalations. */
export interface ClassRow {
  readonly faultClass: string;
  readonly total: number;
  readonly byState: Readonly<Record<RunState, number>>;
  readonly escalated: number;
  /** Runs that ended, shadow runs left out: the escalation rate's denominator. */
  readonly ended: number;
}

export interface RecoveryRow {
  readonly faultClass: string;
  /** Succeeded runs whose recovery time is known. */
  readonly n: number;
  /** Of them, those verified in Prometheus. */
  readonly verified: number;
  readonly p50Ms: number;
  readonly p90Ms: number;
  /** Succeeded runs left out because their alert's startsAt is after their end (a clock skew between Prometheus and the store). */
  readonly skewed: number;
}

export interface TargetRow {
  readonly target: string;
  readonly runs: number;
  readonly escalated: number;
  /** The newest run's createdAt. */
  readonly lastRunAt: string;
}

export interface OverviewStats {
  readonly total: number;
  readonly byClass: readonly ClassRow[];
  readonly recovery: readonly RecoveryRow[];
  readonly escalated: number;
  readonly ended: number;
  readonly targets: readonly TargetRow[];
}

/** How many of the busiest targets are shown. */
export const TOP_TARGETS = 10;

/** true for a run that escalated to a person by how it ended. */
export function escalatedRun(run: Pick<RunSummary, 'state' | 'reason'>): boolean {
  return run.state === 'failed' || run.state === 'interrupted' || (run.state === 'skipped' && run.reason === 'stale');
}

/** true for a run that counts in the escalation rate's denominator. */
export function endedRun(run: Pick<RunSummary, 'state'>): boolean {
  return !ACTIVE_STATES.includes(run.state) && run.state !== 'shadow';
}

/** The nearest-rank percentile of ascending values; 0 for none. */
export function percentile(ascending: readonly number[], p: number): number {
  if (ascending.length === 0) return 0;
  const rank = Math.max(1, Math.ceil((p / 100) * ascending.length));
  return ascending[Math.min(rank, ascending.length) - 1] ?? 0;
}

function zeroStates(): Record<RunState, number> {
  return Object.fromEntries(RUN_STATES.map((s) => [s, 0])) as Record<RunState, number>;
}

function recoveryRows(runs: readonly RunSummary[]): RecoveryRow[] {
  const byClass = new Map<string, { times: number[]; verified: number; skewed: number }>();
  for (const r of runs) {
    if (r.state !== 'succeeded' || r.endedAt === null) continue;
    const entry = byClass.get(r.faultClass) ?? { times: [], verified: 0, skewed: 0 };
    byClass.set(r.faultClass, entry);
    const ms = Date.parse(r.endedAt) - Date.parse(r.startsAt);
    if (!Number.isFinite(ms) || ms < 0) {
      entry.skewed++;
      continue;
    }
    entry.times.push(ms);
    if (r.reason === 'verified') entry.verified++;
  }
  return [...byClass.entries()]
    .map(([faultClass, e]) => {
      const sorted = [...e.times].sort((a, b) => a - b);
      return { faultClass, n: sorted.length, verified: e.verified, p50Ms: percentile(sorted, 50), p90Ms: percentile(sorted, 90), skewed: e.skewed };
    })
    .sort((a, b) => a.faultClass.localeCompare(b.faultClass));
}

function targetRows(runs: readonly RunSummary[]): TargetRow[] {
  const byTarget = new Map<string, { runs: number; escalated: number; lastRunAt: string }>();
  for (const r of runs) {
    const entry = byTarget.get(r.target) ?? { runs: 0, escalated: 0, lastRunAt: r.createdAt };
    entry.runs++;
    if (escalatedRun(r)) entry.escalated++;
    if (Date.parse(r.createdAt) > Date.parse(entry.lastRunAt)) entry.lastRunAt = r.createdAt;
    byTarget.set(r.target, entry);
  }
  return [...byTarget.entries()]
    .map(([target, e]) => ({ target, ...e }))
    .sort((a, b) => b.runs - a.runs || b.escalated - a.escalated || a.target.localeCompare(b.target))
    .slice(0, TOP_TARGETS);
}

/** The figures over these runs (those created in the window). */
export function overviewStats(runs: readonly RunSummary[]): OverviewStats {
  const classes = new Map<string, { byState: Record<RunState, number>; escalated: number; ended: number }>();
  for (const r of runs) {
    const entry = classes.get(r.faultClass) ?? { byState: zeroStates(), escalated: 0, ended: 0 };
    entry.byState[r.state]++;
    if (escalatedRun(r)) entry.escalated++;
    if (endedRun(r)) entry.ended++;
    classes.set(r.faultClass, entry);
  }
  const byClass = [...classes.entries()]
    .map(([faultClass, e]) => ({ faultClass, total: Object.values(e.byState).reduce((a, b) => a + b, 0), ...e }))
    .sort((a, b) => b.total - a.total || a.faultClass.localeCompare(b.faultClass));
  return {
    total: runs.length,
    byClass,
    recovery: recoveryRows(runs),
    escalated: byClass.reduce((a, c) => a + c.escalated, 0),
    ended: byClass.reduce((a, c) => a + c.ended, 0),
    targets: targetRows(runs),
  };
}
