/** Every metric remediator exports, on an injected registry. Labels are bounded: never fingerprints or hosts. */

import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { RemediatorError } from '../core/errors.js';
import { GUARD_REASONS, RUN_STATES, type GuardReason } from '../core/run.js';
import type { RunCounts } from '../history/run-store.js';

const RUN_CREATING: readonly GuardReason[] = ['cooldown', 'shadow', 'target_busy', 'pool_busy', 'rate_limited'];

/** The codes remediator_http_refusals_total counts; MAX_CONNECTIONS is a connection dropped at limits.maxConnections. */
export const HTTP_REFUSAL_CODES = ['UNAUTHORIZED', 'HOST_NOT_ALLOWED', 'CROSS_SITE', 'UNSUPPORTED_MEDIA_TYPE', 'BODY_TOO_LARGE', 'BAD_ENCODING', 'MAX_CONNECTIONS'] as const;

/** How a tier ended, as remediator_tier_outcomes_total counts it: a tier that succeeded is verified or unverified. */
export const TIER_OUTCOMES = ['verified', 'unverified', 'failed', 'canceled', 'interrupted'] as const;
export type TierOutcome = (typeof TIER_OUTCOMES)[number];

/** The run outcomes remediator_recovery_seconds observes: the final states of a run that a worker executed. */
export const RECOVERY_OUTCOMES = ['succeeded', 'failed', 'canceled', 'interrupted'] as const;

/** Where remediator_store_errors_total counts a store that could not answer. */
export const STORE_ERROR_STAGES = ['receive', 'api', 'claim', 'execute', 'sweep', 'report', 'scrape'] as const;
export type StoreErrorStage = (typeof STORE_ERROR_STAGES)[number];

/** HTTP statuses the webhook answers (SPEC §3), initialised to zero so that an error rate has its denominator from the start. */
const WEBHOOK_CODES = ['200', '400', '401', '413', '415', '503'];

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
  readonly recoveryTime: Histogram<'fault_class' | 'outcome'>;
  readonly tierOutcomes: Counter<'runbook' | 'tier' | 'outcome'>;
  readonly storeErrors: Counter<'stage'>;
  /** Read from the store at each scrape (see StoreScrape). */
  readonly runsAwaitingApproval: Gauge;
  readonly runsLeaseExpired: Gauge;
  readonly ready: Gauge;
}

/** What the scrape-time gauges read: counts of the whole store (the same on every replica sharing it) and this replica's state. */
export interface StoreScrape {
  /** Rejects when the store cannot answer. */
  readonly counts: () => Promise<RunCounts>;
  /** true once the replica stopped taking alerts (SIGTERM): /-/ready answers 503 then. */
  readonly draining: () => boolean;
  /** How long a scrape waits for the store before it reports it as not answering (default 2 s, well inside a scrape timeout). */
  readonly timeoutMs?: number;
}

const DEFAULT_SCRAPE_TIMEOUT_MS = 2000;

/**
 * Creates and registers every metric, with known label values initialised to zero. Without `scrape` the store-read gauges
 * stay at 0 (tests that need no store).
 */
