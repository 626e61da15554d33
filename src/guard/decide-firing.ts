/** The receive-time guard for a firing (alert, runbook) pair, in the order of SPEC §6's decision table. */

import type { Alert } from '../core/alert.js';
import { newId } from '../core/ids.js';
import type { GuardReason } from '../core/run.js';
import type { Runbook } from '../core/runbook.js';
import type { StoreTx } from '../history/run-store.js';
import { extractParams } from '../match/params.js';
import { renderPlan } from '../match/plan.js';

import { renderPool, renderTarget } from '../match/plan.js';
import { cooldownUntil } from './cooldown.js';
import type { DeliveryOutcome } from './guard-types.js';

/** Links and names a rendered plan needs. */
export interface PlanContext {
  readonly publicURL: string;
}

async function skip(tx: StoreTx, out: DeliveryOutcome, alert: Alert, runbook: Runbook, reason: GuardReason): Promise<void> {
  out.decisions.push(await tx.insertDecision({ alert, runbook: runbook.name, decision: 'skip', reason, runId: null }));
}

/** Decides one firing pair inside the delivery's transaction, appending to `out`. */
export async function decideFiring(tx: StoreTx, ctx: PlanContext, alert: Alert, runbook: Runbook, out: DeliveryOutcome): Promise<void> {
  const holder = await tx.findEpisode(runbook.name, alert.fingerprint, alert.startsAt);
  if (holder !== null) {
    out.decisions.push(await tx.addDelivery(holder.decisionId));
    return;
  }
  if (await tx.globalPaused()) return skip(tx, out, alert, runbook, 'paused');
  if (await tx.runbookPaused(runbook.name)) return skip(tx, out, alert, runbook, 'runbook_paused');

  const params = extractParams(runbook, alert);
  if (!params.ok) return skip(tx, out, alert, runbook, 'param_invalid');
  const target = renderTarget(runbook, params.params);
  if (!target.ok || target.value === '') return skip(tx, out, alert, runbook, 'param_invalid');
  const pool = runbook.pool === null ? null : renderPool(runbook, params.params, target.value);
  if (pool !== null && (!pool.ok || pool.value === '')) return skip(tx, out, alert, runbook, 'param_invalid');

  const now = tx.now();
  let reason: GuardReason | null = null;
  let notBefore = now;
  if (runbook.mode === 'shadow') {
    reason = 'shadow';
  } else {
    if ((await tx.activeRunOf(runbook.name, target.value)) !== null) return skip(tx, out, alert, runbook, 'already_running');
    const { count, perMs } = runbook.safety.maxAttempts;
    if ((await tx.attemptsSince(runbook.name, target.value, now - perMs)) >= count) {
      return skip(tx, out, alert, runbook, 'attempts_exhausted');
    }
    const until = cooldownUntil(runbook.safety, await tx.lastOutcome(runbook.name, target.value), now);
    if (until !== null) {
      reason = 'cooldown';
      notBefore = until;
    }
  }

  const runId = newId(now);
  const runUrl = `${ctx.publicURL}/runs/${runId}`;
  const poolValue = pool?.ok ? pool.value : null;
  const plan = renderPlan(runbook, { params: params.params, target: target.value, pool: poolValue, runId, runUrl, alert });
  if (!plan.ok) return skip(tx, out, alert, runbook, 'param_invalid');
  await tx.insertRun({
    id: runId,
    runbook: runbook.name,
    runbookHash: runbook.hash,
    faultClass: runbook.faultClass,
    target: target.value,
    pool: poolValue,
    mode: runbook.mode,
    state: runbook.mode === 'shadow' ? 'shadow' : 'pending',
    reason,
    alert,
    params: params.params,
    plan: plan.plan,
    notBefore,
    maxPendingAgeMs: runbook.safety.maxPendingAgeMs,
  });
  out.runs.push(runId);
  out.decisions.push(await tx.insertDecision({ alert, runbook: runbook.name, decision: 'run', reason, runId }));
}
