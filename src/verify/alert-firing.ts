/** Whether an alert still fires, as Prometheus' synthetic ALERTS series tell it. */

import type { LabelSet } from '../core/alert.js';
import type { PrometheusClient } from './prometheus-client.js';
import type { VectorSample } from './query-result.js';

/** Escapes a value for a double-quoted PromQL string (backslash, double quote, newline). */
export function promqlString(value: string): string {
  return `"${value.replace(/[\\"\n]/g, (c) => (c === '\n' ? '\\n' : `\\${c}`))}"`;
}

/** The query for an alert's firing ALERTS series, by alertname only; the other labels are compared in code. */
export function firingAlertsQuery(alertname: string): string {
  return `ALERTS{alertname=${promqlString(alertname)}, alertstate="firing"}`;
}

/**
 * True when a series carries, for every label it has, the alert's value of that label. Only the
 * series' own labels are compared: the alert Alertmanager sent also has external labels (and
 * any added on the way), which the series lacks.
 */
export function seriesMatchesAlert(series: VectorSample, labels: LabelSet): boolean {
  for (const [name, value] of Object.entries(series.metric)) {
    if (name === '__name__' || name === 'alertstate') continue;
    if (!Object.hasOwn(labels, name) || labels[name] !== value) return false;
  }
  return true;
}

/**
 * Asks Prometheus whether the alert with these labels is firing now. A failed query rejects
 * (PrometheusError): it is never taken as "not firing".
 */
export async function isAlertFiring(
  client: PrometheusClient,
  labels: LabelSet,
  options: { readonly signal?: AbortSignal; readonly timeoutMs?: number } = {},
): Promise<boolean> {
  const alertname = Object.hasOwn(labels, 'alertname') ? (labels.alertname ?? '') : '';
  const result = await client.query(firingAlertsQuery(alertname), options);
  if (result.resultType !== 'vector') return false;
  return result.result.some((series) => seriesMatchesAlert(series, labels));
}
