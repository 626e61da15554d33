/** POST /api/v1/alerts: authenticate, read the body within its limit, parse, hand the alerts to the delivery path, then answer. */

import { Router, type Request, type Response } from 'express';
import type { Config } from '../config/config.js';
import type { Alert } from '../core/alert.js';
import { RemediatorError } from '../core/errors.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import type { DeliveryOutcome } from '../guard/guard-types.js';
import { requireRole } from './auth.js';
import { jsonBody } from './json-body.js';
import { parseWebhookBody } from './webhook-payload.js';

export interface WebhookDeps {
  readonly config: Config;
  readonly metrics: Metrics;
  readonly logger: Logger;
  readonly isDraining: () => boolean;
  /** match → guard → commit → after commit, passed in from pipeline.ts; resolves once the delivery is committed. */
  readonly deliver: (alerts: readonly Alert[]) => Promise<DeliveryOutcome>;
}

/** The webhook router; nothing runs inside the request. */
export function webhookRouter(deps: WebhookDeps): Router {
  const router = Router();
  const log = deps.logger.child({ stage: 'receive' });
  router.post(
    '/api/v1/alerts',
    (_req, _res, next) => next(deps.isDraining() ? new RemediatorError('SHUTTING_DOWN', 'remediator is shutting down; retry') : undefined),
    requireRole(deps.config.auth, 'webhook'),
    ...jsonBody({ limit: deps.config.limits.bodyLimitBytes, parse: false }),
    async (req: Request, res: Response) => {
      const started = process.hrtime.bigint();
      const text = typeof req.body === 'string' ? req.body : '';
      const body = parseWebhookBody(text);
      const out = await deps.deliver(body.alerts);
      // Debug, not info: Alertmanager re-sends every group each repeat_interval; the decisions themselves are in the store.
      log.debug({ groupKey: body.groupKey, alerts: body.alerts.length, runs: out.runs.length }, 'delivery accepted');
      deps.metrics.webhookDuration.observe(Number(process.hrtime.bigint() - started) / 1e9);
      deps.metrics.deliveries.inc({ code: '200' });
      res.status(200).json({ runs: out.runs, decisions: out.decisions });
    },
  );
  return router;
}
