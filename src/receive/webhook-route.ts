/** POST /api/v1/alerts: authenticate, read the body within its limit, parse, decide, commit, then answer. */

import express, { Router, type Request, type Response } from 'express';
import type { Config } from '../config/config.js';
import { RemediatorError } from '../core/errors.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import { decideDelivery, type DeliveryDeps } from '../pipeline.js';
import { requireRole } from './auth.js';
import { parseWebhookBody } from './webhook-payload.js';

export interface WebhookDeps extends DeliveryDeps {
  readonly config: Config;
  readonly metrics: Metrics;
  readonly logger: Logger;
  readonly isDraining: () => boolean;
  /** Called after a commit that created runs, so a free worker starts at once. */
  readonly onRunsCreated: () => void;
  /** Stops a run this replica executes, at once (resolved with cancelOnResolve). */
  readonly abortRun: (runId: string, reason: 'resolved') => void;
}

/** The webhook router; nothing runs inside the request. */
export function webhookRouter(deps: WebhookDeps): Router {
  const router = Router();
  const log = deps.logger.child({ stage: 'receive' });
  router.post(
    '/api/v1/alerts',
    (_req, _res, next) => next(deps.isDraining() ? new RemediatorError('SHUTTING_DOWN', 'remediator is shutting down; retry') : undefined),
    requireRole(deps.config.auth, 'webhook'),
    express.raw({ type: () => true, limit: deps.config.limits.bodyLimitBytes }),
    async (req: Request, res: Response) => {
      const started = process.hrtime.bigint();
      const text = Buffer.isBuffer(req.body) ? req.body.toString('utf8') : '';
      const body = parseWebhookBody(text);
      const out = await decideDelivery(deps, body.alerts);
      for (const a of body.alerts) deps.metrics.alertsReceived.inc({ status: a.status });
      for (const d of out.decisions) deps.metrics.decisions.inc({ decision: d.decision, reason: d.reason ?? 'none' });
      for (const reason of out.escalations) deps.metrics.escalations.inc({ reason });
      if (out.runs.length > 0) deps.onRunsCreated();
      for (const c of out.cancelNow) deps.abortRun(c.runId, c.reason);
      // Debug, not info: Alertmanager re-sends every group each repeat_interval; the decisions themselves are in the store.
      log.debug({ groupKey: body.groupKey, alerts: body.alerts.length, runs: out.runs.length }, 'delivery accepted');
      deps.metrics.webhookDuration.observe(Number(process.hrtime.bigint() - started) / 1e9);
      res.status(200).json({ runs: out.runs, decisions: out.decisions });
    },
  );
  return router;
}
