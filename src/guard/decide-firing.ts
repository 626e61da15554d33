/** The receive-time guard for a firing (alert, runbook) pair, in the order of SPEC §6's decision table. */

import type { Alert } from '../core/alert.js';
import { newId } from '../core/ids.js';
import type { GuardReason } from '../core/run.js';
import type { Runbook } from '../core/runbook.js';
import type { EpisodeHolder, StoreTx } from '../history/run-store.js';
import { extractParams } from '../match/params.js';
import { renderPlan, renderPool, renderTarget } from '../match/plan.js';
import { cooldownUntil } from './cooldown.js';
import { checkFleetBreaker } from './fleet-breaker.js';
import { recordDecision, type DeliveryOutcome } from './guard-types.js';

/** Links and names a rendered plan needs. */
export interface PlanContext {
  readonly publicURL: string;
}

interface Rendered {
  readonly params: Readonly<Record<string, string>>;
  readonly target: string;
  readonly pool: string | null;
}

/** A run may be created, perhaps deferred (cooldown, waitFor) or in shadow mode; or the pair is skipped. */
type Verdict = { readonly skip: GuardReason; readonly escalate: boolean } | { readonly reason: GuardReason | null; readonly notBefore: number };

/** Records the refusal; it escalates only the first time (episode, runbook, reason) is refused, as repeats fold into that row. */
async function skip(tx: StoreTx, out: DeliveryOutcome, alert: Alert, runbook: Runbook, verdict: { skip: GuardReason; escalate: boolean }, target: string | null): Promise<void> {
  const first = await recordDecision(tx, out, { alert, runbook: runbook.name, decision: 'skip', reason: verdict.skip, runId: null });
  if (verdict.escalate && first) {
    await tx.recordEscalation({ runbook: runbook.name, runId: null, reason: verdict.skip, alert, target });
    out.escalations.push(verdict.skip);
  }
}

/** Params, target and pool, or null when the alert cannot fill them (param_invalid; an empty target is never a wildcard). */
export function render(runbook: Runbook, alert: Alert): Rendered | null {
  const params = extractParams(runbook, alert);
  if (!params.ok) return null;
  const target = renderTarget(runbook, params.params);
  if (!target.ok || target.value === '') return null;
  const pool = renderPool(runbook, params.params, target.value);
  if (!pool.ok || pool.value === '') return null;
  return { params: params.params, target: target.value, pool: pool.value };
}

/** The enforce-mode rules, cheapest and most decisive first. */
async function enforce(tx: StoreTx, runbook: Runbook, target: string, now: number): Promise<Verdict> {
  const breaker = await checkFleetBreaker(tx, runbook, target, now);
  if (breaker !== 'closed') return { skip: 'fleet_breaker', escalate: breaker === 'opened' };
  if ((await tx.activeRunOf(runbook.name, target)) !== null) return { skip: 'already_running', escalate: false };
  const { count, perMs } = runbook.safety.maxAttempts;
  if ((await tx.attemptsSince(runbook.name, target, now - perMs)) >= count) return { skip: 'attempts_exhausted', escalate: true };
  const waitUntil = now + runbook.safety.waitForMs;
  const cooldown = cooldownUntil(runbook.safety, await tx.lastOutcome(runbook.name, target), now);
  if (cooldown !== null) return { reason: 'cooldown', notBefore: Math.max(cooldown, waitUntil) };
  return { reason: null, notBefore: waitUntil };
}

/** States of an ended run whose fix, if the alert still fires past the cooldown, did not hold. */
const ACTED: readonly string[] = ['succeeded', 'failed', 'interrupted'];

/** The episode still fires more than a cooldown after its run acted and ended: the fix did not hold (unless escalated already). */
export function stillFiringDue(runbook: Runbook, holder: EpisodeHolder, now: number): boolean {
  return holder.endedAt !== null && ACTED.includes(holder.state) && now - holder.endedAt > runbook.safety.cooldownMs;
}

/** The episode still fires more than a cooldown after its run ended: the fix did not hold; a person hears of it once. */
async function escalateStillFiring(tx: StoreTx, runbook: Runbook, alert: Alert, holder: EpisodeHolder, out: DeliveryOutcome): Promise<void> {
  if (!stillFiringDue(runbook, holder, tx.now())) return;
  if (await tx.escalated(holder.runId, 'still_firing')) return;
  await tx.recordEscalation({ runbook: runbook.name, runId: holder.runId, reason: 'still_firing', alert, target: null });
  out.escalations.push('still_firing');
}

/** Decides one firing pair inside the delivery's transaction, appending to `out`. */
export async function decideFiring(tx: StoreTx, ctx: PlanContext, alert: Alert, runbook: Runbook, out: DeliveryOutcome): Promise<void> {
  // A firing copy of an episode that already resolved comes from a lagging HA peer: it is over, whatever the copy says.
  if (await tx.episodeResolved(alert.fingerprint, alert.startsAt)) return skip(tx, out, alert, runbook, { skip: 'resolved', escalate: false }, null);
  const holder = await tx.findEpisode(runbook.name, alert.fingerprint, alert.startsAt);
  if (holder !== null) {
    out.decisions.push(await tx.addDelivery(holder.decisionId));
    out.tally.push({ decision: 'skip', reason: 'duplicate' });
    await escalateStillFiring(tx, runbook, alert, holder, out);
    return;
  }
  if (await tx.globalPaused()) return skip(tx, out, alert, runbook, { skip: 'paused', escalate: false }, null);
  if (await tx.runbookPaused(runbook.name)) return skip(tx, out, alert, runbook, { skip: 'runbook_paused', escalate: false }, null);
  const invalid = { skip: 'param_invalid', escalate: true } as const;
  const rendered = render(runbook, alert);
  if (rendered === null) return skip(tx, out, alert, runbook, invalid, null);

  const now = tx.now();
  const verdict: Verdict = runbook.mode === 'shadow' ? { reason: 'shadow', notBefore: now } : await enforce(tx, runbook, rendered.target, now);
  if ('skip' in verdict) return skip(tx, out, alert, runbook, verdict, rendered.target);

  const runId = newId(now);
  const runUrl = `${ctx.publicURL}/runs/${runId}`;
  const plan = renderPlan(runbook, { ...rendered, runId, runUrl, alert });
  if (!plan.ok) return skip(tx, out, alert, runbook, invalid, rendered.target);
  await tx.insertRun({
    id: runId,
    runbook: runbook.name,
    runbookHash: runbook.hash,
    faultClass: runbook.faultClass,
    target: rendered.target,
    pool: rendered.pool,
    mode: runbook.mode,
    state: runbook.mode === 'shadow' ? 'shadow' : 'pending',
    reason: verdict.reason,
    alert,
    params: rendered.params,
    plan: plan.plan,
    notBefore: verdict.notBefore,
    maxPendingAgeMs: runbook.safety.maxPendingAgeMs,
    maxConcurrentPerPool: runbook.safety.maxConcurrentPerPool,
  });
  out.runs.push(runId);
  if (runbook.mode !== 'shadow') out.sightings.push(alert);
  await recordDecision(tx, out, { alert, runbook: runbook.name, decision: 'run', reason: verdict.reason, runId });
}
