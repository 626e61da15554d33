/** The SRE web pages (SPEC §3 `GET /` and below): server-rendered HTML over the run store and the loaded runbooks. */

import express, { Router, type Request, type Response } from 'express';
import type { CatalogHolder } from '../catalog-holder.js';
import type { Config } from '../config/config.js';
import { RemediatorError } from '../core/errors.js';
import { ACTIVE_STATES, type RunState } from '../core/run.js';
import type { RunStore } from '../history/run-store.js';
import type { Logger } from '../observability/logger.js';
import { requireRole } from '../receive/auth.js';
import { refuseOversizedBody } from '../receive/json-body.js';
import type { RefusalLog } from '../receive/refusal-log.js';
import { decisionsPage } from './decisions-page.js';
import { createFormGuard, type FormGuard } from './form-guard.js';
import { decisionListQuery, runListQuery } from './list-query.js';
import type { LivePage } from './live-refresh.js';
import { showOverview } from './overview-route.js';
import { pageErrors, pageHeaders, sendPage } from './page-response.js';
import { approveHandler, cancelHandler } from './run-actions.js';
import { runListPage } from './run-list-page.js';
import { runPage } from './run-page.js';
import { runbookPage } from './runbook-page.js';
import { runbooksPage } from './runbooks-page.js';

export interface WebDeps {
  readonly config: Config;
  readonly store: RunStore;
  readonly catalog: CatalogHolder;
  readonly logger: Logger;
  /** The same callbacks as the API's cancel and approve routes get. */
  readonly abortRun: (runId: string, reason: 'canceled') => void;
  readonly onApproved: (runId: string) => void;
  readonly onEndedHere: (runId: string) => void;
  /** Where refused requests are counted and (rate-limited) logged; none by default. */
  readonly refusals?: RefusalLog;
  /** The form guard; by default one with a fresh random key. */
  readonly formGuard?: FormGuard;
}

const RECENT = 20;
/** How often a live page refreshes: a running run moves fast, a waiting one or a list less so. */
const RUNNING_REFRESH_MS = 2000;
const WAITING_REFRESH_MS = 5000;
const LIST_REFRESH_MS = 5000;

function runLive(state: RunState, now: number): LivePage | undefined {
  if (!ACTIVE_STATES.includes(state)) return undefined;
  return { everyMs: state === 'running' ? RUNNING_REFRESH_MS : WAITING_REFRESH_MS, asOf: new Date(now).toISOString(), why: `the run is ${state}` };
}

/** GET /runbooks/{name}: the loaded runbook, with what the store knows about it. */
function showRunbook(deps: WebDeps) {
  return async (req: Request, res: Response): Promise<void> => {
    const name = String(req.params.name);
    const rb = deps.catalog.current().get(name);
    if (rb === undefined) throw new RemediatorError('NOT_FOUND', `No runbook named ${name} is loaded.`);
    const [paused, breakers, runs, escalations] = await Promise.all([
      deps.store.pausedRunbooks(),
      deps.store.openBreakers(),
      deps.store.listRuns({ runbook: name }, { limit: RECENT, cursor: null }),
      deps.store.listEscalations({ runbook: name }, { limit: RECENT, cursor: null }),
    ]);
    const activity = { paused: paused.has(name), breaker: breakers.get(name), runs: runs.items, moreRuns: runs.nextCursor !== null, escalations: escalations.items };
    sendPage(res, 200, `Runbook ${name}`, runbookPage(rb, activity));
  };
}

/** Routes: GET /, /runs, /runs/{id}, /decisions, /runbooks, /runbooks/{name}; POST /runs/{id}/cancel and /approve. */
export function webRouter(deps: WebDeps): Router {
  const router = Router();
  const read = [pageHeaders, requireRole(deps.config.auth, 'read')];
  // Credentials are checked before the form body is read.
  const operate = [
    pageHeaders,
    requireRole(deps.config.auth, 'operate'),
    refuseOversizedBody(4096),
    express.urlencoded({ extended: false, limit: 4096, parameterLimit: 10 }),
  ];
  const guard = deps.formGuard ?? createFormGuard(deps.config.publicURL);

  router.get('/', ...read, showOverview(deps.store));

  router.get('/runs', ...read, async (req, res) => {
    const { filter, page, values } = runListQuery(req.query);
    const [runs, paused] = await Promise.all([deps.store.listRuns(filter, page), deps.store.globalPaused()]);
    const active = runs.items.filter((r) => ACTIVE_STATES.includes(r.state)).length;
    const live = active > 0 ? { everyMs: LIST_REFRESH_MS, asOf: new Date().toISOString(), why: `${active} runs on this page are active` } : undefined;
    sendPage(res, 200, 'Runs', runListPage(runs, values, paused), live);
  });

  router.get('/runs/:id', ...read, async (req, res) => {
    const run = await deps.store.getRun(String(req.params.id));
    if (run === null) throw new RemediatorError('NOT_FOUND', `There is no run ${String(req.params.id)}.`);
    const currentHash = deps.catalog.current().get(run.runbook)?.hash ?? null;
    const now = Date.now();
    const body = runPage(run, { currentHash, publicURL: deps.config.publicURL, token: guard.token, now });
    sendPage(res, 200, `Run ${run.id}`, body, runLive(run.state, now));
  });

  const actions = { ...deps, guard };
  router.post('/runs/:id/cancel', ...operate, cancelHandler(actions));
  router.post('/runs/:id/approve', ...operate, approveHandler(actions));

  router.get('/decisions', ...read, async (req, res) => {
    const { filter, page, values } = decisionListQuery(req.query);
    sendPage(res, 200, 'Decisions', decisionsPage(await deps.store.listDecisions(filter, page), values));
  });

  router.get('/runbooks', ...read, async (_req, res) => {
    const [paused, breakers, globalPaused] = await Promise.all([deps.store.pausedRunbooks(), deps.store.openBreakers(), deps.store.globalPaused()]);
    const body = runbooksPage(deps.catalog.current().runbooks, { paused, breakers, globalPaused }, deps.catalog.lastReload());
    sendPage(res, 200, 'Runbooks', body);
  });

  router.get('/runbooks/:name', ...read, showRunbook(deps));

  router.use(pageErrors(deps));
  return router;
}
