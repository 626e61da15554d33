/** Executes one claimed run: loads it, walks its tiers from where it stands, and records how it ended. */

import type { Logger } from 'pino';
import { toError } from '../core/errors.js';
import type { RunStore } from '../history/run-store.js';
import { countStoreError, type Metrics, type TierOutcome } from '../observability/metrics.js';
import type { CommandRunner, RunnerFor } from './command-runner.js';
import type { PrometheusClient } from '../verify/prometheus-client.js';
import type { RunDetail, RunReason, RunState } from '../core/run.js';
import { startRunControl } from './run-control.js';
import { runningRuns, type RunRegistry } from './running-runs.js';
import { skipVerification, type Ending, type VerifyTier, type Walk } from './run-walk.js';
import { createScrubber, type Scrubber } from './scrub.js';
import { buildStepEnv } from './step-env.js';
import { walkTiers } from './tier-walk.js';

/** A run this worker claimed, with the fence every write of it carries. */
export interface ClaimedRun {
  readonly runId: string;
  readonly fence: number;
}

/** What the executor needs; one value per replica, shared by every run. */
export interface ExecutorDeps {
  readonly store: RunStore;
  readonly runner: CommandRunner;
  /** SSH runners by settings, for steps with ssh. */
  readonly runnerFor?: RunnerFor;
  readonly httpAllowHosts?: readonly string[];
  readonly prometheus?: PrometheusClient | null;
  /** Told of every run this replica ended (to escalate failures, report the outcome), after the end is recorded. */
  readonly onRunEnded?: (run: RunDetail, state: RunState, reason: RunReason | null) => Promise<void>;
  /** Told when a claimed run starts (or resumes) executing, before its first step. */
  readonly onRunStarted?: (run: RunDetail) => Promise<void>;
  readonly onAwaitingApproval?: (run: RunDetail, tierIndex: number) => Promise<void>;
  readonly stillFiring?: (run: RunDetail) => Promise<boolean | null>;
  /** This replica's lease owner name. */
  readonly owner: string;
  readonly leaseMs: number;
  readonly killGraceMs: number;
  readonly maxOutputBytes: number;
  readonly shutdownGraceMs: number;
  /** The service's environment: only PATH, HOME, LANG, TZ and `envAllow` are taken from it. */
  readonly env: NodeJS.ProcessEnv;
  readonly envAllow: readonly string[];
  /** Aborted on SIGTERM: running commands get shutdownGraceMs, then the run is left for a reclaim. */
  readonly shutdown: AbortSignal;
  readonly logger: Logger;
  /** Redacts secrets from output before it is stored; default: the common secret patterns only. */
  readonly scrub?: Scrubber;
  readonly verifyTier?: VerifyTier;
  readonly registry?: RunRegistry;
  /** How often cancel requests are looked for (default 1000 ms). */
  readonly pollMs?: number;
  readonly metrics?: Pick<Metrics, 'runsEnded' | 'runDuration' | 'stepDuration' | 'runsInFlight' | 'recoveryTime' | 'tierOutcomes' | 'storeErrors'>;
}

const DEFAULT_POLL_MS = 1000;
/** A fenced "release": the lease then expires at once, so a sweep hands the run to a worker. */
const RELEASE_LEASE_MS = 1;

