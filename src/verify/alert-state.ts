/**
 * Whether an alert episode still fires, asked of the sources that can speak for it (SPEC §6): the store (a resolved
 * notification arrived), Alertmanager (the source of every delivery: the alert by fingerprint, silenced and inhibited
 * alerts included), and Prometheus only for an alert it was seen to carry. Absence is never proof on its own.
 */

import type { Logger } from 'pino';
import type { Alert } from '../core/alert.js';
import { toError } from '../core/errors.js';
import type { RunStore } from '../history/run-store.js';
import type { AlertmanagerClient } from '../report/alertmanager-client.js';
import { firingAlertsQuery, seriesMatchesAlert } from './alert-firing.js';
import type { PrometheusClient } from './prometheus-client.js';

/** firing; ended; silenced by a person (not by remediator); or unknown: no source can speak for it. */
export type AlertStateKind = 'firing' | 'ended' | 'silenced' | 'unknown';

/** The answer, with who gave it and what was seen, for the run record and the log. */
export interface AlertState {
  readonly state: AlertStateKind;
  readonly source: 'notification' | 'alertmanager' | 'prometheus' | 'none';
  readonly detail: string;
}

/** The sources; a null client is a source not configured. */
export interface AlertStateDeps {
  readonly store: Pick<RunStore, 'episodeFacts' | 'recordPrometheusSighting'>;
  readonly alertmanager: AlertmanagerClient | null;
  readonly prometheus: PrometheusClient | null;
  readonly logger: Logger;
}

/** Asks every source in turn; one that cannot answer is passed over (and logged), never taken as "ended". */
export type AlertStateOracle = (alert: Alert, options?: { readonly signal?: AbortSignal }) => Promise<AlertState>;

const REMEDIATOR = 'remediator';

/** Escapes a value for an Alertmanager matcher in double quotes. */
function matcherValue(value: string): string {
  return `"${value.replace(/[\\"\n]/g, (c) => (c === '\n' ? '\\n' : `\\${c}`))}"`;
}

async function fromAlertmanager(am: AlertmanagerClient, alert: Alert, signal: AbortSignal | undefined): Promise<AlertState> {
  const filter = Object.hasOwn(alert.labels, 'alertname') ? [`alertname=${matcherValue(alert.labels.alertname ?? '')}`] : [];
  const found = (await am.getAlerts({ filter, active: true, silenced: true, inhibited: true, unprocessed: true }, { signal })).find(
    (a) => a.fingerprint === alert.fingerprint,
  );
  if (found === undefined) return { state: 'ended', source: 'alertmanager', detail: `Alertmanager ${am.url} no longer has alert ${alert.fingerprint}` };
  for (const id of found.status.silencedBy) {
    const silence = await am.getSilence(id, { signal });
    // remediator's own silence hides the alert while a run works on it; it says nothing about the fault.
    if (silence !== null && silence.createdBy !== REMEDIATOR) {
      return { state: 'silenced', source: 'alertmanager', detail: `silenced by ${silence.createdBy} (silence ${id}): ${silence.comment}` };
    }
  }
  return { state: 'firing', source: 'alertmanager', detail: `Alertmanager ${am.url} has alert ${alert.fingerprint} (${found.status.state})` };
}

async function fromPrometheus(deps: AlertStateDeps, prometheus: PrometheusClient, alert: Alert, signal: AbortSignal | undefined): Promise<AlertState> {
  const result = await prometheus.query(firingAlertsQuery(alert.labels.alertname ?? ''), { signal });
  const carried = result.resultType === 'vector' && result.result.some((series) => seriesMatchesAlert(series, alert.labels));
  if (carried) {
    await deps.store.recordPrometheusSighting(alert.fingerprint, alert.startsAt);
    return { state: 'firing', source: 'prometheus', detail: 'Prometheus carries its ALERTS series' };
  }
  const facts = await deps.store.episodeFacts(alert.fingerprint, alert.startsAt);
  if (facts.prometheusSeenAt !== null) return { state: 'ended', source: 'prometheus', detail: 'Prometheus carried its ALERTS series and no longer does' };
  return { state: 'unknown', source: 'none', detail: 'Prometheus never carried its ALERTS series (another source sent it)' };
}

/** Builds the oracle over the configured sources. */
export function createAlertStateOracle(deps: AlertStateDeps): AlertStateOracle {
  return async (alert, options = {}) => {
    const facts = await deps.store.episodeFacts(alert.fingerprint, alert.startsAt);
    if (facts.resolvedAt !== null) return { state: 'ended', source: 'notification', detail: 'a resolved notification for the episode arrived' };
    const log = deps.logger.child({ fingerprint: alert.fingerprint, alertname: alert.labels.alertname });
    if (deps.alertmanager !== null) {
      try {
        return await fromAlertmanager(deps.alertmanager, alert, options.signal);
      } catch (err) {
        log.warn({ err: toError(err) }, 'alertmanager cannot tell whether the alert still fires');
      }
    }
    let detail = 'no configured source can tell whether it still fires';
    if (deps.prometheus !== null) {
      try {
        const state = await fromPrometheus(deps, deps.prometheus, alert, options.signal);
        if (state.state !== 'unknown') return state;
        detail = state.detail;
      } catch (err) {
        log.warn({ err: toError(err) }, 'prometheus cannot tell whether the alert still fires');
      }
    }
    // Absence is not proof: the alert fired when it was delivered, so remediator acts as the delivery asked.
    log.info({ detail }, 'no source can tell whether the alert still fires; acting as the delivery asked');
    return { state: 'unknown', source: 'none', detail };
  };
}

/** Looks the alert up in Prometheus once, so that its later absence there means it ended; errors only logged. */
export async function sightInPrometheus(deps: AlertStateDeps, alert: Alert, signal?: AbortSignal): Promise<void> {
  if (deps.prometheus === null) return;
  try {
    await fromPrometheus(deps, deps.prometheus, alert, signal);
  } catch (err) {
    deps.logger.debug({ err: toError(err), fingerprint: alert.fingerprint }, 'prometheus sighting failed');
  }
}

/** Sights new runs' alerts in the background, at most maxInFlight lookups at once; more are dropped (they stay unknown, which acts). */
export function createSighter(deps: AlertStateDeps, maxInFlight = 8): (alerts: readonly Alert[]) => void {
  let inFlight = 0;
  return (alerts) => {
    if (deps.prometheus === null) return;
    for (const alert of alerts) {
      if (inFlight >= maxInFlight) {
        deps.logger.debug({ fingerprint: alert.fingerprint }, 'prometheus sighting skipped: too many in flight');
        continue;
      }
      inFlight++;
      void sightInPrometheus(deps, alert, AbortSignal.timeout(10_000)).finally(() => {
        inFlight--;
      });
    }
  };
}
