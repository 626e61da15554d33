/**
 * A run laid out on one time axis, as data: the wait before it started, each tier's approval wait, tiers, steps and
 * verifications as rows in time order, the checks as marks, and the alert's start and the run's end as events.
 * run-timeline.ts draws it; keeping the layout apart keeps it testable without parsing markup.
 */

import { formatDuration } from '../core/duration.js';
import { ACTIVE_STATES, type RunDetail, type StepRecord, type TierRecord } from '../core/run.js';
import type { PlannedStep, PlannedTier } from '../core/runbook.js';
import type { CheckMark, VerificationRecord } from '../core/verification.js';

export type RowKind = 'queue' | 'approval' | 'tier' | 'step' | 'verify';
/** The colour a row is drawn in: a run state's class (`s-…` in the stylesheet). */
export type Tone = 'succeeded' | 'failed' | 'running' | 'pending' | 'canceled' | 'skipped' | 'shadow' | 'awaiting_approval' | 'interrupted';

/** One bar (or, never started, one line of text) of the timeline. */
export interface TimelineRow {
  readonly kind: RowKind;
  /** 0 for the run's own rows and tiers, 1 for what belongs to a tier. */
  readonly depth: 0 | 1;
  readonly name: string;
  /** The outcome as a word or two: succeeded, failed, timed_out, awaiting approval, would run, not run… */
  readonly state: string;
  readonly tone: Tone;
  /** Attempts, until, exit code, the command: shown beside the bar. */
  readonly note: string;
  /** Epoch ms; null when it never started. */
  readonly start: number | null;
  /** Epoch ms; null while it is still going (drawn up to now). */
  readonly end: number | null;
  readonly checks: readonly { readonly at: number; readonly result: CheckMark['result'] }[];
  /** Where it comes in the plan: the tie-break of rows that start in the same millisecond. */
  readonly order: number;
}

/** A moment marked across the whole axis. */
export interface TimelineEvent {
  readonly kind: 'alert' | 'created' | 'started' | 'approved' | 'ended' | 'now';
  readonly label: string;
  readonly at: number;
}

export interface Timeline {
  /** Rows with a start, in time order, then those that never started, in plan order. */
  readonly rows: readonly TimelineRow[];
  readonly events: readonly TimelineEvent[];
  /** The axis, epoch ms. */
  readonly from: number;
  readonly to: number;
  /** Set when the alert started so long before the run that the axis leaves it out: how long before `from`. */
  readonly alertEarlierMs: number | null;
  /** A shadow run: nothing ran, the rows are its plan. */
  readonly shadow: boolean;
  readonly active: boolean;
  /** Where a bar still going ends. */
  readonly now: number;
}

const ms = (iso: string | null | undefined): number | null => {
  const t = iso ? Date.parse(iso) : NaN;
  return Number.isFinite(t) ? t : null;
};

function stepTone(state: StepRecord['state'] | TierRecord['state']): Tone {
  return state === 'pending' ? 'pending' : state;
}

/** Not started: `pending` while the run may still get there, `not run` once it ended. */
function unstarted(active: boolean): Pick<TimelineRow, 'state' | 'tone'> {
  return active ? { state: 'pending', tone: 'pending' } : { state: 'not run', tone: 'skipped' };
}

function stepNote(step: StepRecord, planned: PlannedStep | undefined): string {
  const parts: string[] = [planned?.waitMs !== undefined ? `wait ${formatDuration(planned.waitMs)}` : step.kind];
  if (step.attempts > 1) parts.push(`${step.attempts} attempts`);
  if (planned?.until) parts.push(`until: every ${formatDuration(planned.until.everyMs)} within ${formatDuration(planned.until.withinMs)}`);
  if (step.exitCode !== null && step.exitCode !== 0) parts.push(`exit ${step.exitCode}`);
  if (step.timedOut) parts.push('timed out');
  else if (step.stoppedBy !== null) parts.push(`stopped: ${step.stoppedBy}`);
  if (step.error !== null) parts.push(step.error.code);
  if (planned?.continueOnError) parts.push('continueOnError');
  return parts.join(' · ');
}

const VERIFY_TONES: Readonly<Record<string, Tone>> = { verified: 'succeeded', running: 'running', canceled: 'canceled' };

