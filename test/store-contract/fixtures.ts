/** Builders for the contract suite: alerts, plans, runs and decisions with sensible defaults. */

import { labelSet, type Alert } from '../../src/core/alert.js';
import { newId } from '../../src/core/ids.js';
import type { GuardReason } from '../../src/core/run.js';
import type { Plan, PlannedStep } from '../../src/core/runbook.js';
import type { NewDecision, NewRun, RunStore, StoreTx } from '../../src/history/run-store.js';

let counter = 0;

/** A firing alert; each call gets a fresh fingerprint unless one is given. */
export function makeAlert(over: { alertname?: string; fingerprint?: string; startsAt?: string; status?: Alert['status'] } = {}): Alert {
  counter++;
  const alertname = over.alertname ?? 'LLMServerDown';
  return {
    status: over.status ?? 'firing',
    labels: labelSet([['alertname', alertname], ['instance', 'gpu-1:9100']]),
    annotations: labelSet([['summary', 'down']]),
    startsAt: over.startsAt ?? '2025-01-01T00:00:00.000Z',
    endsAt: '0001-01-01T00:00:00Z',
    generatorURL: 'http://prometheus/graph',
    fingerprint: over.fingerprint ?? counter.toString(16).padStart(16, '0'),
  };
}

function step(name: string, argv: string[]): PlannedStep {
  return { name, kind: 'run', argv, timeoutMs: 60_000, until: null, continueOnError: false, idempotent: false };
}

/** Two tiers: `instance` (steps a, b; onFailure u) and `service` (step c). */
export function makePlan(): Plan {
  return {
    tiers: [
      { name: 'instance', steps: [step('a', ['echo', 'a']), step('b', ['echo', 'b'])], onFailure: [step('u', ['echo', 'u'])] },
      { name: 'service', steps: [step('c', ['echo', 'c'])], onFailure: [] },
    ],
    env: { PARAM_HOST: 'gpu-1' },
    cancelOnResolve: false,
  };
}

export interface RunOptions {
  runbook?: string;
  target?: string;
  faultClass?: string;
  alert?: Alert;
  state?: 'pending' | 'shadow';
  reason?: GuardReason | null;
  notBefore?: number;
  maxPendingAgeMs?: number;
  pool?: string | null;
  maxConcurrentPerPool?: number;
}

/** A NewRun due now (or at notBefore) on a fresh episode unless the options say otherwise. */
export function makeRun(now: number, o: RunOptions = {}): NewRun {
  return {
    id: newId(now),
    runbook: o.runbook ?? 'gpu-oom',
    runbookHash: 'sha256:abc',
    faultClass: o.faultClass ?? 'oom',
    target: o.target ?? 'gpu-1',
    pool: o.pool ?? null,
    mode: o.state === 'shadow' ? 'shadow' : 'enforce',
    state: o.state ?? 'pending',
    reason: o.reason ?? (o.state === 'shadow' ? 'shadow' : null),
    alert: o.alert ?? makeAlert(),
    params: { host: 'gpu-1' },
    plan: makePlan(),
    notBefore: o.notBefore ?? now,
    maxPendingAgeMs: o.maxPendingAgeMs ?? 900_000,
    maxConcurrentPerPool: o.maxConcurrentPerPool ?? 1,
  };
}

/** The decision that created a run. */
export function runDecision(run: NewRun): NewDecision {
  return { alert: run.alert, runbook: run.runbook, decision: 'run', reason: run.reason, runId: run.id };
}

/** Inserts a run and its decision in one transaction, as the guard does; returns the run. */
export async function insertRun(store: RunStore, o: RunOptions = {}): Promise<NewRun> {
  return store.transact(async (tx: StoreTx) => {
    const run = makeRun(tx.now(), o);
    await tx.insertRun(run);
    await tx.insertDecision(runDecision(run));
    return run;
  });
}

/** Claims a run for owner and returns its fence. */
export function claim(store: RunStore, runId: string, owner = 'worker-1', leaseMs = 30_000): Promise<number> {
  return store.transact((tx) => tx.claim(runId, owner, leaseMs));
}

/** Inserts, claims, marks executed (unless told not to) and ends a run in the given state. */
export async function runToEnd(
  store: RunStore,
  state: 'succeeded' | 'failed' | 'interrupted' | 'canceled',
  o: RunOptions & { executed?: boolean } = {},
): Promise<NewRun> {
  const run = await insertRun(store, o);
  const fence = await claim(store, run.id);
  if (o.executed !== false) await store.markExecuted(run.id, fence);
  await store.finishRun(run.id, fence, state, state === 'succeeded' ? 'verified' : 'steps_failed');
  return run;
}

/** Resolves after ms of real time. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
