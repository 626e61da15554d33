/** GET / (the overview): the window from the query, its runs read through the run list's query, the active runs now. */

import type { Request, Response } from 'express';
import { RemediatorError } from '../core/errors.js';
import { ACTIVE_STATES, type RunState, type RunSummary } from '../core/run.js';
import { queryString } from '../history/query.js';
import type { RunStore } from '../history/run-store.js';
import { overviewPage } from './overview-page.js';
import { DEFAULT_WINDOW, overviewStats, WINDOWS, type WindowName } from './overview-stats.js';
import { sendPage } from './page-response.js';
import { MAX_WINDOW_RUNS, runsInWindow } from './window-runs.js';

/** How many active runs of each state the overview lists. */
const ACTIVE_LISTED = 50;
/** A live overview refreshes this often. */
const OVERVIEW_REFRESH_MS = 5000;

function windowOf(query: unknown): WindowName {
  const given = queryString((query ?? {}) as Record<string, unknown>, 'window');
  if (given === undefined || given === '') return DEFAULT_WINDOW;
  if (!Object.hasOwn(WINDOWS, given)) throw new RemediatorError('BAD_REQUEST', `window must be one of ${Object.keys(WINDOWS).join(', ')}`);
  return given as WindowName;
}

async function activeNow(store: RunStore): Promise<{ runs: RunSummary[]; more: Set<RunState> }> {
  const pages = await Promise.all(ACTIVE_STATES.map((state) => store.listRuns({ state }, { limit: ACTIVE_LISTED, cursor: null })));
  const more = new Set(ACTIVE_STATES.filter((_s, i) => pages[i]?.nextCursor !== null));
  const runs = pages.flatMap((p) => p.items).sort((a, b) => Date.parse(b.createdAt) - Date.parse(a.createdAt) || b.id.localeCompare(a.id));
  return { runs, more };
}

/** The overview handler: the window is [now − window, now) on the store's clock. */
export function showOverview(store: RunStore) {
  return async (req: Request, res: Response): Promise<void> => {
    const window = windowOf(req.query);
    const until = await store.now();
    const since = until - WINDOWS[window];
    const [inWindow, active] = await Promise.all([runsInWindow(store, since, until), activeNow(store)]);
    const view = {
      window,
      since: new Date(since).toISOString(),
      until: new Date(until).toISOString(),
      stats: overviewStats(inWindow.runs),
      capped: inWindow.capped,
      cap: MAX_WINDOW_RUNS,
      active: active.runs,
      activeMore: active.more,
    };
    const live = active.runs.length > 0 ? { everyMs: OVERVIEW_REFRESH_MS, asOf: new Date(until).toISOString(), why: `${active.runs.length} runs are active` } : undefined;
    sendPage(res, 200, 'Overview', overviewPage(view), live);
  };
}