function verifyRow(record: VerificationRecord | null, planned: PlannedTier | undefined, active: boolean, order: number): TimelineRow | null {
  const def = planned?.verify;
  if (record === null && (def === undefined || def === null)) return null;
  const what = record?.kind ?? def?.kind ?? 'promql';
  const base = { kind: 'verify' as const, depth: 1 as const, name: `verify (${what})`, order };
  if (record === null) return { ...base, ...unstarted(active), note: '', start: null, end: null, checks: [] };
  const full = 'checks' in record ? record : null;
  const note = full ? `${full.checks} checks${full.errors > 0 ? `, ${full.errors} failed` : ''} · every ${formatDuration(full.everyMs)} within ${formatDuration(full.withinMs)}` : 'checking';
  const checks = (full?.recentChecks ?? []).flatMap((c) => {
    const at = ms(c.at);
    return at === null ? [] : [{ at, result: c.result }];
  });
  const end = ms(full?.endedAt);
  return { ...base, state: record.outcome, tone: VERIFY_TONES[record.outcome] ?? 'failed', note, start: ms(record.startedAt), end, checks };
}

function approvalRow(run: RunDetail, t: number, planned: PlannedTier | undefined, active: boolean, order: number): TimelineRow | null {
  const timeoutMs = planned?.approvalTimeoutMs;
  if (timeoutMs === undefined || timeoutMs === null) return null;
  const base = { kind: 'approval' as const, depth: 1 as const, name: 'approval', order, checks: [], note: `timeout ${formatDuration(timeoutMs)}` };
  const deadline = ms(run.approvalDeadline);
  if (run.approvalTier !== t || deadline === null) return { ...base, ...unstarted(active), start: null, end: null };
  const start = deadline - timeoutMs;
  const approved = ms(run.approvedAt);
  if (approved !== null) return { ...base, state: 'approved', tone: 'succeeded', note: `by ${run.approvedBy ?? '?'}`, start, end: approved };
  if (run.state === 'awaiting_approval') return { ...base, state: 'awaiting approval', tone: 'awaiting_approval', start, end: null };
  const timedOut = run.reason === 'approval_timeout';
  return { ...base, state: timedOut ? 'timed out' : 'not approved', tone: timedOut ? 'failed' : 'canceled', start, end: ms(run.endedAt) };
}

function tierRows(run: RunDetail, tier: TierRecord, t: number, active: boolean, next: () => number): TimelineRow[] {
  const planned: PlannedTier | undefined = run.plan.tiers[t];
  const rows: TimelineRow[] = [];
  const approval = approvalRow(run, t, planned, active, next());
  if (approval) rows.push(approval);
  const start = ms(tier.startedAt);
  const tierState = start === null ? unstarted(active) : { state: tier.state, tone: stepTone(tier.state) };
  rows.push({ kind: 'tier', depth: 0, name: `tier ${t + 1}: ${tier.name}`, ...tierState, note: tier.verified ? 'verified' : '', start, end: ms(tier.endedAt), checks: [], order: next() });
  const push = (step: StepRecord): void => {
    const p = (step.phase === 'onFailure' ? planned?.onFailure : planned?.steps)?.find((s) => s.name === step.name);
    const s = ms(step.startedAt);
    const state = s === null ? unstarted(active) : { state: step.state, tone: stepTone(step.state) };
    const name = step.phase === 'onFailure' ? `${step.name} (onFailure)` : step.name;
    rows.push({ kind: 'step', depth: 1, name, ...state, note: stepNote(step, p), start: s, end: ms(step.endedAt), checks: [], order: next() });
  };
  tier.steps.filter((s) => s.phase === 'steps').forEach(push);
  const verify = verifyRow(tier.verify, planned, active, next());
  if (verify) rows.push(verify);
  tier.steps.filter((s) => s.phase === 'onFailure').forEach(push);
  return rows;
}

/** The plan of a shadow run: what it would run, in order, with no times. */
function shadowRows(run: RunDetail): TimelineRow[] {
  const rows: TimelineRow[] = [];
  const add = (kind: RowKind, depth: 0 | 1, name: string, state: string, note: string): void => {
    rows.push({ kind, depth, name, state, tone: 'shadow', note, start: null, end: null, checks: [], order: rows.length });
  };
  run.plan.tiers.forEach((tier, t) => {
    if (tier.approvalTimeoutMs) add('approval', 1, 'approval', 'would wait', `timeout ${formatDuration(tier.approvalTimeoutMs)}`);
    add('tier', 0, `tier ${t + 1}: ${tier.name}`, 'would run', '');
    tier.steps.forEach((s) => add('step', 1, s.name, 'would run', s.kind));
    if (tier.verify) add('verify', 1, `verify (${tier.verify.kind})`, 'would verify', '');
    tier.onFailure.forEach((s) => add('step', 1, `${s.name} (onFailure)`, 'if it fails', s.kind));
  });
  return rows;
}

