/** Every metric remediator exports, on an injected registry. Labels are bounded: never fingerprints or hosts. */

import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { GUARD_REASONS, RUN_STATES, type GuardReason } from '../core/run.js';

const RUN_CREATING: readonly GuardReason[] = ['cooldown', 'shadow', 'target_busy', 'pool_busy', 'rate_limited'];

/** The codes remediator_http_refusals_total counts; MAX_CONNECTIONS is a connection dropped at limits.maxConnections. */
export const HTTP_REFUSAL_CODES = ['UNAUTHORIZED', 'HOST_NOT_ALLOWED', 'CROSS_SITE', 'UNSUPPORTED_MEDIA_TYPE', 'BODY_TOO_LARGE', 'BAD_ENCODING', 'MAX_CONNECTIONS'] as const;

/** The decision a reason belongs to: a run exists (it may wait) or it does not (skipped). */
export function decisionOf(reason: GuardReason): 'run' | 'skip' {
  return RUN_CREATING.includes(reason) ? 'run' : 'skip';
}

export interface Metrics {
  readonly registry: Registry;
  readonly alertsReceived: Counter<'status'>;
  readonly deliveries: Counter<'code'>;
  readonly decisions: Counter<'decision' | 'reason'>;
  readonly runsEnded: Counter<'outcome'>;
  readonly runDuration: Histogram<'outcome'>;
  readonly stepDuration: Histogram<'kind' | 'outcome'>;
  readonly runsInFlight: Gauge;
  readonly reloads: Counter<'result'>;
  readonly lastReloadSuccess: Gauge;
  readonly lastReloadTimestamp: Gauge;
  readonly runbooksLoaded: Gauge;
  readonly webhookDuration: Histogram;
  readonly escalations: Counter<'reason'>;
  readonly reportErrors: Counter<'kind'>;
  readonly httpRefusals: Counter<'code'>;
  readonly leader: Gauge<'role'>;
  readonly pruned: Counter<'kind'>;
}

/** Creates and registers every metric, with known label values initialised to zero. */
export function createMetrics(registry: Registry): Metrics {
  const registers = [registry];
  const m: Metrics = {
    registry,
    alertsReceived: new Counter({ name: 'remediator_alerts_received_total', help: 'Alerts split out of accepted webhook deliveries.', labelNames: ['status'], registers }),
    deliveries: new Counter({ name: 'remediator_webhook_deliveries_total', help: 'Webhook deliveries by HTTP status answered.', labelNames: ['code'], registers }),
    decisions: new Counter({ name: 'remediator_decisions_total', help: 'Guard decisions by decision and reason ("none" for a plain run).', labelNames: ['decision', 'reason'], registers }),
    runsEnded: new Counter({ name: 'remediator_runs_total', help: 'Runs that reached a final state, by outcome.', labelNames: ['outcome'], registers }),
    runDuration: new Histogram({ name: 'remediator_run_duration_seconds', help: 'Time from a run starting to its end.', labelNames: ['outcome'], buckets: [1, 5, 15, 60, 300, 900, 3600], registers }),
    stepDuration: new Histogram({ name: 'remediator_step_duration_seconds', help: 'Time a step took, all attempts.', labelNames: ['kind', 'outcome'], buckets: [0.05, 0.25, 1, 5, 15, 60, 300], registers }),
    runsInFlight: new Gauge({ name: 'remediator_runs_in_flight', help: 'Runs this replica is executing now.', registers }),
    reloads: new Counter({ name: 'remediator_runbook_reloads_total', help: 'Runbook (re)loads by result.', labelNames: ['result'], registers }),
    lastReloadSuccess: new Gauge({ name: 'remediator_runbook_reload_success', help: '1 if the last runbook (re)load succeeded, else 0.', registers }),
    lastReloadTimestamp: new Gauge({ name: 'remediator_runbook_reload_timestamp_seconds', help: 'When the last runbook (re)load was attempted.', registers }),
    runbooksLoaded: new Gauge({ name: 'remediator_runbooks_loaded', help: 'Runbooks in force.', registers }),
    escalations: new Counter({ name: 'remediator_escalations_total', help: 'Escalations recorded (guard refusals and runs that failed), by reason.', labelNames: ['reason'], registers }),
    reportErrors: new Counter({ name: 'remediator_report_errors_total', help: 'Reporting calls (Grafana, Alertmanager) that failed after their retries, by kind.', labelNames: ['kind'], registers }),
    httpRefusals: new Counter({ name: 'remediator_http_refusals_total', help: 'HTTP requests refused before any work (auth, host, cross-site, type, size), and connections dropped at the cap, by code.', labelNames: ['code'], registers }),
    leader: new Gauge({ name: 'remediator_leader', help: '1 while this replica holds the role (the periodic work: outbox, approval expiry, retention), else 0.', labelNames: ['role'], registers }),
    pruned: new Counter({ name: 'remediator_pruned_total', help: 'Rows deleted by retention (runs, decisions, escalations, episodes), by kind.', labelNames: ['kind'], registers }),
    webhookDuration: new Histogram({ name: 'remediator_webhook_duration_seconds', help: 'Time to decide, commit and answer a webhook delivery.', buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.1, 0.5], registers }),
  };
  for (const status of ['firing', 'resolved']) m.alertsReceived.inc({ status }, 0);
  for (const reason of GUARD_REASONS) m.decisions.inc({ decision: decisionOf(reason), reason }, 0);
  m.decisions.inc({ decision: 'run', reason: 'none' }, 0);
  for (const outcome of RUN_STATES.filter((s) => !['pending', 'running', 'awaiting_approval'].includes(s))) m.runsEnded.inc({ outcome }, 0);
  for (const result of ['success', 'failure']) m.reloads.inc({ result }, 0);
  for (const kind of ['annotation', 'silence', 'alert', 'escalation', 'store']) m.reportErrors.inc({ kind }, 0);
  for (const reason of ['param_invalid', 'attempts_exhausted', 'fleet_breaker', 'stale', 'failed', 'interrupted', 'approval_timeout', 'still_firing']) {
    m.escalations.inc({ reason }, 0);
  }
  for (const code of HTTP_REFUSAL_CODES) m.httpRefusals.inc({ code }, 0);
  m.leader.set({ role: 'periodic' }, 0);
  for (const kind of ['runs', 'decisions', 'escalations', 'episodes']) m.pruned.inc({ kind }, 0);
  return m;
}
