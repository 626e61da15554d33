/** A fixed number of workers that claim runs and execute them, woken at once when new runs are committed. */

import type { Logger } from 'pino';
import { toError } from '../core/errors.js';
import type { ClaimedRun } from './run-executor.js';

/** What a worker pool needs. */
export interface WorkerPoolOptions {
  readonly size: number;
  /** Claims the next run this replica may start (the claim-time guards), or null when none may. */
  readonly claim: () => Promise<ClaimedRun | null>;
  readonly execute: (claimed: ClaimedRun) => Promise<void>;
  /** How long an idle worker sleeps before it looks again without being woken (deferred runs come due on their own). */
  readonly pollMs: number;
  readonly logger: Logger;
}

/** The running pool. */
export interface WorkerPool {
  start(): void;
  /** Wakes an idle worker to look for work now; call it after committing new runs. */
  wake(): void;
  /** Stops claiming and waits up to graceMs for the runs in progress; resolves true when they all returned. */
  drain(graceMs: number): Promise<boolean>;
  /** Runs executing now. */
  busy(): number;
}

/** Creates a pool; nothing starts until start(). */
export function createWorkerPool(options: WorkerPoolOptions): WorkerPool {
  const sleepers: Array<() => void> = [];
  const loops: Promise<void>[] = [];
  let stopping = false;
  let busy = 0;
  // Counts wakes, so that a worker whose claim was under way when one came (no worker asleep to take it) looks again
  // instead of sleeping through a run committed just after its claim read.
  let wakes = 0;

  const wakeOne = (): void => {
    wakes += 1;
    sleepers.shift()?.();
  };
  const sleep = (ms: number): Promise<void> =>
    new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        const i = sleepers.indexOf(done);
        if (i >= 0) sleepers.splice(i, 1);
        resolve();
      };
      const timer = setTimeout(done, ms);
      sleepers.push(done);
    });

  const loop = async (worker: number): Promise<void> => {
    const logger = options.logger.child({ worker });
    while (!stopping) {
      let claimed: ClaimedRun | null = null;
      const wakesBefore = wakes;
      try {
        claimed = await options.claim();
      } catch (thrown) {
        logger.error({ err: toError(thrown) }, 'claim failed');
      }
      if (stopping && claimed === null) break;
      if (claimed === null) {
        if (wakes !== wakesBefore) continue;
        await sleep(options.pollMs);
        continue;
      }
      // There may be more due runs than this one: let another idle worker look too.
      wakeOne();
      busy += 1;
      try {
        await options.execute(claimed);
      } catch (thrown) {
        logger.error({ err: toError(thrown), runId: claimed.runId }, 'run execution failed');
      } finally {
        busy -= 1;
      }
    }
  };

  return {
    start() {
      if (loops.length > 0) return;
      for (let i = 0; i < options.size; i++) loops.push(loop(i));
    },
    wake: wakeOne,
    async drain(graceMs) {
      stopping = true;
      while (sleepers.length > 0) wakeOne();
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(false), graceMs);
      });
      const finished = await Promise.race([Promise.all(loops).then(() => true), timeout]);
      clearTimeout(timer);
      return finished;
    },
    busy: () => busy,
  };
}
