/** Builds the input of a VerifyTier call: a run for an alert, its earlier tier records, and the tier to verify. */
import { labelSet } from '../../src/core/alert.js';
import type { RunDetail, TierRecord } from '../../src/core/run.js';
import type { PlannedTier, VerifyDef } from '../../src/core/runbook.js';
import { fullRecord } from './full-record.js';

/** A run whose alert has these labels; `earlier` are the records of the tiers before the one verified. */
export function runFor(labels: Record<string, string>, earlier: readonly TierRecord[] = []): RunDetail {
  const now = new Date().toISOString();
  return {
    id: 'RUN1',
    state: 'running',
    reason: null,
    runbook: 'rb',
    runbookHash: 'h',
    faultClass: 'down',
    target: 't',
    pool: null,
    mode: 'enforce',
    alertname: labels.alertname ?? '',
    fingerprint: '0123456789abcdef',
    startsAt: now,
    createdAt: now,
    startedAt: now,
    endedAt: null,
    alert: { status: 'firing', labels: labelSet(Object.entries(labels)), annotations: labelSet([]), startsAt: now, endsAt: '', generatorURL: '', fingerprint: '0123456789abcdef' },
    params: {},
    plan: { tiers: [], env: {}, cancelOnResolve: false },
    approvedBy: null,
    approvedAt: null,
    tiers: earlier,
    deliveries: 1,
    notBefore: null,
    cancelRequested: null,
    annotations: null,
    silenceId: null,
    escalation: null,
  };
}

/** The record of an earlier tier whose verification saw the alert firing at `seenFiringAt`. */
export function earlierTier(seenFiringAt: string | null): TierRecord {
  return { name: 'earlier', state: 'failed', steps: [], verify: fullRecord({ kind: 'alertResolved', seenFiringAt, outcome: 'timed_out' }), verified: false, startedAt: null, endedAt: null };
}

/** A tier with one harmless step and this verify. */
export function tierWith(verify: VerifyDef<string> | null): PlannedTier {
  return { name: 'tier', steps: [], onFailure: [], verify, approvalTimeoutMs: null };
}
