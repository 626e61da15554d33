/** The claim-side guard stages a free worker goes through: claim (in a transaction), preflight, and skipping what fails it. */

import type { Logger } from 'pino';
import { toError } from '../core/errors.js';
import type { GuardReason } from '../core/run.js';
import type { RunStore } from '../history/run-store.js';
import { decisionOf, type Metrics } from '../observability/metrics.js';
import type { AlertStateOracle } from '../verify/alert-state.js';
import type { PrometheusClient } from '../verify/prometheus-client.js';
import { claimNext, type ClaimedRun } from './claim.js';
import { preflight, type PreflightVerdict } from './preflight.js';

export interface ClaimerDeps {
  readonly store: RunStore;
  readonly prometheus: PrometheusClient | null;
  readonly alertState: AlertStateOracle | null;
  readonly owner: string;
  readonly leaseMs: number;
  readonly maxRunStartsPerMinute: number;
  readonly metrics: Metrics;
  readonly logger: Logger;
}

/** The three claim-side stages, composed in order by pipeline.ts. */
export interface ClaimStages {
  /** Claims the oldest run that may start now; claim-time decisions are counted, logged and escalated. */
  readonly claim: () => Promise<ClaimedRun | null>;
  /** The checks that ask other systems, after the claim committed: still firing after a wait, precheck. */
  readonly preflight: (claimed: ClaimedRun) => Promise<PreflightVerdict>;
  /** Ends a claimed run that failed its preflight as `skipped` with the guard reason. */
  readonly skip: (claimed: ClaimedRun, verdict: Extract<PreflightVerdict, { go: false }>) => Promise<void>;
}

/** Claim-time reasons that a person must hear about (SPEC §6). */
const ESCALATING: readonly GuardReason[] = ['stale'];

async function escalate(deps: ClaimerDeps, runId: string, reason: GuardReason): Promise<void> {
  const run = await deps.store.getRun(runId);
  if (run === null) return;
  await deps.store.recordEscalation({ runbook: run.runbook, runId, reason, alert: run.alert, target: run.target });
  deps.metrics.escalations.inc({ reason });
}

/** Builds the claim-side stages. */
export function createClaimStages(deps: ClaimerDeps): ClaimStages {
  const log = deps.logger.child({ stage: 'guard' });
  const decided = async (seen: readonly (readonly [string, GuardReason])[]): Promise<void> => {
    for (const [runId, reason] of seen) {
      deps.metrics.decisions.inc({ decision: decisionOf(reason), reason });
      log.info({ runId, reason }, 'claim-time decision');
      if (ESCALATING.includes(reason)) await escalate(deps, runId, reason).catch((err: unknown) => log.error({ err: toError(err), runId }, 'cannot record escalation'));
    }
  };
  return {
    async claim() {
      const seen: [string, GuardReason][] = [];
      const claimed = await claimNext(deps.store, {
        owner: deps.owner,
        leaseMs: deps.leaseMs,
        maxRunStartsPerMinute: deps.maxRunStartsPerMinute,
        onDecision: (runId, reason) => void seen.push([runId, reason]),
      });
      await decided(seen);
      return claimed;
    },
    preflight: (claimed) =>
      preflight({ store: deps.store, prometheus: deps.prometheus, alertState: deps.alertState, logger: log.child({ runId: claimed.runId }) }, claimed),
    async skip(claimed, verdict) {
      await deps.store.finishRun(claimed.runId, claimed.fence, 'skipped', verdict.reason);
      log.info({ runId: claimed.runId, reason: verdict.reason, detail: verdict.detail }, 'run skipped at claim');
      await decided([[claimed.runId, verdict.reason]]);
    },
  };
}
