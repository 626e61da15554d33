/** The runs of a time window, read through the same list query as GET /api/v1/runs, page by page. */

import type { RunSummary } from '../core/run.js';
import { MAX_LIMIT } from '../history/query.js';
import type { RunFilter, RunStore } from '../history/run-store.js';

/** The overview reads at most this many runs of a window (the newest); past it, it says so. */
export const MAX_WINDOW_RUNS = 20_000;

export interface WindowRuns {
  readonly runs: readonly RunSummary[];
  /** true when the window holds more runs than were read. */
  readonly capped: boolean;
}

/** Runs created in [sinceMs, untilMs), newest first, up to `cap`. */
export async function runsInWindow(store: Pick<RunStore, 'listRuns'>, sinceMs: number, untilMs: number, cap = MAX_WINDOW_RUNS): Promise<WindowRuns> {
  const filter: RunFilter = { since: sinceMs, until: untilMs };
  const runs: RunSummary[] = [];
  let cursor: string | null = null;
  do {
    const page = await store.listRuns(filter, { limit: Math.min(MAX_LIMIT, cap - runs.length), cursor });
    runs.push(...page.items);
    cursor = page.nextCursor;
  } while (cursor !== null && runs.length < cap);
  return { runs, capped: cursor !== null };
}