export function createMetrics(registry: Registry, scrape?: StoreScrape): Metrics {
  const registers = [registry];
  // One store read per scrape; a read that fails counts in storeErrors, whose collect waits for it so the count shows at once.
  const read = scrape === undefined ? null : scrapeOnce(scrape, () => storeErrors.inc({ stage: 'scrape' }));
  const storeErrors = new Counter({
    name: 'remediator_store_errors_total',
    help: 'Store calls that failed because the store could not answer (webhook 503s, claims, runs left for a reclaim, sweeps, reports, scrapes), by stage.',
    labelNames: ['stage'],
    registers,
    collect: async () => void (await read?.()),
  });
  // Each store-read gauge sets itself from the scrape's one read of the store.
  const collectFrom = (value: (counts: RunCounts | null) => number) =>
    read === null
      ? undefined
      : async function collect(this: Gauge): Promise<void> {
          this.set(value(await read()));
        };
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
    recoveryTime: new Histogram({
      name: 'remediator_recovery_seconds',
      help: "Time from the alert's startsAt to the end of the run a worker executed for it, by fault class and outcome.",
      labelNames: ['fault_class', 'outcome'],
      buckets: [10, 30, 60, 120, 300, 600, 1200, 1800, 3600],
      registers,
    }),
    tierOutcomes: new Counter({ name: 'remediator_tier_outcomes_total', help: 'Tiers that ended, by runbook, tier name and outcome (verified, unverified, failed, canceled, interrupted).', labelNames: ['runbook', 'tier', 'outcome'], registers }),
    storeErrors,
    runsAwaitingApproval: new Gauge({
      name: 'remediator_runs_awaiting_approval',
      help: 'Runs waiting for a person at a tier with approval: required, in the whole store (every replica reports the same); NaN when the store did not answer the scrape.',
      registers,
      collect: collectFrom((counts) => counts?.awaitingApproval ?? Number.NaN),
    }),
    runsLeaseExpired: new Gauge({
      name: 'remediator_runs_lease_expired',
      help: 'Running runs whose lease ran out and that no sweep has released yet, in the whole store; above 0 for long, runs are stuck. NaN when the store did not answer the scrape.',
      registers,
      collect: collectFrom((counts) => counts?.leaseExpired ?? Number.NaN),
    }),
    ready: new Gauge({
      name: 'remediator_ready',
      help: '1 when this replica would answer /-/ready with 200 (the store answered this scrape and it is not draining), else 0.',
      registers,
      collect: collectFrom((counts) => (counts !== null && scrape?.draining() === false ? 1 : 0)),
    }),
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
  for (const code of WEBHOOK_CODES) m.deliveries.inc({ code }, 0);
  for (const stage of STORE_ERROR_STAGES) m.storeErrors.inc({ stage }, 0);
  return m;
}

/** Initialises the series of the loaded runbooks to zero: tier outcomes per runbook and tier, recovery times per fault class. */
export function initRunbookSeries(m: Pick<Metrics, 'tierOutcomes' | 'recoveryTime'>, runbooks: readonly { readonly name: string; readonly faultClass: string; readonly tiers: readonly { readonly name: string }[] }[]): void {
  for (const runbook of runbooks) {
    for (const tier of runbook.tiers) for (const outcome of TIER_OUTCOMES) m.tierOutcomes.inc({ runbook: runbook.name, tier: tier.name, outcome }, 0);
    for (const outcome of RECOVERY_OUTCOMES) m.recoveryTime.zero({ fault_class: runbook.faultClass, outcome });
  }
}

/** Counts `thrown` in remediator_store_errors_total when it says the store could not answer (other errors are not the store's). */
export function countStoreError(m: Pick<Metrics, 'storeErrors'> | undefined, stage: StoreErrorStage, thrown: unknown): void {
  if (thrown instanceof RemediatorError && thrown.code === 'STORE_UNAVAILABLE') m?.storeErrors.inc({ stage });
}

/**
 * The store read of one scrape, shared by every gauge that asks during it (prom-client collects them side by side), bounded
 * by the scrape's timeout; null, counted by onError, when the store did not answer. A store read that outlived its scrape is
 * waited for again by the next one rather than joined by another, so a hung store never holds more than one read.
 */
function scrapeOnce(scrape: StoreScrape, onError: () => void): () => Promise<RunCounts | null> {
  let inFlight: Promise<RunCounts | null> | null = null;
  let storeRead: Promise<RunCounts> | null = null;
  const counts = (): Promise<RunCounts> => {
    storeRead ??= scrape.counts().finally(() => {
      storeRead = null;
    });
    return storeRead;
  };
  const readNow = async (): Promise<RunCounts | null> => {
    let timer: NodeJS.Timeout | undefined;
    const timeoutMs = scrape.timeoutMs ?? DEFAULT_SCRAPE_TIMEOUT_MS;
    const late = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => reject(new RemediatorError('STORE_UNAVAILABLE', `the store did not answer a scrape within ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      return await Promise.race([counts(), late]);
    } catch {
      onError();
      return null;
    } finally {
      clearTimeout(timer);
    }
  };
  return () => {
    inFlight ??= readNow().finally(() => {
      inFlight = null;
    });
    return inFlight;
  };
}
