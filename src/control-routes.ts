/** Operator controls: runbooks list, pause and resume (global and per runbook), reload, health and metrics. */

import { Router } from 'express';
import type { CatalogHolder } from './catalog-holder.js';
import type { Config } from './config/config.js';
import { RemediatorError } from './core/errors.js';
import { isoOrNull } from './core/clock.js';
import type { BreakerState, RunStore } from './history/run-store.js';
import type { Metrics } from './observability/metrics.js';
import { requireRole } from './receive/auth.js';
import { jsonBody } from './receive/json-body.js';

export interface ControlDeps {
  readonly config: Config;
  readonly store: RunStore;
  readonly catalog: CatalogHolder;
  readonly metrics: Metrics;
  readonly isDraining: () => boolean;
}

function breakerView(state: BreakerState | undefined): { open: boolean; openedAt: string | null; lastSeenAt: string | null } {
  return { open: state !== undefined, openedAt: isoOrNull(state?.openedAt), lastSeenAt: isoOrNull(state?.lastSeenAt) };
}

/** Routes for operators and for the platform's probes. */
export function controlRouter(deps: ControlDeps): Router {
  const router = Router();
  const read = requireRole(deps.config.auth, 'read');
  // Every control POST is JSON (an empty body is fine): a browser cannot send that cross-site without a preflight we never answer.
  const operate = [requireRole(deps.config.auth, 'operate'), ...jsonBody({ limit: 4096, parse: true })];

  const knownRunbook = (name: string): string => {
    if (!deps.catalog.current().runbooks.some((r) => r.name === name)) throw new RemediatorError('NOT_FOUND', `no runbook named ${name}`);
    return name;
  };

  router.get('/api/v1/runbooks', read, async (_req, res) => {
    const paused = await deps.store.pausedRunbooks();
    const breakers = await deps.store.openBreakers();
    const runbooks = deps.catalog.current().runbooks.map((r) => ({
      name: r.name,
      faultClass: r.faultClass,
      description: r.description,
      file: r.file,
      hash: r.hash,
      mode: r.mode,
      paused: paused.has(r.name),
      breaker: breakerView(breakers.get(r.name)),
    }));
    res.json({ runbooks, globalPaused: await deps.store.globalPaused(), lastReload: deps.catalog.lastReload() });
  });

  for (const [action, paused] of [['pause', true], ['resume', false]] as const) {
    router.post(`/api/v1/runbooks/:name/${action}`, ...operate, async (req, res) => {
      const name = knownRunbook(String(req.params.name));
      await deps.store.setRunbookPause(name, paused);
      res.json({ runbook: name, paused });
    });
    router.post(`/api/v1/${action}`, ...operate, async (_req, res) => {
      await deps.store.setGlobalPause(paused);
      res.json({ globalPaused: paused });
    });
  }

  router.post('/api/v1/runbooks/:name/reset', ...operate, async (req, res) => {
    const name = knownRunbook(String(req.params.name));
    await deps.store.resetRunbook(name);
    res.json({ runbook: name, breaker: breakerView(undefined), attemptBudgetsCleared: true });
  });

  router.post('/-/reload', ...operate, async (_req, res) => {
    const result = await deps.catalog.reload();
    if (!result.ok) {
      res.status(422).json({ error: { code: 'RELOAD_FAILED', message: result.errors.join('\n') }, errors: result.errors });
      return;
    }
    res.json({ ok: true, runbooks: deps.catalog.current().runbooks.length, lastReload: deps.catalog.lastReload() });
  });

  router.get('/-/healthy', (_req, res) => {
    res.type('text/plain').send('remediator is healthy\n');
  });

  router.get('/-/ready', async (_req, res) => {
    if (deps.isDraining()) throw new RemediatorError('NOT_READY', 'shutting down');
    try {
      await deps.store.ping();
    } catch (err) {
      throw new RemediatorError('NOT_READY', 'the run store does not answer', { cause: err });
    }
    res.type('text/plain').send('remediator is ready\n');
  });

  const metricsAuth = deps.config.metricsAuth === 'read' ? [read] : [];
  router.get('/metrics', ...metricsAuth, async (_req, res) => {
    res.type(deps.metrics.registry.contentType).send(await deps.metrics.registry.metrics());
  });

  return router;
}
