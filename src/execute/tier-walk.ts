/** The escalation ladder: tiers in order, each its steps, its verification and, on failure, its onFailure steps. */

import type { VerifyStart } from '../core/verification.js';
import type { PlannedTier } from '../core/runbook.js';
import { toError } from '../core/errors.js';
import { walkStep } from './step-walk.js';
import { endWith, endingOf, type Ending, type TierVerification, type Walk } from './run-walk.js';

/** Walks the run from where its records say it stands to an ending. */
export async function walkTiers(w: Walk): Promise<Ending> {
  const tiers = w.run.plan.tiers;
  for (let t = 0; t < tiers.length; t++) {
    const tier = tiers[t];
    if (tier === undefined) continue;
    const verdict = await walkTier(w, t, tier);
    if (verdict !== 'next') return verdict;
  }
  return endWith('failed', w.lastFailure ?? 'steps_failed');
}

/**
 * A tier with `approval: required` waits for a person before it starts: the run goes to awaiting_approval and the
 * worker lets go of it. Once approved (the run is claimed again, resumed), the alert must still fire for it to go on.
 */
async function approvalGate(w: Walk, t: number, tier: PlannedTier): Promise<Ending | 'go'> {
  if (tier.approvalTimeoutMs === undefined || tier.approvalTimeoutMs === null) return 'go';
  if (w.run.approvalTier === t && w.run.approvedAt !== null) {
    const firing = w.stillFiring === undefined ? null : await w.stillFiring(w.run);
    if (firing === false) return endWith('canceled', 'resolved');
    return 'go';
  }
  // A cancel or kill switch asked for now must not be parked behind a person's approval.
  const stop = await w.control.checkpoint();
  if (stop !== null) return endingOf(stop);
  if (!(await w.store.awaitApproval(w.runId, w.fence, t, tier.approvalTimeoutMs))) return { kind: 'leave', why: 'lost' };
  w.logger.info({ tierIndex: t, timeoutMs: tier.approvalTimeoutMs }, 'run awaits approval');
  await w.onAwaitingApproval?.(w.run, t);
  return { kind: 'leave', why: 'approval' };
}

async function walkTier(w: Walk, t: number, tier: PlannedTier): Promise<Ending | 'next'> {
  const recorded = w.run.tiers[t];
  switch (recorded?.state ?? 'pending') {
    case 'failed':
      return 'next';
    case 'succeeded':
      return endWith('succeeded', recorded?.verified === true ? 'verified' : 'unverified');
    case 'canceled':
      return endWith('canceled', 'canceled');
    case 'interrupted':
      return endWith('interrupted', 'interrupted');
    case 'pending': {
      const gate = await approvalGate(w, t, tier);
      if (gate !== 'go') return gate;
      if (!(await w.store.startTier(w.runId, w.fence, t))) return { kind: 'leave', why: 'lost' };
    }
  }
  w.openTier = t;
  w.logger.info({ tier: tier.name, tierIndex: t }, 'tier started');
  const steps = await walkPhase(w, t, tier, 'steps');
  if (typeof steps === 'object') return steps;
  if (steps === 'ok') {
    const stop = await w.control.checkpoint();
    if (stop !== null) return endingOf(stop);
    const verification = await verify(w, t, tier);
    if (verification === 'lost') return { kind: 'leave', why: 'lost' };
    if (verification.record !== undefined && !(await w.store.recordVerify(w.runId, w.fence, t, verification.record))) {
      return { kind: 'leave', why: 'lost' };
    }
    if (verification.ok) return finishTier(w, t, 'succeeded', verification.verified);
    w.lastFailure = verification.reason ?? 'verify_timed_out';
  } else {
    w.lastFailure = 'steps_failed';
  }
  const undo = await walkPhase(w, t, tier, 'onFailure');
  if (typeof undo === 'object') return undo;
  return finishTier(w, t, 'failed', false);
}

/** Walks one phase; in `steps` a failure without continueOnError stops the phase, in `onFailure` every step runs (best effort). */
async function walkPhase(w: Walk, t: number, tier: PlannedTier, phase: 'steps' | 'onFailure'): Promise<'ok' | 'failed' | Ending> {
  const list = tier[phase];
  for (let i = 0; i < list.length; i++) {
    const step = list[i];
    if (step === undefined) continue;
    const verdict = await walkStep(w, { tierIndex: t, phase, stepIndex: i }, step);
    if (typeof verdict === 'object') return verdict;
    if (verdict === 'failed' && phase === 'steps' && !step.continueOnError) return 'failed';
  }
  return 'ok';
}

/** When this tier's verification started before the run was reclaimed, or null; records the start of a new one. */
async function verificationStart(w: Walk, t: number, tier: PlannedTier): Promise<number | null | 'lost'> {
  if (tier.verify === undefined || tier.verify === null) return null;
  const recorded = w.run.tiers[t]?.verify;
  if (recorded?.outcome === 'running' && typeof recorded.startedAt === 'string') return Date.parse(recorded.startedAt);
  // Written before polling starts, so a worker that dies mid-verification leaves the start for the reclaim to resume from.
  const started: VerifyStart = { kind: tier.verify.kind, outcome: 'running', startedAt: new Date().toISOString() };
  return (await w.store.recordVerify(w.runId, w.fence, t, started)) ? null : 'lost';
}

async function verify(w: Walk, t: number, tier: PlannedTier): Promise<TierVerification | 'lost'> {
  const resumeFrom = await verificationStart(w, t, tier);
  if (resumeFrom === 'lost') return 'lost';
  try {
    return await w.verifyTier({ runId: w.runId, tierIndex: t, tier, run: w.run, signal: w.control.signal, resumeFrom: resumeFrom ?? undefined });
  } catch (thrown) {
    // A verification that cannot answer is never taken as success.
    w.logger.error({ err: toError(thrown), tierIndex: t }, 'tier verification failed to run');
    return { verified: false, ok: false };
  }
}

async function finishTier(w: Walk, t: number, state: 'succeeded' | 'failed', verified: boolean): Promise<Ending | 'next'> {
  if (!(await w.store.finishTier(w.runId, w.fence, t, state, verified))) return { kind: 'leave', why: 'lost' };
  w.openTier = null;
  w.onTierEnd?.(t, state === 'failed' ? 'failed' : verified ? 'verified' : 'unverified');
  w.logger.info({ tierIndex: t, state, verified }, 'tier ended');
  if (state === 'failed') return 'next';
  return endWith('succeeded', verified ? 'verified' : 'unverified');
}
