/** The history API: runs, decisions, cancel and approve. */

import { Router } from 'express';
import type { Config } from '../config/config.js';
import { RemediatorError } from '../core/errors.js';
import { RUN_STATES, type RunState } from '../core/run.js';
import { principalOf, requireRole } from '../receive/auth.js';
import { jsonBody } from '../receive/json-body.js';
import { queryFilters, queryPage, queryString, queryTime } from './query.js';
import { actorOf, approveRun, cancelRun, type RunActionDeps } from './run-actions.js';

export interface RunsRouteDeps extends RunActionDeps {
  readonly config: Config;
}

/** A small JSON body: nothing or `{"note": "..."}`. */
const smallJson = jsonBody({ limit: 4096, parse: true });

function parseState(v: string | undefined): RunState | undefined {
  if (v === undefined) return undefined;
  if (!(RUN_STATES as readonly string[]).includes(v)) throw new RemediatorError('BAD_REQUEST', `state must be one of ${RUN_STATES.join(', ')}`);
  return v as RunState;
}

/** Routes under /api/v1/runs and /api/v1/decisions. */
export function runsRouter(deps: RunsRouteDeps): Router {
  const router = Router();
  const read = requireRole(deps.config.auth, 'read');
  const operate = requireRole(deps.config.auth, 'operate');

  router.get('/api/v1/runs', read, async (req, res) => {
    const q = req.query as Record<string, unknown>;
    const filter = {
      ...queryFilters(q, ['runbook', 'faultClass', 'target', 'alertname', 'fingerprint'] as const),
      state: parseState(queryString(q, 'state')),
      since: queryTime(q, 'since'),
      until: queryTime(q, 'until'),
    };
    const page = await deps.store.listRuns(filter, queryPage(q));
    res.json({ runs: page.items, nextCursor: page.nextCursor });
  });

  router.get('/api/v1/runs/:id', read, async (req, res) => {
    const run = await deps.store.getRun(String(req.params.id));
    if (run === null) throw new RemediatorError('NOT_FOUND', `no run ${req.params.id}`);
    res.json(run);
  });

  router.post('/api/v1/runs/:id/cancel', operate, ...smallJson, async (req, res) => {
    const id = String(req.params.id);
    const { state, cancelRequested } = await cancelRun(deps, id, actorOf(principalOf(res), req.body));
    res.status(202).json({ id, state, cancelRequested });
  });

  router.post('/api/v1/runs/:id/approve', operate, ...smallJson, async (req, res) => {
    const id = String(req.params.id);
    const { state, approvedBy } = await approveRun(deps, id, actorOf(principalOf(res), req.body));
    res.status(202).json({ id, state, approvedBy });
  });

  router.get('/api/v1/decisions', read, async (req, res) => {
    const q = req.query as Record<string, unknown>;
    const decision = queryString(q, 'decision');
    if (decision !== undefined && decision !== 'run' && decision !== 'skip') throw new RemediatorError('BAD_REQUEST', 'decision must be run or skip');
    const filter = {
      ...queryFilters(q, ['runbook', 'fingerprint', 'alertname', 'reason'] as const),
      decision: decision as 'run' | 'skip' | undefined,
      since: queryTime(q, 'since'),
      until: queryTime(q, 'until'),
    };
    const page = await deps.store.listDecisions(filter, queryPage(q));
    res.json({ decisions: page.items, nextCursor: page.nextCursor });
  });

  router.get('/api/v1/escalations', read, async (req, res) => {
    const q = req.query as Record<string, unknown>;
    const page = await deps.store.listEscalations(queryFilters(q, ['runbook', 'runId'] as const), queryPage(q));
    res.json({ escalations: page.items, nextCursor: page.nextCursor });
  });

  return router;
}
