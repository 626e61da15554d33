/** A real SQLite store and executor dependencies for the executor's scenario tests. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Clock } from '../../src/core/clock.js';
import type { Plan, PlannedStep } from '../../src/core/runbook.js';
import { createLocalRunner } from '../../src/execute/local-runner.js';
import type { ExecutorDeps } from '../../src/execute/run-executor.js';
import { createRunRegistry } from '../../src/execute/running-runs.js';
import { SqliteRunStore } from '../../src/history/sqlite/sqlite-store.js';
import { createLogger } from '../../src/observability/logger.js';
import { makeRun, runDecision } from '../store-contract/fixtures.js';

export const OWNER = 'test-worker';

/** A clock that runs with real time plus an offset the test can move forward. */
export interface ShiftableClock extends Clock {
  shift(ms: number): void;
}

/** Creates a shiftable clock. */
export function shiftableClock(): ShiftableClock {
  let offset = 0;
  return { now: () => Date.now() + offset, shift: (ms) => void (offset += ms) };
}

/** Opens a fresh SQLite store in a new temp folder. */
export async function openStore(clock?: Clock): Promise<{ store: SqliteRunStore; dir: string }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'remediator-exec-'));
  const store = new SqliteRunStore({ path: path.join(dir, 'remediator.db'), clock });
  await store.open();
  return { store, dir };
}

/** A run step with test defaults. */
export function cmd(name: string, argv: string[], over: Partial<PlannedStep> = {}): PlannedStep {
  return { name, kind: 'run', argv, timeoutMs: 10_000, until: null, continueOnError: false, idempotent: false, ...over };
}

/** A script step with test defaults. */
export function script(name: string, text: string, over: Partial<PlannedStep> = {}): PlannedStep {
  return { name, kind: 'script', script: text, timeoutMs: 10_000, until: null, continueOnError: false, idempotent: false, ...over };
}

/** A wait step. */
export function wait(name: string, waitMs: number): PlannedStep {
  return { name, kind: 'wait', waitMs, timeoutMs: waitMs, until: null, continueOnError: false, idempotent: false };
}

/** Inserts a pending run with the plan's tiers and claims it; returns its id and fence. */
export async function insertAndClaim(store: SqliteRunStore, tiers: Plan['tiers'], leaseMs = 30_000): Promise<{ runId: string; fence: number }> {
  return store.transact(async (tx) => {
    const run = { ...makeRun(tx.now()), plan: { tiers, env: { PARAM_HOST: 'gpu-1' }, cancelOnResolve: false } };
    await tx.insertRun(run);
    await tx.insertDecision(runDecision(run));
    return { runId: run.id, fence: await tx.claim(run.id, OWNER, leaseMs) };
  });
}

/** Executor dependencies on a store, with short limits; override per test. */
export function executorDeps(store: SqliteRunStore, over: Partial<ExecutorDeps> = {}): ExecutorDeps {
  return {
    store,
    runner: createLocalRunner(),
    owner: OWNER,
    leaseMs: 3000,
    killGraceMs: 300,
    maxOutputBytes: 4096,
    shutdownGraceMs: 300,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
    envAllow: [],
    shutdown: new AbortController().signal,
    logger: createLogger({ level: 'silent' }),
    registry: createRunRegistry(),
    pollMs: 100,
    ...over,
  };
}
