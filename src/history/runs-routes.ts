/** The history API: runs, decisions, cancel and approve. */

import express, { Router, type Request } from 'express';
import type { Config } from '../config/config.js';
import { RemediatorError } from '../core/errors.js';
import { FINAL_STATES, RUN_STATES, type RunState } from '../core/run.js';
import { requireRole } from '../receive/auth.js';
import { queryFilters, queryPage, queryString, queryTime } from './query.js';
import type { RunStore } from './run-store.js';

export interface RunsRouteDeps {
  readonly config: Config;
  readonly store: RunStore;
  /** Stops a run this replica executes, at once; other replicas see the store's flag. */
  readonly abortRun: (runId: string, reason: 'canceled') => void;
  /** A run was approved: a worker should claim and resume it now. */
  readonly onApproved: (runId: string) => void;
  /** A run ended outside any worker (a pending or awaiting run canceled): report it. */
  readonly onEndedHere: (runId: string) => void;
}

/** Who approved: the `approver` the body names (as people share operate tokens), else the basic-auth user, else the role. */
function approverOf(req: Request): string {
  const body = req.body as { approver?: unknown } | undefined;
  if (typeof body?.approver === 'string' && /^[\w.@+-]{1,128}$/.test(body.approver)) return body.approver;
  const basic = /^Basic\s+([A-Za-z0-9+/=]+)$/i.exec(req.headers.authorization ?? '');
  if (basic?.[1] !== undefined) return Buffer.from(basic[1], 'base64').toString('utf8').split(':')[0] ?? 'operate';
  return 'operate';
}

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

  router.post('/api/v1/runs/:id/cancel', operate, async (req, res) => {
    const id = String(req.params.id);
    const before = await deps.store.getRun(id);
    if (before === null) throw new RemediatorError('NOT_FOUND', `no run ${id}`);
    if (FINAL_STATES.includes(before.state)) throw new RemediatorError('CONFLICT', `run ${id} already ended as ${before.state}`);
    const state = await deps.store.cancelRun(id, 'canceled');
    if (state === 'running') deps.abortRun(id, 'canceled');
    if (state === 'canceled') deps.onEndedHere(id);
    res.status(202).json({ id, state, cancelRequested: state !== 'canceled' });
  });

  router.post('/api/v1/runs/:id/approve', operate, express.json({ limit: 4096 }), async (req, res) => {
    const id = String(req.params.id);
    const state = await deps.store.approveRun(id, approverOf(req));
    if (state === null) throw new RemediatorError('NOT_FOUND', `no run ${id}`);
    if (state !== 'running') throw new RemediatorError('CONFLICT', `run ${id} is ${state}, not awaiting approval`);
    deps.onApproved(id);
    res.status(202).json({ id, state, approvedBy: approverOf(req) });
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
