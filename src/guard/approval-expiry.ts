/** approvalTimeout: runs that waited too long for a person end failed and are escalated (SPEC §4, §7). */

import type { Logger } from 'pino';
import { toError } from '../core/errors.js';
import type { RunDetail } from '../core/run.js';
import type { RunStore } from '../history/run-store.js';

export interface ApprovalExpiry {
  stop(): void;
}

/** Every intervalMs, ends the runs whose approval wait passed its deadline and hands each to onExpired. */
export function startApprovalExpiry(options: {
  readonly store: RunStore;
  readonly intervalMs: number;
  readonly logger: Logger;
  readonly onExpired: (run: RunDetail) => Promise<void>;
}): ApprovalExpiry {
  let running = false;
  const tick = async (): Promise<void> => {
    if (running) return;
    running = true;
    try {
      for (const run of await options.store.expireApprovals()) {
        options.logger.warn({ runId: run.id, runbook: run.runbook }, 'approval timed out; run failed');
        await options.onExpired(run);
      }
    } catch (err) {
      options.logger.error({ err: toError(err) }, 'approval expiry failed; retrying');
    } finally {
      running = false;
    }
  };
  const timer = setInterval(() => void tick(), options.intervalMs);
  timer.unref();
  void tick();
  return { stop: () => clearInterval(timer) };
}
