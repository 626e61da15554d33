/** A real SQLite store with runs in it, and the pieces a reporter needs, for the reporting tests. */
import path from 'node:path';
import { labelSet, type Alert } from '../../src/core/alert.js';
import type { RunDetail, RunState } from '../../src/core/run.js';
import { SqliteRunStore } from '../../src/history/sqlite/sqlite-store.js';
import { createLogger } from '../../src/observability/logger.js';
import type { ReportErrorKind } from '../../src/report/report-context.js';
import { claim, insertRun, makeAlert, type RunOptions } from '../store-contract/fixtures.js';
import { makeTempDir, removeTempDir } from '../support/temp-dir.js';

/** What a reporting test works with. */
export interface ReportHarness {
  readonly store: SqliteRunStore;
  readonly logger: ReturnType<typeof createLogger>;
  /** Every kind passed to onReportError, in order. */
  readonly reportErrors: ReportErrorKind[];
  readonly onReportError: (kind: ReportErrorKind) => void;
  /** Inserts a run and claims it, so it is running with a startedAt; returns it as getRun shows it. */
  startRun(options?: RunOptions): Promise<RunDetail>;
  /** Ends a claimed run in the store and returns it as getRun shows it. */
  endRun(run: RunDetail, state: RunState): Promise<RunDetail>;
  reload(runId: string): Promise<RunDetail>;
  close(): Promise<void>;
}

const fences = new Map<string, number>();

/** Opens a fresh store in a temp folder. */
export async function openReportHarness(): Promise<ReportHarness> {
  const dir = makeTempDir('report');
  const store = new SqliteRunStore({ path: path.join(dir, 'remediator.db') });
  await store.open();
  const reportErrors: ReportErrorKind[] = [];
  const reload = async (runId: string): Promise<RunDetail> => {
    const run = await store.getRun(runId);
    if (run === null) throw new Error(`run ${runId} is not in the store`);
    return run;
  };
  return {
    store,
    logger: createLogger({ level: 'silent' }),
    reportErrors,
    onReportError: (kind) => reportErrors.push(kind),
    async startRun(options = {}) {
      const run = await insertRun(store, options);
      fences.set(run.id, await claim(store, run.id));
      return reload(run.id);
    },
    async endRun(run, state) {
      await store.finishRun(run.id, fences.get(run.id) ?? 0, state, state === 'succeeded' ? 'verified' : 'steps_failed');
      return reload(run.id);
    },
    reload,
    async close() {
      await store.close();
      removeTempDir(dir);
    },
  };
}

/** A firing alert with distinct labels, as Alertmanager would send it (an external label included). */
export function alertWithLabels(labels: Record<string, string>): Alert {
  return { ...makeAlert({ alertname: labels.alertname ?? 'VllmQueueBacklog' }), labels: labelSet(Object.entries(labels)) };
}

/** Resolves with how long the promise took to settle, in ms. */
export async function timed(promise: Promise<unknown>): Promise<number> {
  const started = Date.now();
  await promise;
  return Date.now() - started;
}