/** Executes a claimed run until it ends, its lease is lost or the service shuts down; never throws. */
export async function executeRun(deps: ExecutorDeps, claimed: ClaimedRun): Promise<void> {
  const logger = deps.logger.child({ runId: claimed.runId });
  let run: RunDetail | null;
  try {
    run = await deps.store.getRun(claimed.runId);
  } catch (thrown) {
    countStoreError(deps.metrics, 'execute', thrown);
    logger.error({ err: toError(thrown) }, 'cannot load claimed run; its lease will expire');
    return;
  }
  if (run === null || run.state !== 'running') {
    logger.warn({ state: run?.state ?? null }, 'claimed run is not running; nothing to do');
    return;
  }
  const runLogger = logger.child({ runbook: run.runbook, target: run.target });
  const control = startRunControl({
    store: deps.store,
    runId: claimed.runId,
    owner: deps.owner,
    fence: claimed.fence,
    leaseMs: deps.leaseMs,
    pollMs: deps.pollMs ?? DEFAULT_POLL_MS,
    shutdown: deps.shutdown,
    shutdownGraceMs: deps.shutdownGraceMs,
    registry: deps.registry ?? runningRuns,
    logger: runLogger,
  });
  const walk: Walk = {
    store: deps.store,
    runner: deps.runner,
    runnerFor: deps.runnerFor,
    httpAllowHosts: deps.httpAllowHosts,
    prometheus: deps.prometheus,
    run,
    runId: claimed.runId,
    fence: claimed.fence,
    control,
    env: buildStepEnv(run.plan.env, deps.envAllow, deps.env),
    killGraceMs: deps.killGraceMs,
    maxOutputBytes: deps.maxOutputBytes,
    scrub: deps.scrub ?? createScrubber([]),
    verifyTier: deps.verifyTier ?? skipVerification,
    logger: runLogger,
    onStepEnd: (kind, outcome, seconds) => deps.metrics?.stepDuration.observe({ kind, outcome }, seconds),
    onTierEnd: (tierIndex, outcome) => countTier(deps, run, tierIndex, outcome),
    openTier: null,
    onAwaitingApproval: deps.onAwaitingApproval,
    stillFiring: deps.stillFiring,
  };
  deps.metrics?.runsInFlight.inc();
  runLogger.info({ fence: claimed.fence }, 'run executing');
  try {
    // Reporting never holds a run back: the first step does not wait for Grafana or Alertmanager.
    void deps.onRunStarted?.(run).catch((err: unknown) => runLogger.error({ err: toError(err) }, 'run start report failed'));
    await settle(deps, walk, await walkTiers(walk));
  } catch (thrown) {
    // A store that cannot answer: leave the run; its lease expires and a reclaim resumes it.
    countStoreError(deps.metrics, 'execute', thrown);
    runLogger.error({ err: toError(thrown) }, 'run execution stopped by an error; left for a reclaim');
  } finally {
    control.dispose();
    deps.metrics?.runsInFlight.dec();
  }
}

async function settle(deps: ExecutorDeps, w: Walk, ending: Ending): Promise<void> {
  if (ending.kind === 'leave') {
    w.logger.info({ why: ending.why }, 'run left for a reclaim');
    if (ending.why === 'shutdown') await deps.store.renewLease(w.runId, deps.owner, w.fence, RELEASE_LEASE_MS);
    return;
  }
  if (w.openTier !== null && (ending.state === 'canceled' || ending.state === 'interrupted')) {
    if (!(await deps.store.finishTier(w.runId, w.fence, w.openTier, ending.state, false))) return;
    w.onTierEnd?.(w.openTier, ending.state);
  }
  if (!(await deps.store.finishRun(w.runId, w.fence, ending.state, ending.reason))) {
    w.logger.warn({}, 'lease lost before the run could be ended');
    return;
  }
  countEnd(deps, w.run, ending.state);
  w.logger.info({ state: ending.state, reason: ending.reason }, 'run ended');
  await deps.onRunEnded?.(w.run, ending.state, ending.reason);
}

/** Counts a tier's end by runbook, tier name (from the run's stored plan, bounded by the runbooks loaded) and outcome. */
function countTier(deps: ExecutorDeps, run: RunDetail, tierIndex: number, outcome: TierOutcome): void {
  deps.metrics?.tierOutcomes.inc({ runbook: run.runbook, tier: run.plan.tiers[tierIndex]?.name ?? String(tierIndex), outcome });
}

/** The run's end in the metrics: its outcome, how long it ran, and how long after its alert began it ended (the recovery time). */
function countEnd(deps: ExecutorDeps, run: RunDetail, state: RunState): void {
  const now = Date.now();
  const startedAt = run.startedAt === null ? Number.NaN : Date.parse(run.startedAt);
  if (!Number.isNaN(startedAt)) deps.metrics?.runDuration.observe({ outcome: state }, (now - startedAt) / 1000);
  const alertStart = Date.parse(run.alert.startsAt);
  // Clocks of Prometheus and remediator may disagree a little: a run never took less than nothing.
  if (!Number.isNaN(alertStart)) deps.metrics?.recoveryTime.observe({ fault_class: run.faultClass, outcome: state }, Math.max(0, now - alertStart) / 1000);
  deps.metrics?.runsEnded.inc({ outcome: state });
}
