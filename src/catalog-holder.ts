/** Holds the runbooks in force and reloads them all-or-nothing, reporting each reload as a metric. */

import { loadCatalog, type Catalog } from './match/catalog.js';
import { formatIssue } from './match/runbook-issue.js';
import { initRunbookSeries, type Metrics } from './observability/metrics.js';

export interface ReloadStatus {
  readonly at: string;
  readonly success: boolean;
  readonly error: string | null;
}

export interface CatalogHolder {
  current(): Catalog;
  lastReload(): ReloadStatus;
  /** Loads the folder again; on any error the previous runbooks stay in force and the errors are returned. */
  reload(): Promise<{ ok: true } | { ok: false; errors: string[] }>;
}

/** Loads the runbooks once; throws with every error (file:line:col) when the first load fails. */
export async function createCatalogHolder(dir: string, metrics: Metrics): Promise<CatalogHolder> {
  let catalog: Catalog | null = null;
  let status: ReloadStatus = { at: new Date().toISOString(), success: false, error: 'not loaded' };
  let inFlight: Promise<{ ok: true } | { ok: false; errors: string[] }> | null = null;

  async function load(): Promise<{ ok: true } | { ok: false; errors: string[] }> {
    const result = await loadCatalog(dir);
    const at = new Date();
    metrics.lastReloadTimestamp.set(at.getTime() / 1000);
    if (!result.ok) {
      const errors = result.errors.map(formatIssue);
      status = { at: at.toISOString(), success: false, error: errors.join('\n') };
      metrics.reloads.inc({ result: 'failure' });
      metrics.lastReloadSuccess.set(0);
      return { ok: false, errors };
    }
    catalog = result.catalog;
    status = { at: at.toISOString(), success: true, error: null };
    metrics.reloads.inc({ result: 'success' });
    metrics.lastReloadSuccess.set(1);
    metrics.runbooksLoaded.set(result.catalog.runbooks.length);
    initRunbookSeries(metrics, result.catalog.runbooks);
    return { ok: true };
  }

  const first = await load();
  if (!first.ok) throw new AggregateError([], first.errors.join('\n'));
  return {
    current: () => catalog as Catalog,
    lastReload: () => status,
    // Concurrent reloads (SIGHUP and POST /-/reload at once) share one load.
    reload: () => {
      inFlight ??= load().finally(() => {
        inFlight = null;
      });
      return inFlight;
    },
  };
}
