/** createApp(deps): the HTTP surface, wired from its dependencies; no I/O at import time. */

import express, { type NextFunction, type Request, type Response } from 'express';
import type { CatalogHolder } from './catalog-holder.js';
import type { Config } from './config/config.js';
import type { Alert } from './core/alert.js';
import type { DeliveryOutcome } from './guard/guard-types.js';
import { controlRouter } from './control-routes.js';
import { RemediatorError, toError } from './core/errors.js';
import { runsRouter } from './history/runs-routes.js';
import type { RunStore } from './history/run-store.js';
import type { Logger } from './observability/logger.js';
import { countStoreError, type Metrics } from './observability/metrics.js';
import { crossSiteGuard } from './receive/cross-site-guard.js';
import { hostGuard, hostPolicy, type HostPolicy } from './receive/host-guard.js';
import { createRefusalLog, type RefusalLog } from './receive/refusal-log.js';
import { webhookRouter } from './receive/webhook-route.js';
import { webRouter } from './web/web-router.js';

export interface AppDeps {
  readonly config: Config;
  readonly store: RunStore;
  readonly catalog: CatalogHolder;
  readonly metrics: Metrics;
  readonly logger: Logger;
  readonly isDraining: () => boolean;
  /** The delivery path (pipeline.ts): match → guard → commit → after commit. */
  readonly deliver: (alerts: readonly Alert[]) => Promise<DeliveryOutcome>;
  readonly abortRun: (runId: string, reason: 'canceled' | 'resolved') => void;
  readonly onApproved: (runId: string) => void;
  readonly onEndedHere: (runId: string) => void;
  /** Counts refusals and rate-limits their warnings; by default one on deps.logger and deps.metrics. */
  readonly refusals?: RefusalLog;
  /** The Host names served; by default the config's (SPEC §3). */
  readonly hosts?: HostPolicy;
}

interface BodyParserError {
  type?: string;
  status?: number;
}

/** Maps anything thrown in a route to the API's error shape. */
function toRemediatorError(err: unknown): RemediatorError {
  if (err instanceof RemediatorError) return err;
  const e = err as BodyParserError;
  if (e?.type === 'entity.too.large') return new RemediatorError('BODY_TOO_LARGE', 'the body is larger than limits.bodyLimitBytes', { cause: err });
  if (e?.type === 'encoding.unsupported' || e?.type === 'charset.unsupported') {
    return new RemediatorError('UNSUPPORTED_MEDIA_TYPE', 'the body encoding is not supported', { cause: err });
  }
  if (e?.type === 'request.aborted' || e?.type === 'entity.verify.failed' || e?.status === 400) {
    return new RemediatorError('BAD_REQUEST', 'the request body could not be read', { cause: err });
  }
  return new RemediatorError('INTERNAL', 'internal error', { cause: err });
}

/** Builds the Express app. */
export function createApp(deps: AppDeps): express.Express {
  const app = express();
  app.disable('x-powered-by');
  // No ETag on answers: they are live reads and acknowledgements, never revalidated, and hashing each one (a group's
  // acknowledgement is megabytes) is a cost every delivery paid.
  app.set('etag', false);
  app.set('query parser', 'simple');
  const refusals = deps.refusals ?? createRefusalLog(deps.logger, deps.metrics);
  // Before every route, so no handler (and no credential check) sees a rebound or cross-site request.
  app.use(hostGuard(deps.hosts ?? hostPolicy(deps.config)));
  app.use(crossSiteGuard(deps.config.publicURL));
  app.use(webhookRouter(deps));
  app.use(runsRouter(deps));
  app.use(controlRouter(deps));
  app.use(webRouter({ ...deps, refusals }));
  app.use((_req: Request, _res: Response, next: NextFunction) => next(new RemediatorError('NOT_FOUND', 'no such route')));
  app.use((err: unknown, req: Request, res: Response, _next: NextFunction) => {
    const e = toRemediatorError(err);
    if (req.path === '/api/v1/alerts') deps.metrics.deliveries.inc({ code: String(e.httpStatus) });
    countStoreError(deps.metrics, req.path === '/api/v1/alerts' ? 'receive' : 'api', e);
    if (e.httpStatus >= 500) deps.logger.error({ err: toError(e.cause ?? e), path: req.path, code: e.code }, 'request failed');
    else refusals.refused(e.code, { path: req.path, method: req.method, reason: e.message }, 'request refused');
    // A refused oversized body is not read: the connection cannot carry another request after it.
    if (e.code === 'BODY_TOO_LARGE') res.setHeader('Connection', 'close');
    res.status(e.httpStatus).json(e.toBody());
  });
  return app;
}
