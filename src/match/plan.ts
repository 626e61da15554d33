/** Renders a runbook for one alert: its target, its pool, and the plan a run carries and the executor runs. */

import type { Alert } from '../core/alert.js';
import type { Plan, PlannedTier, Runbook, TierDef, VerifyDef } from '../core/runbook.js';
import type { Compiled } from './matcher.js';
import { renderStep, StepRenderError } from './render-step.js';
import { renderTemplate, type RenderContext } from './template.js';

/** What a plan is rendered from; `pool` is null when the runbook has none. */
export interface PlanInput {
  readonly params: Readonly<Record<string, string>>;
  readonly target: string;
  readonly pool: string | null;
  readonly runId: string;
  readonly runUrl: string;
  readonly alert: Pick<Alert, 'labels' | 'fingerprint'>;
}

export type PlanResult = { readonly ok: true; readonly plan: Plan } | { readonly ok: false; readonly message: string };

/** Renders the runbook's target from its params; a failure means `param_invalid`. */
export function renderTarget(runbook: Pick<Runbook, 'target'>, params: Readonly<Record<string, string>>): Compiled<string> {
  const r = renderTemplate(runbook.target, { params });
  if (!r.ok) return { ok: false, message: `target: ${r.message}` };
  if (r.value === '') return { ok: false, message: 'target renders as the empty string' };
  return r;
}

/** Renders the runbook's pool (null when it has none); a failure means `param_invalid`. */
export function renderPool(runbook: Pick<Runbook, 'pool'>, params: Readonly<Record<string, string>>, target: string): Compiled<string | null> {
  if (runbook.pool === null) return { ok: true, value: null };
  const r = renderTemplate(runbook.pool, { params, target });
  if (!r.ok) return { ok: false, message: `pool: ${r.message}` };
  return r;
}

function renderVerify(tier: TierDef, ctx: RenderContext): VerifyDef<string> | null {
  const v = tier.verify;
  if (v === null || v.kind === 'alertResolved') return v;
  const query = renderTemplate(v.query, ctx);
  if (!query.ok) throw new StepRenderError(`tier "${tier.name}" verify: ${query.message}`);
  return { kind: 'promql', query: query.value, everyMs: v.everyMs, withinMs: v.withinMs, stableForMs: v.stableForMs };
}

function renderTier(tier: TierDef, ctx: RenderContext): PlannedTier {
  return {
    name: tier.name,
    steps: tier.steps.map((s) => renderStep(s, ctx)),
    onFailure: tier.onFailure.map((s) => renderStep(s, ctx)),
    verify: renderVerify(tier, ctx),
    approvalTimeoutMs: tier.approvalTimeoutMs,
  };
}

/** The environment every step of the run sees: params as PARAM_<NAME> plus the alert's name and fingerprint and the run's id and URL. */
export function planEnv(params: Readonly<Record<string, string>>, input: Omit<PlanInput, 'params' | 'target' | 'pool'>): Record<string, string> {
  const env = Object.create(null) as Record<string, string>;
  for (const name of Object.keys(params)) env[`PARAM_${name.toUpperCase()}`] = params[name] ?? '';
  const alertname: unknown = input.alert.labels.alertname;
  env.ALERT_NAME = typeof alertname === 'string' ? alertname : '';
  env.ALERT_FINGERPRINT = input.alert.fingerprint;
  env.RUN_ID = input.runId;
  env.RUN_URL = input.runUrl;
  return env;
}

/** Renders every tier (steps and verify query) and the precheck; a reference with no value (an absent optional param) or a refused host or URL fails the plan, which means `param_invalid`. */
export function renderPlan(runbook: Runbook, input: PlanInput): PlanResult {
  const ctx: RenderContext = { params: input.params, target: input.target, pool: input.pool, runId: input.runId, runUrl: input.runUrl, labels: input.alert.labels };
  let tiers: PlannedTier[];
  try {
    tiers = runbook.tiers.map((t) => renderTier(t, ctx));
  } catch (err) {
    if (err instanceof StepRenderError) return { ok: false, message: err.message };
    throw err;
  }
  let precheck: string | null = null;
  if (runbook.safety.precheck !== null) {
    const r = renderTemplate(runbook.safety.precheck, ctx);
    if (!r.ok) return { ok: false, message: `precheck: ${r.message}` };
    precheck = r.value;
  }
  const plan: Plan = { tiers, env: Object.freeze(planEnv(input.params, input)), cancelOnResolve: runbook.cancelOnResolve, precheck };
  return { ok: true, plan };
}
