/**
 * What happens around a run's life besides its steps: escalations recorded for failures, reporting (Grafana annotation,
 * silence, approval alert, escalation outbox), approval timeouts and the silence heartbeat. Wired once per replica.
 */

import type { Logger } from 'pino';
import type { CatalogHolder } from './catalog-holder.js';
import type { Config } from './config/config.js';
import { toError } from './core/errors.js';
import type { RunDetail, RunReason, RunState } from './core/run.js';
import type { ExecutorDeps } from './execute/run-executor.js';
import { startApprovalExpiry } from './guard/approval-expiry.js';
import type { RunStore } from './history/run-store.js';
import { countStoreError, type Metrics } from './observability/metrics.js';
import type { AlertmanagerClient } from './report/alertmanager-client.js';
import { createGrafanaClient } from './report/grafana-client.js';
import { createReporter } from './report/reporter.js';
import type { AlertStateOracle } from './verify/alert-state.js';

export interface Outcomes {
  readonly hooks: Pick<ExecutorDeps, 'onRunStarted' | 'onRunEnded' | 'onAwaitingApproval' | 'stillFiring'>;
  /** A run ended without a worker (canceled while pending or awaiting approval): report its end. */
  endedOutside(runId: string): Promise<void>;
  /** A person approved a run: the approval alert is resolved. */
  approved(runId: string): Promise<void>;
  start(): void;
  stop(): Promise<void>;
}

export interface OutcomeDeps {
  readonly config: Config;
  readonly store: RunStore;
  readonly catalog: CatalogHolder;
  readonly metrics: Metrics;
  readonly logger: Logger;
  readonly alertmanager: AlertmanagerClient | null;
  /** Whether an alert still fires, for approvals that resume and for escalations kept posted. */
  readonly alertState: AlertStateOracle | null;
  readonly heartbeatMs?: number;
  readonly approvalCheckMs?: number;
}

/** Outcomes that a person must hear about (SPEC §7). */
const ESCALATED_STATES: readonly RunState[] = ['failed', 'interrupted'];

/** Wires reporting and escalation; nothing starts until start(). */
export function createOutcomes(deps: OutcomeDeps): Outcomes {
  const { config, store, metrics } = deps;
  const log = deps.logger.child({ stage: 'report' });
  const reporter = createReporter({
    publicURL: config.publicURL,
    alertmanager: deps.alertmanager,
    grafana: config.grafana === null ? null : createGrafanaClient({ ...config.grafana, dashboardUID: config.grafana.dashboardUID ?? undefined }),
    alertState: deps.alertState,
    store,
    logger: log,
    onReportError: (kind) => {
      metrics.reportErrors.inc({ kind });
      if (kind === 'store') metrics.storeErrors.inc({ stage: 'report' });
    },
    faultClassOf: (runbook) => deps.catalog.current().get(runbook)?.faultClass ?? null,
  });
  const escalate = async (run: RunDetail, reason: string): Promise<void> => {
    await store.recordEscalation({ runbook: run.runbook, runId: run.id, reason, alert: run.alert, target: run.target });
    metrics.escalations.inc({ reason });
  };
  const ended = async (run: RunDetail, state: RunState, reason: RunReason | null): Promise<void> => {
    try {
      if (ESCALATED_STATES.includes(state)) await escalate(run, reason === 'approval_timeout' ? reason : state);
    } catch (err) {
      countStoreError(metrics, 'report', err);
      log.error({ err: toError(err), runId: run.id }, 'cannot record escalation');
    }
    await reporter.runEnded(run, state, reason);
  };
  const fresh = async (runId: string): Promise<RunDetail | null> => store.getRun(runId);
  let heartbeat: NodeJS.Timeout | null = null;
  let expiry: { stop(): void } | null = null;

  const beat = async (): Promise<void> => {
    for (const state of ['running', 'awaiting_approval'] as const) {
      const page = await store.listRuns({ state }, { limit: 500, cursor: null });
      for (const summary of page.items) {
        const run = await fresh(summary.id);
        if (run?.silenceId) await reporter.runHeartbeat(run);
      }
    }
  };

  return {
    hooks: {
      onRunStarted: (run) => reporter.runStarted(run, { silence: deps.catalog.current().get(run.runbook)?.safety.silence ?? false }),
      onRunEnded: ended,
      onAwaitingApproval: async (run) => {
        const waiting = await fresh(run.id);
        if (waiting !== null) await reporter.awaitingApproval(waiting);
      },
      stillFiring: async (run) => {
        if (deps.alertState === null) return null;
        try {
          const seen = await deps.alertState(run.alert, { signal: AbortSignal.timeout(10_000) });
          return seen.state === 'unknown' ? null : seen.state === 'firing';
        } catch (err) {
          log.warn({ err: toError(err), runId: run.id }, 'cannot tell whether the alert still fires');
          return null;
        }
      },
    },
    async endedOutside(runId) {
      const run = await fresh(runId);
      if (run !== null) await reporter.runEnded(run, run.state, run.reason);
    },
    async approved(runId) {
      const run = await fresh(runId);
      if (run !== null) await reporter.approvalSettled(run);
    },
    start() {
      reporter.start();
      heartbeat = setInterval(() => void beat().catch((err: unknown) => log.error({ err: toError(err) }, 'silence heartbeat failed')), deps.heartbeatMs ?? 60_000);
      heartbeat.unref();
      expiry = startApprovalExpiry({
        store,
        intervalMs: deps.approvalCheckMs ?? 2_000,
        logger: log,
        onExpired: (run) => ended(run, 'failed', 'approval_timeout'),
      });
    },
    async stop() {
      if (heartbeat !== null) clearInterval(heartbeat);
      expiry?.stop();
      await reporter.stop();
    },
  };
}
