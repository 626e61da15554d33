/** Verifies a tier in Prometheus (SPEC §4): a PromQL query that must hold, or the alert's ALERTS series seen firing and then gone. */

import type { Logger } from 'pino';
import type { LabelSet } from '../core/alert.js';
import { systemClock, type Clock } from '../core/clock.js';
import { toError } from '../core/errors.js';
import type { VerifyDef } from '../core/runbook.js';
import { abortableDelay } from '../execute/abortable-delay.js';
import type { TierVerification, VerifyTier } from '../execute/run-walk.js';
import { promqlString, seriesMatchesAlert } from './alert-firing.js';
import type { PrometheusClient } from './prometheus-client.js';
import { isEmpty, type QueryResult } from './query-result.js';
import {
  MAX_RECENT_CHECKS,
  seenFiringInRun,
  summarize,
  summarizeError,
  type CheckMark,
  type CheckSummary,
  type VerifyOutcome,
  type VerifyRecord,
} from './verify-record.js';

/** What createTierVerifier needs. */
export interface TierVerifierDeps {
  /** Null when `prometheus.url` is not configured: every tier with a verify then fails, saying so. */
  readonly prometheus: PrometheusClient | null;
  readonly logger: Logger;
  readonly clock?: Clock;
}

/** A query slower than this is abandoned and counted as a failed check; a shorter `every` shortens it (to 1 s at least). */
const MAX_QUERY_TIMEOUT_MS = 10_000;
const MIN_QUERY_TIMEOUT_MS = 1_000;
/** The record's `error` when a tier has a verify and no Prometheus is configured. */
export const NOT_CONFIGURED = 'prometheus.url is not configured: the tier cannot be verified';

/** How one kind of verification reads an answer. */
interface Judge {
  readonly query: string;
  /** Whether success holds at this answer. */
  judge(result: QueryResult, at: number): boolean;
  /** The part of the answer worth keeping. */
  shown(result: QueryResult): QueryResult;
  /** The outcome when `within` passed without success, after at least one answer. */
  readonly missed: () => VerifyOutcome;
  readonly seenFiringAt?: () => number | null;
}

function promqlJudge(query: string): Judge {
  return { query, judge: (r) => !isEmpty(r), shown: (r) => r, missed: () => 'timed_out' };
}

/** The alert's series (firing or pending) among an ALERTS answer: only the labels a series carries are compared. */
function alertSeries(result: QueryResult, labels: LabelSet): QueryResult {
  if (result.resultType !== 'vector') return { resultType: 'vector', result: [], warnings: result.warnings };
  return { ...result, result: result.result.filter((s) => seriesMatchesAlert(s, labels)) };
}

function alertResolvedJudge(labels: LabelSet, seenBefore: number | null): Judge {
  const alertname = Object.hasOwn(labels, 'alertname') ? (labels.alertname ?? '') : '';
  let seen = seenBefore;
  return {
    query: `ALERTS{alertname=${promqlString(alertname)}}`,
    judge: (result, at) => {
      const mine = alertSeries(result, labels);
      if (mine.resultType !== 'vector') return false;
      if (seen === null && mine.result.some((s) => s.metric.alertstate === 'firing')) seen = at;
      // A pending series means the rule's condition holds again: not resolved. Gone counts only after seen firing.
      return seen !== null && mine.result.length === 0;
    },
    shown: (result) => alertSeries(result, labels),
    missed: () => (seen === null ? 'alert_not_found' : 'timed_out'),
    seenFiringAt: () => seen,
  };
}

/** Builds the executor's VerifyTier: no verify → unverified but ok; otherwise polls until verified or `within` passed. */
export function createTierVerifier(deps: TierVerifierDeps): VerifyTier {
  const clock = deps.clock ?? systemClock;
  return async ({ runId, tierIndex, tier, run, signal, resumeFrom }): Promise<TierVerification> => {
    const v = tier.verify;
    if (v === undefined || v === null) return { verified: false, ok: true };
    const judge = v.kind === 'promql' ? promqlJudge(v.query) : alertResolvedJudge(run.alert.labels, seenFiringInRun(run, tierIndex));
    const logger = deps.logger.child({ runId, tierIndex, tier: tier.name, verify: v.kind });
    const record = deps.prometheus === null ? notConfigured(v, judge, clock.now()) : await poll({ client: deps.prometheus, v, judge, signal, clock, logger, resumeFrom });
    logger.info({ outcome: record.outcome, checks: record.checks, errors: record.errors, error: record.error }, 'tier verification ended');
    const verified = record.outcome === 'verified';
    return { verified, ok: verified, record };
  };
}

