/** What a free worker calls for its next run: claim (in a transaction), then the Prometheus checks, skipping what fails them. */

import type { Logger } from 'pino';
import { toError } from '../core/errors.js';
import type { GuardReason } from '../core/run.js';
import type { RunStore } from '../history/run-store.js';
import { decisionOf, type Metrics } from '../observability/metrics.js';
import type { PrometheusClient } from '../verify/prometheus-client.js';
import { claimNext, type ClaimedRun } from './claim.js';
import { preflight } from './preflight.js';

export interface ClaimerDeps {
  readonly store: RunStore;
  readonly prometheus: PrometheusClient | null;
  readonly owner: string;
  readonly leaseMs: number;
  readonly maxRunStartsPerMinute: number;
  readonly metrics: Metrics;
  readonly logger: Logger;
}

/** Claim-time reasons that a person must hear about (SPEC §6). */
const ESCALATING: readonly GuardReason[] = ['stale'];
/** Runs skipped by the Prometheus checks per call, at most, before the worker yields. */
const MAX_SKIPS = 16;

async function escalate(deps: ClaimerDeps, runId: string, reason: GuardReason): Promise<void> {
  const run = await deps.store.getRun(runId);
  if (run === null) return;
  await deps.store.recordEscalation({ runbook: run.runbook, runId, reason, alert: run.alert, target: run.target });
  deps.metrics.escalations.inc({ reason });
}

/** Builds the claim function the worker pool calls. */
export function createClaimer(deps: ClaimerDeps): () => Promise<ClaimedRun | null> {
  const log = deps.logger.child({ stage: 'guard' });
  const decided = async (seen: [string, GuardReason][]): Promise<void> => {
    for (const [runId, reason] of seen) {
      deps.metrics.decisions.inc({ decision: decisionOf(reason), reason });
      log.info({ runId, reason }, 'claim-time decision');
      if (ESCALATING.includes(reason)) await escalate(deps, runId, reason).catch((err: unknown) => log.error({ err: toError(err), runId }, 'cannot record escalation'));
    }
  };
  return async () => {
    for (let skips = 0; skips < MAX_SKIPS; skips++) {
      const seen: [string, GuardReason][] = [];
      const claimed = await claimNext(deps.store, {
        owner: deps.owner,
        leaseMs: deps.leaseMs,
        maxRunStartsPerMinute: deps.maxRunStartsPerMinute,
        onDecision: (runId, reason) => void seen.push([runId, reason]),
      });
      await decided(seen);
      if (claimed === null) return null;
      const verdict = await preflight({ store: deps.store, prometheus: deps.prometheus, logger: log.child({ runId: claimed.runId }) }, claimed);
      if (verdict.go) return claimed;
      await deps.store.finishRun(claimed.runId, claimed.fence, 'skipped', verdict.reason);
      log.info({ runId: claimed.runId, reason: verdict.reason, detail: verdict.detail }, 'run skipped at claim');
      await decided([[claimed.runId, verdict.reason]]);
    }
    return null;
  };
}