function queueRow(run: RunDetail, active: boolean, now: number): TimelineRow | null {
  const created = ms(run.createdAt);
  const started = ms(run.startedAt);
  if (created === null) return null;
  const end = started ?? (active ? null : ms(run.endedAt));
  const waitedMs = (end ?? now) - created;
  if (run.state !== 'pending' && run.state !== 'skipped' && waitedMs < 1000) return null;
  const deferred = ms(run.notBefore);
  const note = deferred !== null && deferred > created ? `not before ${new Date(deferred).toISOString()}` : '';
  const state = run.state === 'pending' ? `waiting${run.reason ? `: ${run.reason}` : ''}` : run.state === 'skipped' ? `skipped: ${run.reason ?? ''}` : 'started';
  const tone: Tone = run.state === 'skipped' ? 'skipped' : run.state === 'pending' ? 'pending' : 'succeeded';
  return { kind: 'queue', depth: 0, name: 'waiting to start', state, tone, note, start: created, end, checks: [], order: -1 };
}

function events(run: RunDetail, active: boolean, now: number): TimelineEvent[] {
  const out: TimelineEvent[] = [];
  const add = (kind: TimelineEvent['kind'], label: string, at: number | null): void => {
    if (at !== null) out.push({ kind, label, at });
  };
  add('alert', 'alert started', ms(run.alert.startsAt));
  add('created', 'run created', ms(run.createdAt));
  if (run.state !== 'shadow') add('started', 'run started', ms(run.startedAt));
  add('approved', `approved by ${run.approvedBy ?? '?'}`, ms(run.approvedAt));
  if (!active) add('ended', `run ended: ${run.state}${run.reason ? ` (${run.reason})` : ''}`, ms(run.endedAt));
  else add('now', `now: ${run.state}`, now);
  return out;
}

function byTime(a: TimelineRow, b: TimelineRow): number {
  if (a.start === null || b.start === null) return a.start === b.start ? a.order - b.order : a.start === null ? 1 : -1;
  return a.start - b.start || a.order - b.order;
}

/** The run's timeline as of `now` (epoch ms; the right end of an active run's axis). */
export function timelineOf(run: RunDetail, now: number): Timeline {
  const active = ACTIVE_STATES.includes(run.state);
  const shadow = run.state === 'shadow';
  let order = 0;
  const next = (): number => order++;
  const queue = shadow ? null : queueRow(run, active, now);
  const ended = ms(run.endedAt);
  // In an ended run nothing is still going: a row left open (a step the run was interrupted in) ends with the run.
  const close = (r: TimelineRow): TimelineRow => (!active && r.start !== null && r.end === null ? { ...r, end: ended ?? r.start } : r);
  const rows = shadow ? shadowRows(run) : [...(queue ? [queue] : []), ...run.tiers.flatMap((tier, t) => tierRows(run, tier, t, active, next))].map(close);
  const marks = events(run, active, now);
  const times = [...rows.flatMap((r) => [r.start, r.end, ...r.checks.map((c) => c.at)]), ...marks.map((e) => e.at)].filter((t): t is number => t !== null);
  const alert = marks.find((e) => e.kind === 'alert');
  const created = ms(run.createdAt) ?? now;
  const runTimes = times.filter((t) => t !== alert?.at);
  let from = Math.min(created, ...runTimes);
  let to = Math.max(created + 1000, ...runTimes);
  let alertEarlierMs: number | null = null;
  if (alert !== undefined && alert.at < from) {
    // An alert that fired long before its run would squeeze the run into a sliver: it is named at the left edge instead.
    if (from - alert.at > 3 * (to - from)) {
      from -= Math.round((to - from) * 0.02);
      alertEarlierMs = from - alert.at;
    } else {
      from = alert.at;
    }
  }
  if (alert !== undefined && alert.at > to) to = alert.at;
  return { rows: [...rows].sort(byTime), events: marks, from, to, alertEarlierMs, shadow, active, now };
}
