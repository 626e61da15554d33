/** One alert against the catalog: the runbooks that match and, for each, the decision as far as it is known offline. */

import type { Alert } from '../core/alert.js';
import { formatDuration } from '../core/duration.js';
import type { Runbook } from '../core/runbook.js';
import { MAX_COOLDOWN_MS } from '../guard/cooldown.js';
import type { Catalog } from '../match/catalog.js';
import { extractParams } from '../match/params.js';
import { planEnv, renderPlan, renderPool, renderTarget } from '../match/plan.js';
import { renderTemplate, type RenderContext } from '../match/template.js';
import { explainTiers } from './explain-plan.js';
import { EXPLAIN_RUN_ID, EXPLAIN_RUN_URL, LIVE_AT_CLAIM, LIVE_AT_RECEIVE, type AlertExplanation, type PairExplanation, type SafetyExplanation } from './explanation.js';

type Rendered =
  | { readonly ok: true; readonly params: Readonly<Record<string, string>>; readonly target: string; readonly pool: string | null }
  | { readonly ok: false; readonly param: string | null; readonly message: string };

// Receive checks these before it renders params, so they can still turn a param_invalid or shadow pair into a skip.
const BEFORE_PARAMS = LIVE_AT_RECEIVE.filter((r) => r === 'duplicate' || r === 'paused' || r === 'runbook_paused');
const NONE = { atReceive: [], atClaim: [] } as const;

function paramIn(message: string): string | null {
  return /\{\{ params\.([a-z][a-z0-9_]*) \}\}/.exec(message)?.[1] ?? null;
}

/** Params, target and pool exactly as receive renders them (an empty target or pool is never a wildcard). */
function renderPair(runbook: Runbook, alert: Alert): Rendered {
  const params = extractParams(runbook, alert);
  if (!params.ok) return { ok: false, param: params.param, message: params.message };
  const target = renderTarget(runbook, params.params);
  if (!target.ok) return { ok: false, param: paramIn(target.message), message: target.message };
  const pool = renderPool(runbook, params.params, target.value);
  if (!pool.ok) return { ok: false, param: paramIn(pool.message), message: pool.message };
  if (pool.value === '') return { ok: false, param: null, message: 'pool renders as the empty string' };
  return { ok: true, params: params.params, target: target.value, pool: pool.value };
}

function contextOf(alert: Alert, r: Rendered): RenderContext {
  const base = { runId: EXPLAIN_RUN_ID, runUrl: EXPLAIN_RUN_URL, labels: alert.labels };
  return r.ok ? { ...base, params: r.params, target: r.target, pool: r.pool } : { ...base, params: {} };
}

function safetyOf(runbook: Runbook, ctx: RenderContext, renderedPrecheck: string | null | undefined): SafetyExplanation {
  const s = runbook.safety;
  let precheck = renderedPrecheck ?? null;
  if (renderedPrecheck === undefined && s.precheck !== null) {
    const r = renderTemplate(s.precheck, ctx);
    precheck = r.ok ? r.value : s.precheck.source;
  }
  return {
    cooldown: formatDuration(s.cooldownMs),
    cooldownNote: `per (runbook, target) after a run ends; doubles after each failed run, up to ${formatDuration(Math.max(MAX_COOLDOWN_MS, s.cooldownMs))}; a success resets it`,
    maxAttempts: { count: s.maxAttempts.count, per: formatDuration(s.maxAttempts.perMs) },
    maxConcurrentPerPool: runbook.pool === null ? null : s.maxConcurrentPerPool,
    fleetBreaker: { maxTargets: s.fleetBreaker.maxTargets, per: formatDuration(s.fleetBreaker.perMs) },
    maxPendingAge: formatDuration(s.maxPendingAgeMs),
    waitFor: formatDuration(s.waitForMs),
    precheck,
    silence: s.silence,
    cancelOnResolve: runbook.cancelOnResolve,
  };
}

function resolvedNote(runbook: Runbook): string {
  const running = runbook.cancelOnResolve ? 'and a running one too (cancelOnResolve: true)' : 'but lets a running one go on (cancelOnResolve: false)';
  return `resolved notifications never start runs; the service cancels this episode's pending run, if any, ${running}`;
}

function enforceNote(runbook: Runbook): string {
  const wait = runbook.safety.waitForMs > 0 ? `, deferred by waitFor ${formatDuration(runbook.safety.waitForMs)}` : '';
  return `a run would be created${wait}, unless a guard that reads live state decides otherwise`;
}

/** Decides one (alert, runbook) pair offline: resolved, param_invalid, shadow or run; it renders but runs nothing. */
export function explainPair(runbook: Runbook, alert: Alert): PairExplanation {
  const r = renderPair(runbook, alert);
  const ctx = contextOf(alert, r);
  const head = { runbook: runbook.name, faultClass: runbook.faultClass, file: runbook.file, mode: runbook.mode };
  const shown = r.ok ? { params: r.params, target: r.target, pool: r.pool } : { params: null, target: null, pool: null };
  const none = { env: null, tiers: null, safety: safetyOf(runbook, ctx, undefined) };
  if (alert.status === 'resolved') {
    const paramInvalid = r.ok ? null : { param: r.param, message: r.message };
    return { ...head, decision: 'skip', reason: 'resolved', note: resolvedNote(runbook), ...shown, paramInvalid, notEvaluated: NONE, ...none };
  }
  const invalidNote = 'no run; the service records the decision and escalates it, since the runbook or the alert is wrong';
  const invalidHead = { ...head, decision: 'skip', reason: 'param_invalid', note: invalidNote, notEvaluated: { atReceive: BEFORE_PARAMS, atClaim: [] } } as const;
  if (!r.ok) return { ...invalidHead, ...shown, paramInvalid: { param: r.param, message: r.message }, ...none };
  const plan = renderPlan(runbook, { ...r, runId: EXPLAIN_RUN_ID, runUrl: EXPLAIN_RUN_URL, alert });
  if (!plan.ok) return { ...invalidHead, ...shown, paramInvalid: { param: paramIn(plan.message), message: plan.message }, ...none };
  const rendered = { ...shown, paramInvalid: null, safety: safetyOf(runbook, ctx, plan.plan.precheck ?? null), env: { ...planEnv(r.params, { runId: EXPLAIN_RUN_ID, runUrl: EXPLAIN_RUN_URL, alert }) }, tiers: explainTiers(plan.plan, runbook, ctx) };
  if (runbook.mode === 'shadow') {
    const note = 'a run in state shadow would record this plan; nothing runs, and no lock, cooldown or budget is touched';
    return { ...head, decision: 'run', reason: 'shadow', note, notEvaluated: { atReceive: BEFORE_PARAMS, atClaim: [] }, ...rendered };
  }
  return { ...head, decision: 'run', reason: null, note: enforceNote(runbook), notEvaluated: { atReceive: LIVE_AT_RECEIVE, atClaim: LIVE_AT_CLAIM }, ...rendered };
}

/** Explains one alert: every matching runbook in catalog order, or `skip no_match` when none matches. */
export function explainAlert(catalog: Catalog, alert: Alert): AlertExplanation {
  const matched = catalog.match(alert);
  const alertname: unknown = alert.labels.alertname;
  return {
    alertname: typeof alertname === 'string' ? alertname : '',
    status: alert.status,
    fingerprint: alert.fingerprint,
    startsAt: alert.startsAt,
    labels: alert.labels,
    annotations: alert.annotations,
    decision: matched.length === 0 ? { decision: 'skip', reason: 'no_match' } : null,
    runbooks: matched.map((rb) => explainPair(rb, alert)),
  };
}
