/** POST /runs/{id}/cancel and /approve from the run page's forms: the API's effects, behind the form guard. */

import type { Request, Response } from 'express';
import { RemediatorError } from '../core/errors.js';
import { FINAL_STATES } from '../core/run.js';
import type { RunStore } from '../history/run-store.js';
import type { FormGuard } from './form-guard.js';
import { sitePath } from './html.js';

/** The store and the callbacks the API's cancel and approve routes use (see history/runs-routes.ts). */
export interface RunActionDeps {
  readonly store: RunStore;
  readonly guard: FormGuard;
  readonly abortRun: (runId: string, reason: 'canceled') => void;
  readonly onApproved: (runId: string) => void;
  readonly onEndedHere: (runId: string) => void;
}

const APPROVER = /^[\w.@+-]{1,128}$/;

/** The basic-auth user where there is one (a person's own login), else the name typed in the form, else the role. */
export function approverOf(req: Request): string {
  const basic = /^Basic\s+([A-Za-z0-9+/=]+)$/i.exec(req.headers.authorization ?? '');
  const user = basic?.[1] === undefined ? '' : (Buffer.from(basic[1], 'base64').toString('utf8').split(':')[0] ?? '');
  if (APPROVER.test(user)) return user;
  const typed = (req.body as { approver?: unknown } | undefined)?.approver;
  if (typed === undefined || typed === '') return 'operate';
  if (typeof typed !== 'string' || !APPROVER.test(typed)) throw new RemediatorError('BAD_REQUEST', 'approver must be 1 to 128 letters, digits or . @ + - _');
  return typed;
}

/** Cancels the run as POST /api/v1/runs/{id}/cancel does, then shows the run again. */
export function cancelHandler(deps: RunActionDeps) {
  return async (req: Request, res: Response): Promise<void> => {
    const id = String(req.params.id);
    deps.guard.check(req, 'cancel', id);
    const before = await deps.store.getRun(id);
    if (before === null) throw new RemediatorError('NOT_FOUND', `no run ${id}`);
    if (FINAL_STATES.includes(before.state)) throw new RemediatorError('CONFLICT', `run ${id} already ended as ${before.state}`);
    const state = await deps.store.cancelRun(id, 'canceled');
    if (state === 'running') deps.abortRun(id, 'canceled');
    if (state === 'canceled') deps.onEndedHere(id);
    res.redirect(303, sitePath(['runs', id]).toString());
  };
}

/** Approves the run as POST /api/v1/runs/{id}/approve does, then shows the run again. */
export function approveHandler(deps: RunActionDeps) {
  return async (req: Request, res: Response): Promise<void> => {
    const id = String(req.params.id);
    deps.guard.check(req, 'approve', id);
    const state = await deps.store.approveRun(id, approverOf(req));
    if (state === null) throw new RemediatorError('NOT_FOUND', `no run ${id}`);
    if (state !== 'running') throw new RemediatorError('CONFLICT', `run ${id} is ${state}, not awaiting approval`);
    deps.onApproved(id);
    res.redirect(303, sitePath(['runs', id]).toString());
  };
}
