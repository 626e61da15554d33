/** Wires the execution side of a replica: the start-up sweep, the periodic sweeper and the worker pool. */

import { setMaxListeners } from 'node:events';
import type { Logger } from 'pino';
import type { Config } from '../config/config.js';
import type { RunReason } from '../core/run.js';
import type { PrometheusClient } from '../verify/prometheus-client.js';
import { createSshRunners } from './ssh/ssh-runner.js';
import type { RunStore } from '../history/run-store.js';
import { countStoreError, type Metrics } from '../observability/metrics.js';
import type { CommandRunner } from './command-runner.js';
import { createLocalRunner } from './local-runner.js';
import { executeRun, type ClaimedRun, type ExecutorDeps } from './run-executor.js';
import type { VerifyTier } from './run-walk.js';
import { createRunRegistry } from './running-runs.js';
import { createScrubber } from './scrub.js';
import { startSweeper, sweepOnce } from './sweep.js';
import { createWorkerPool } from './worker-pool.js';

/** What startExecution needs. */
export interface ExecutionOptions {
  readonly config: Config;
  readonly store: RunStore;
  readonly metrics: Metrics;
  readonly logger: Logger;
  readonly owner: string;
  readonly claim: () => Promise<ClaimedRun | null>;
  /** The service's environment, the source of the allow-listed variables steps see; main passes process.env. */
  readonly env?: NodeJS.ProcessEnv;
  readonly runner?: CommandRunner;
  /** For promql steps; null when no Prometheus is configured. */
  readonly prometheus?: PrometheusClient | null;
  /** What reporting and escalation hear of a run's life. */
  readonly hooks?: Pick<ExecutorDeps, 'onRunStarted' | 'onRunEnded' | 'onAwaitingApproval' | 'stillFiring'>;
  readonly verifyTier?: VerifyTier;
  /** How often an idle worker looks for due runs unasked (default 1000 ms). */
  readonly pollMs?: number;
}

/** The execution side, running. */
export interface Execution {
  /** Call after new runs are committed: an idle worker claims at once. */
  wake(): void;
  /** Stops a run this replica executes now (its step is killed at once); false when it runs elsewhere or not at all. */
  abortRun(runId: string, reason: RunReason): boolean;
  /** SIGTERM: no new claims; running commands get graceMs, then are killed and their runs left for a reclaim. */
  stop(graceMs: number): Promise<void>;
}

/** Without a given environment, steps still find the usual programs. */
const FALLBACK_ENV: NodeJS.ProcessEnv = { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' };
/** Time past the grace for the TERM/KILL sequence and the last store writes. */
const STOP_MARGIN_MS = 2000;

/** Sweeps once (reclaiming what a previous process left), then starts the sweeper and the workers. */
export async function startExecution(options: ExecutionOptions): Promise<Execution> {
  const { config, store, logger } = options;
  const limits = config.limits;
  const log = logger.child({ stage: 'execute' });
  await sweepOnce({ store, owner: options.owner, includeOtherOwners: store.capabilities.singleProcess, killGraceMs: limits.killGraceMs, logger: log });
  const shutdown = new AbortController();
  // Each running run listens to this one signal until it ends (run-control.ts), so maxConcurrentRuns may pass Node's 10.
  setMaxListeners(0, shutdown.signal);
  const ssh = createSshRunners({ ssh: config.ssh, logger: log });
  const registry = createRunRegistry();
  const deps = {
    store,
    runner: options.runner ?? createLocalRunner({ logger: log }),
    runnerFor: ssh.runnerFor,
    httpAllowHosts: config.http.allowHosts,
    prometheus: options.prometheus ?? null,
    ...options.hooks,
    owner: options.owner,
    leaseMs: limits.leaseMs,
    killGraceMs: limits.killGraceMs,
    maxOutputBytes: limits.maxOutputBytes,
    shutdownGraceMs: limits.shutdownGraceMs,
    env: options.env ?? FALLBACK_ENV,
    envAllow: config.executeEnv,
    shutdown: shutdown.signal,
    logger: log,
    scrub: createScrubber(config.secrets),
    verifyTier: options.verifyTier,
    registry,
    metrics: options.metrics,
  };
  const sweeper = startSweeper({
    store,
    owner: options.owner,
    killGraceMs: limits.killGraceMs,
    logger: log,
    intervalMs: Math.max(1000, Math.min(5000, limits.leaseMs / 3)),
    onError: (thrown) => countStoreError(options.metrics, 'sweep', thrown),
  });
  const pool = createWorkerPool({
    size: limits.maxConcurrentRuns,
    claim: async () => {
      try {
        return await options.claim();
      } catch (thrown) {
        countStoreError(options.metrics, 'claim', thrown);
        throw thrown;
      }
    },
    execute: (claimed) => executeRun(deps, claimed),
    pollMs: options.pollMs ?? 1000,
    logger: log,
  });
  pool.start();
  return {
    wake: () => pool.wake(),
    abortRun: (runId, reason) => registry.abort(runId, reason),
    async stop(graceMs) {
      shutdown.abort('shutdown');
      const drained = await pool.drain(graceMs + limits.killGraceMs + STOP_MARGIN_MS);
      if (!drained) log.warn({ busy: pool.busy() }, 'workers still busy at stop; their leases will expire');
      await sweeper.stop();
      await ssh.close();
    },
  };
}
