/** Builds the whole service from a Config: store, runbooks, execution and the HTTP app. Used by main and by tests. */

import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type express from 'express';
import { Registry, collectDefaultMetrics } from 'prom-client';
import { createApp } from './app.js';
import { createCatalogHolder, type CatalogHolder } from './catalog-holder.js';
import type { Config } from './config/config.js';
import { RemediatorError, toError } from './core/errors.js';
import { startExecution, type Execution } from './execute/start-execution.js';
import { afterCommit } from './after-commit.js';
import { createClaimStages } from './guard/claimer.js';
import { createDelivery, createRunPath } from './pipeline.js';
import { createAlertmanagerClient } from './report/alertmanager-client.js';
import { createAlertStateOracle, createSighter } from './verify/alert-state.js';
import { createPrometheusClient } from './verify/prometheus-client.js';
import { createTierVerifier } from './verify/tier-verifier.js';
import type { VerifyTier } from './execute/run-walk.js';
import { createOutcomes } from './outcomes.js';
import type { RunStore } from './history/run-store.js';
import { PostgresRunStore } from './history/postgres/postgres-store.js';
import { SqliteRunStore } from './history/sqlite/sqlite-store.js';
import { createRetention } from './history/retention.js';
import { startLeadership } from './leadership.js';
import type { Logger } from './observability/logger.js';
import { createMetrics, type Metrics } from './observability/metrics.js';

export interface Service {
  readonly app: express.Express;
  readonly store: RunStore;
  readonly catalog: CatalogHolder;
  readonly metrics: Metrics;
  readonly execution: Execution;
  readonly owner: string;
  /** Stops taking alerts (503) and lets running steps finish within graceMs; the rest is left for a reclaim. */
  drain(graceMs: number): Promise<void>;
  /** Drains, then closes the store. */
  stop(graceMs: number): Promise<void>;
}

/** Names why a verification failed, for the run's reason when no tier is left. */
function withReasons(verify: VerifyTier): VerifyTier {
  return async (input) => {
    const result = await verify(input);
    if (result.ok) return result;
    const outcome = result.record?.outcome;
    return { ...result, reason: outcome === 'alert_not_found' ? 'alert_not_found' : 'verify_timed_out' };
  };
}

/** The adapter for the configured store URL. */
export function createStore(config: Config): RunStore {
  if (config.store.kind === 'postgres') return new PostgresRunStore({ url: config.store.url });
  return new SqliteRunStore({ path: config.store.path });
}

/** How buildService differs between the real service and tests. */
export interface BuildOptions {
  /** Also export Node's process metrics (off in tests that build several services in one process). */
  readonly defaultMetrics?: boolean;
  /** Where the allow-listed step environment (PATH, HOME, LANG, TZ, execute.env) is taken from. */
  readonly env?: NodeJS.ProcessEnv;
}

/** Opens the store, loads the runbooks (throwing with every error when they do not load), starts the workers. */
export async function buildService(config: Config, logger: Logger, options: BuildOptions = {}): Promise<Service> {
  const registry = new Registry();
  if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: registry });
  const store = createStore(config);
  let draining = false;
  // The gauges read from the store at scrape time are store-wide, so they are right whichever replica is scraped.
  const metrics = createMetrics(registry, { counts: () => store.runCounts(), draining: () => draining });
  await store.open();
  let catalog: CatalogHolder;
  try {
    catalog = await createCatalogHolder(config.runbooksDir, metrics);
  } catch (err) {
    await store.close();
    throw new RemediatorError('RUNBOOK_INVALID', `runbooks in ${config.runbooksDir} failed to load:\n${toError(err).message}`, { cause: err });
  }
  const prometheus = config.prometheusURL === null ? null : createPrometheusClient({ url: config.prometheusURL });
  const alertmanager = config.alertmanagerURL === null ? null : createAlertmanagerClient({ url: config.alertmanagerURL });
  const alertSources = { store, alertmanager, prometheus, logger: logger.child({ stage: 'alert-state' }) };
  const alertState = createAlertStateOracle(alertSources);
  const owner = `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
  const outcomes = createOutcomes({ config, store, catalog, metrics, logger, alertmanager, alertState });
  const runPath = createRunPath({
    ...createClaimStages({
      store,
      prometheus,
      alertState,
      owner,
      leaseMs: config.limits.leaseMs,
      maxRunStartsPerMinute: config.limits.maxRunStartsPerMinute,
      metrics,
      logger,
    }),
    verify: withReasons(createTierVerifier({ prometheus, logger })),
    report: outcomes.hooks,
  });
  const execution = await startExecution({
    config,
    store,
    metrics,
    logger,
    owner,
    env: options.env,
    prometheus,
    claim: runPath.next,
    verifyTier: runPath.verify,
    hooks: runPath.report,
  });
  const deliver = createDelivery({
    match: (alert) => catalog.current().match(alert),
    commit: (guard) => store.transact(guard),
    plan: { publicURL: config.publicURL },
    afterCommit: afterCommit({
      metrics,
      wake: () => execution.wake(),
      abortRun: (runId, reason) => execution.abortRun(runId, reason),
      endedHere: (runId) => void outcomes.endedOutside(runId),
      sight: createSighter(alertSources),
    }),
  });
  const app = createApp({
    config,
    store,
    catalog,
    metrics,
    logger,
    isDraining: () => draining,
    deliver,
    abortRun: (runId, reason) => execution.abortRun(runId, reason),
    onApproved: (runId) => {
      execution.wake();
      void outcomes.approved(runId);
    },
    onEndedHere: (runId) => void outcomes.endedOutside(runId),
  });
  // The outbox, approval expiry and the silence heartbeat: one replica at a time, for a term as long as a run's lease.
  const retention = createRetention({
    store,
    retentionMs: config.retentionMs,
    // Often enough that nothing outlives retention by much more than a tenth of it; at most every minute, at least every second.
    intervalMs: Math.max(1000, Math.min(60_000, config.retentionMs / 10)),
    logger,
    onPruned: (counts) => {
      for (const kind of ['runs', 'decisions', 'escalations', 'episodes'] as const) metrics.pruned.inc({ kind }, counts[kind]);
    },
  });
  const leadership = startLeadership({
    store,
    role: 'periodic',
    owner,
    termMs: config.limits.leaseMs,
    work: {
      start: () => {
        outcomes.start();
        retention.start();
      },
      stop: async () => {
        await retention.stop();
        await outcomes.stop();
      },
    },
    logger,
    onChange: (held) => metrics.leader.set({ role: 'periodic' }, held ? 1 : 0),
  });
  // Runs made claimable on another replica wake a worker here at once; polling finds them anyway.
  const stopWaking = store.onWake(() => execution.wake());
  const service: Service = {
    app,
    store,
    catalog,
    metrics,
    execution,
    owner,
    async drain(graceMs: number) {
      if (draining) return;
      draining = true;
      stopWaking();
      await execution.stop(graceMs);
      await leadership.stop();
    },
    async stop(graceMs: number) {
      await service.drain(graceMs);
      await store.close();
    },
  };
  return service;
}