function notConfigured(v: VerifyDef<string>, judge: Judge, now: number): VerifyRecord {
  const at = new Date(now).toISOString();
  return { ...base(v, judge.query, now), error: NOT_CONFIGURED, outcome: 'error', endedAt: at };
}

function base(v: VerifyDef<string>, query: string, startedAt: number): VerifyRecord {
  const { kind, everyMs, withinMs, stableForMs } = v;
  return {
    kind,
    query,
    everyMs,
    withinMs,
    stableForMs,
    checks: 0,
    errors: 0,
    lastResult: null,
    error: null,
    outcome: 'running',
    startedAt: new Date(startedAt).toISOString(),
    endedAt: null,
    holdingSince: null,
    ...(kind === 'alertResolved' && { seenFiringAt: null }),
  };
}

interface Poll {
  readonly client: PrometheusClient;
  readonly v: VerifyDef<string>;
  readonly judge: Judge;
  readonly signal: AbortSignal;
  readonly clock: Clock;
  readonly logger: Logger;
  /** A resumed verification keeps its original start, so `within` is not granted twice. */
  readonly resumeFrom?: number;
}

type Check = { readonly ok: true; readonly result: QueryResult } | { readonly ok: false; readonly message: string };

async function check(p: Poll): Promise<Check> {
  const timeoutMs = Math.max(MIN_QUERY_TIMEOUT_MS, Math.min(p.v.everyMs, MAX_QUERY_TIMEOUT_MS));
  try {
    return { ok: true, result: await p.client.query(p.judge.query, { signal: p.signal, timeoutMs }) };
  } catch (thrown) {
    return { ok: false, message: toError(thrown).message };
  }
}

/** Polls every `everyMs` from the start until `withinMs` after it; success must hold on every check for `stableForMs`. */
async function poll(p: Poll): Promise<VerifyRecord> {
  const startedAt = p.resumeFrom ?? p.clock.now();
  const deadline = startedAt + p.v.withinMs;
  let checks = 0;
  let errors = 0;
  let answered = 0;
  let lastResult: CheckSummary | null = null;
  let error: string | null = null;
  let holdingSince: number | null = null;
  const recentChecks: CheckMark[] = [];
  const mark = (at: number, result: CheckMark['result']): void => {
    recentChecks.push({ at: new Date(at).toISOString(), result });
    if (recentChecks.length > MAX_RECENT_CHECKS) recentChecks.shift();
  };
  const end = (outcome: VerifyOutcome): VerifyRecord => {
    const seen = p.judge.seenFiringAt?.();
    const iso = (ms: number | null | undefined): string | null => (ms === null || ms === undefined ? null : new Date(ms).toISOString());
    return {
      ...base(p.v, p.judge.query, startedAt),
      ...{ checks, errors, lastResult, error, outcome, endedAt: iso(p.clock.now()), holdingSince: iso(holdingSince) },
      ...(seen !== undefined && { seenFiringAt: iso(seen) }),
      recentChecks: [...recentChecks],
    };
  };
  for (;;) {
    if (p.signal.aborted) return end('canceled');
    const at = p.clock.now();
    const c = await check(p);
    if (p.signal.aborted) return end('canceled');
    checks++;
    if (c.ok) {
      answered++;
      lastResult = summarize(at, p.judge.shown(c.result));
      const held = p.judge.judge(c.result, at);
      mark(at, held ? 'held' : 'not_held');
      holdingSince = held ? (holdingSince ?? at) : null;
      if (holdingSince !== null && at - holdingSince >= p.v.stableForMs) return end('verified');
    } else {
      // A failed query is never success, and breaks the streak: the result was not seen holding.
      if (errors === 0) p.logger.warn({ error: c.message }, 'verification query failed; retrying until within');
      errors++;
      error = c.message;
      lastResult = summarizeError(at, c.message);
      mark(at, 'error');
      holdingSince = null;
    }
    const now = p.clock.now();
    if (now >= deadline) return end(answered === 0 ? 'error' : p.judge.missed());
    if (!(await abortableDelay(Math.min(at + p.v.everyMs, deadline) - now, p.signal))) return end('canceled');
  }
}
