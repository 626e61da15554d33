/** The one place that knows the order of the stages: receive → match → guard → (commit) → execute. */

import type { Alert } from './core/alert.js';
import type { Catalog } from './match/catalog.js';
import type { RunStore } from './history/run-store.js';
import { decideFiring, type PlanContext } from './guard/decide-firing.js';
import { decideResolved } from './guard/decide-resolved.js';
import type { DeliveryOutcome } from './guard/guard-types.js';

export interface DeliveryDeps {
  readonly store: RunStore;
  readonly catalog: () => Catalog;
  readonly plan: PlanContext;
}

/** Matches and guards every alert of one delivery, all in one store transaction: committed together or not at all. */
export function decideDelivery(deps: DeliveryDeps, alerts: readonly Alert[]): Promise<DeliveryOutcome> {
  const catalog = deps.catalog();
  return deps.store.transact(async (tx) => {
    const out: DeliveryOutcome = { runs: [], decisions: [], cancelNow: [], escalations: [] };
    for (const alert of alerts) {
      const runbooks = catalog.match(alert);
      if (runbooks.length === 0) {
        out.decisions.push(await tx.insertDecision({ alert, runbook: null, decision: 'skip', reason: 'no_match', runId: null }));
        continue;
      }
      for (const runbook of runbooks) {
        if (alert.status === 'resolved') await decideResolved(tx, alert, runbook, out);
        else await decideFiring(tx, deps.plan, alert, runbook, out);
      }
    }
    return out;
  });
}
