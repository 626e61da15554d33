/** The report fields of runs, changed one change at a time per run and written through to the store. */

import { toError } from '../core/errors.js';
import type { RunDetail } from '../core/run.js';
import type { Logger } from '../observability/logger.js';
import type { RunReport, RunStore } from '../history/run-store.js';
import { readReportState, type ReportState } from './report-record.js';

/** The store methods reporting uses. */
export type ReportStore = Pick<RunStore, 'setRunReport' | 'getRun' | 'pendingEscalations' | 'markEscalation' | 'listEscalations'>;

/** Where a change starts from: the run as the caller has it, or the store's current record. */
export type ReportSource = RunDetail | 'store';

/** Serialised read-change-write of each run's report fields. */
export interface RunReports {
  /**
   * Runs `change` on the run's current report state, after any change of the same run still in
   * flight, and writes the fields it returns (whole, so a store that replaces fields and one
   * that merges them agree). Never rejects: a store failure is logged and passed to onStoreError.
   */
  update(runId: string, source: ReportSource, change: (state: ReportState) => Promise<Partial<ReportState>>): Promise<void>;
  /** Keeps the run's state in memory while it is active, so heartbeats need no store read. */
  pin(runId: string): void;
  unpin(runId: string): void;
}

/** Builds the per-run report keeper. */
export function createRunReports(deps: {
  readonly store: ReportStore;
  readonly configured: { readonly grafana: boolean; readonly alertmanager: boolean };
  readonly logger: Logger;
  readonly onStoreError: () => void;
}): RunReports {
  const tails = new Map<string, Promise<void>>();
  const pinned = new Map<string, ReportState | null>();

  const current = async (runId: string, source: ReportSource): Promise<ReportState> => {
    const cached = pinned.get(runId);
    if (cached) return cached;
    if (source !== 'store') return readReportState(source, deps.configured);
    try {
      return readReportState(await deps.store.getRun(runId), deps.configured);
    } catch (thrown) {
      deps.logger.warn({ err: toError(thrown), runId }, 'report state read failed');
      deps.onStoreError();
      return readReportState(null, deps.configured);
    }
  };

  const apply = async (runId: string, source: ReportSource, change: (state: ReportState) => Promise<Partial<ReportState>>): Promise<void> => {
    const before = await current(runId, source);
    const changed = await change(before);
    if (pinned.has(runId)) pinned.set(runId, { ...before, ...changed });
    if (Object.keys(changed).length === 0) return;
    try {
      await deps.store.setRunReport(runId, changed satisfies RunReport);
    } catch (thrown) {
      deps.logger.warn({ err: toError(thrown), runId }, 'run report write failed');
      deps.onStoreError();
    }
  };

  return {
    update(runId, source, change) {
      const previous = tails.get(runId) ?? Promise.resolve();
      const next = previous.then(() => apply(runId, source, change)).catch((thrown: unknown) => {
        deps.logger.error({ err: toError(thrown), runId }, 'run report change failed');
      });
      tails.set(runId, next);
      void next.then(() => {
        if (tails.get(runId) === next) tails.delete(runId);
      });
      return next;
    },
    pin(runId) {
      if (!pinned.has(runId)) pinned.set(runId, null);
    },
    unpin(runId) {
      pinned.delete(runId);
    },
  };
}
