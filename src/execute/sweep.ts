/** The reclaim sweep: runs whose lease expired lose what is left of their processes, then their lease, so a worker resumes them. */

import type { Logger } from 'pino';
import { toError } from '../core/errors.js';
import type { ProcessRecord, RunStore } from '../history/run-store.js';
import { abortableDelay } from './abortable-delay.js';
import { killStepCgroup } from './containment/cgroup-v2.js';
import { groupAlive, readStartTicks, signalGroup } from './proc-stat.js';

/** What one sweep needs. */
export interface SweepOptions {
  readonly store: RunStore;
  readonly owner: string;
  /** At start-up of a single-process store: every running run of another owner is dead too. */
  readonly includeOtherOwners: boolean;
  /** How long to wait for a killed group to be gone before its run is handed on. */
  readonly killGraceMs: number;
  readonly logger?: Logger;
}

const GONE_POLL_MS = 20;

/** Sweeps once; returns the ids of the runs whose lease it released. */
export async function sweepOnce(options: SweepOptions): Promise<string[]> {
  const expired = await options.store.expiredRuns(options.owner, options.includeOtherOwners);
  const released: string[] = [];
  for (const run of expired) {
    for (const process of run.processes) await killLeftovers(process, options);
    await options.store.releaseLease(run.runId);
    options.logger?.warn({ runId: run.runId, processes: run.processes.length }, 'expired lease reclaimed');
    released.push(run.runId);
  }
  return released;
}

/**
 * Kills what a step left: its cgroup whole when one was recorded (its name is unique, so never another's), then its process
 * group unless the pid now belongs to another process; waits (bounded) until each is gone.
 */
export async function killLeftovers(process: ProcessRecord, options: Pick<SweepOptions, 'killGraceMs' | 'logger'>): Promise<boolean> {
  const cgroupKilled = process.cgroup === undefined || process.cgroup === null ? false : await killStepCgroup(process.cgroup, options.killGraceMs);
  // A PID-namespace step: unshare leads the group, and its death takes the namespace's init, and with it the namespace, along.
  return (await killGroup(process, options)) || cgroupKilled;
}

async function killGroup(process: ProcessRecord, options: Pick<SweepOptions, 'killGraceMs' | 'logger'>): Promise<boolean> {
  const ticks = readStartTicks(process.pgid);
  // A live leader that started at another time is a reused pid: not ours. (A group whose leader is gone keeps its id, so it cannot be reused.)
  if (ticks !== null && ticks !== process.startTicks) {
    options.logger?.info({ pgid: process.pgid }, 'recorded process group id was reused; not killed');
    return false;
  }
  if (!signalGroup(process.pgid, 'SIGKILL')) return false;
  const deadline = Date.now() + options.killGraceMs;
  while (groupAlive(process.pgid) && Date.now() < deadline) await abortableDelay(GONE_POLL_MS);
  return true;
}

/** A sweeper running in the background. */
export interface Sweeper {
  stop(): Promise<void>;
}

/** Sweeps every intervalMs (never two at once) until stopped; run sweepOnce at start-up yourself, with includeOtherOwners where the store is single-process. */
export function startSweeper(
  options: Omit<SweepOptions, 'includeOtherOwners'> & { readonly intervalMs: number; readonly onError?: (thrown: unknown) => void },
): Sweeper {
  let current: Promise<unknown> = Promise.resolve();
  let sweeping = false;
  const timer = setInterval(() => {
    if (sweeping) return;
    sweeping = true;
    current = sweepOnce({ ...options, includeOtherOwners: false })
      .catch((thrown: unknown) => {
        options.onError?.(thrown);
        options.logger?.error({ err: toError(thrown) }, 'sweep failed');
      })
      .finally(() => {
        sweeping = false;
      });
  }, options.intervalMs);
  return {
    async stop() {
      clearInterval(timer);
      await current;
    },
  };
}
