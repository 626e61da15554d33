/** POST /runs/{id}/cancel and /approve from the run page's forms: the API's actions (history/run-actions.ts), behind the form guard. */

import type { Request, Response } from 'express';
import { actorOf, approveRun, cancelRun, type RunActionDeps } from '../history/run-actions.js';
import { principalOf } from '../receive/auth.js';
import type { FormGuard } from './form-guard.js';
import { sitePath } from './html.js';

/** The actions' dependencies and the form guard. */
export interface FormActionDeps extends RunActionDeps {
  readonly guard: FormGuard;
}

/** Cancels the run as POST /api/v1/runs/{id}/cancel does, then shows the run again. */
export function cancelHandler(deps: FormActionDeps) {
  return async (req: Request, res: Response): Promise<void> => {
    const id = String(req.params.id);
    deps.guard.check(req, 'cancel', id);
    await cancelRun(deps, id, actorOf(principalOf(res), undefined));
    res.redirect(303, sitePath(['runs', id]).toString());
  };
}

/** Approves the run as POST /api/v1/runs/{id}/approve does (the form's note is added to the signed-in principal), then shows the run again. */
export function approveHandler(deps: FormActionDeps) {
  return async (req: Request, res: Response): Promise<void> => {
    const id = String(req.params.id);
    deps.guard.check(req, 'approve', id);
    await approveRun(deps, id, actorOf(principalOf(res), req.body));
    res.redirect(303, sitePath(['runs', id]).toString());
  };
}
