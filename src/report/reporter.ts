/**
 * Reporting of runs (SPEC §7): the Grafana annotation, the Alertmanager silence, the alert that asks
 * for approval, and the outbox of escalations. No method ever rejects or outlasts its retry budget,
 * so reporting never holds a run back; failures are recorded in the run and passed to onReportError.
 */

import { systemClock, type Clock } from '../core/clock.js';
import type { RunDetail, RunReason, RunState } from '../core/run.js';
import type { Logger } from '../observability/logger.js';
import type { AlertStateOracle } from '../verify/alert-state.js';
import type { AlertmanagerClient } from './alertmanager-client.js';
import { createEscalationOutbox, type OutboxSettings } from './escalation-outbox.js';
import type { GrafanaClient } from './grafana-client.js';
import { endAnnotation, startAnnotation } from './run-annotation.js';
import type { AlertmanagerRecord, PostedAlertRecord, ReportState } from './report-record.js';
import type { ReportContext, ReportErrorKind } from './report-context.js';
import { iso, msOf, reportFailure } from './report-context.js';
import { remediationAlert } from './remediation-alert.js';
import { holdSilence, releaseSilence } from './run-silence.js';
import { createRunReports, type ReportStore } from './run-reports.js';
import { DEFAULT_RETRY_POLICY, withRetries, type RetryPolicy } from './with-retries.js';

/** What createReporter needs; a null integration is not configured, and the run record says so. */
export interface ReporterOptions {
  /** Base of the links put in annotations, silences and alerts. */
  readonly publicURL: string;
  readonly alertmanager: AlertmanagerClient | null;
  readonly grafana: GrafanaClient | null;
  /** Tells whether an escalated alert still fires; without it, escalations are re-posted until outbox.maxAgeMs. */
  readonly alertState: AlertStateOracle | null;
  readonly store: ReportStore;
  readonly logger: Logger;
  /** Called once per reporting operation that failed after its retries (count it as a metric). */
  readonly onReportError?: (kind: ReportErrorKind) => void;
  readonly retry?: Partial<RetryPolicy>;
  readonly clock?: Clock;
  /** How far ahead a silence ends; heartbeats move it on. Default 5 minutes. */
  readonly silenceTtlMs?: number;
  /** A runbook's fault class, for escalations that have no run (guard refusals). */
  readonly faultClassOf?: (runbook: string) => string | null;
  readonly outbox?: Partial<OutboxSettings>;
}

/** The reporter's entry points; each resolves (never rejects) within the retry budget plus a store write. */
export interface Reporter {
  /** The run entered `running`: annotation created; with `silence`, the alert silenced. A resumed run keeps what it has. */
  runStarted(run: RunDetail, options: { readonly silence: boolean }): Promise<void>;
  /** Call about every minute while the run is active: extends its silence (or retries a failed one). */
  runHeartbeat(run: RunDetail): Promise<void>;
  /** The run reached a final state: annotation turned into a region with the outcome, silence expired, approval alert resolved. */
  runEnded(run: RunDetail, state: RunState, reason: RunReason | null): Promise<void>;
  /** The run waits at a tier with `approval: required`: posts RemediationAwaitingApproval and carries its silence, both to the approval deadline. */
  awaitingApproval(run: RunDetail): Promise<void>;
  /** The wait is over (approved): resolves RemediationAwaitingApproval at once. runEnded does it too. */
  approvalSettled(run: RunDetail): Promise<void>;
  /** Starts the escalation outbox loop. */
  start(): void;
  /** Stops the loop and waits for the pass in flight. */
  stop(): Promise<void>;
  /** One outbox pass now: posts pending escalations and re-posts those whose alert still fires. */
  flushEscalations(): Promise<void>;
}

/** Builds the reporter; nothing is called and no timer starts until its methods are. */
export function createReporter(options: ReporterOptions): Reporter {
  const ctx: ReportContext = {
    publicURL: options.publicURL,
    alertmanager: options.alertmanager,
    grafana: options.grafana,
    logger: options.logger.child({ stage: 'report' }),
    retry: { ...DEFAULT_RETRY_POLICY, ...options.retry },
    clock: options.clock ?? systemClock,
    onReportError: options.onReportError ?? (() => undefined),
  };
  const reports = createRunReports({
    store: options.store,
    configured: { grafana: ctx.grafana !== null, alertmanager: ctx.alertmanager !== null },
    logger: ctx.logger,
    onStoreError: () => ctx.onReportError('store'),
  });
  const ttlMs = options.silenceTtlMs ?? 5 * 60_000;
  const outbox = createEscalationOutbox({
    ctx,
    store: options.store,
    reports,
    alertState: options.alertState,
    faultClassOf: options.faultClassOf ?? (() => null),
    settings: options.outbox ?? {},
  });

  const silenceOnStart = async (run: RunDetail, state: ReportState, wanted: boolean): Promise<Partial<ReportState>> => {
    const am = ctx.alertmanager;
    if (am === null || !state.escalation.configured || !wanted) return {};
    const silence = await holdSilence(ctx, am, run, state.escalation.silence, ttlMs);
    return { silenceId: silence.id, escalation: { ...state.escalation, silence } };
  };

  return {
    async runStarted(run, { silence }) {
      reports.pin(run.id);
      await reports.update(run.id, run, async (state) => {
        const [annotations, silenced] = await Promise.all([startAnnotation(ctx, run, state.annotations), silenceOnStart(run, state, silence)]);
        return { annotations, silenceId: state.silenceId, escalation: state.escalation, ...silenced };
      });
    },

    async runHeartbeat(run) {
      await reports.update(run.id, 'store', async (state) => {
        const am = ctx.alertmanager;
        const esc = state.escalation;
        if (am === null || !esc.configured || esc.silence === null || esc.silence.expiredAt !== null) return {};
        const silence = await holdSilence(ctx, am, run, esc.silence, ttlMs);
        return { silenceId: silence.id, escalation: { ...esc, silence } };
      });
    },

    async runEnded(run, state, reason) {
      await reports.update(run.id, 'store', async (current) => {
        const [annotations, escalation] = await Promise.all([
          endAnnotation(ctx, run, current.annotations, { state, reason }),
          endAlertmanager(ctx, run, current.escalation),
        ]);
        // silenceId keeps naming the silence the run used; escalation.silence.expiredAt says it is over.
        return { annotations, escalation };
      });
      reports.unpin(run.id);
    },

    async awaitingApproval(run) {
      await reports.update(run.id, 'store', async (state) => {
        const am = ctx.alertmanager;
        if (am === null || !state.escalation.configured) return {};
        const deadline = msOf(run.approvalDeadline) ?? ctx.clock.now() + 60 * 60_000;
        const esc = state.escalation;
        // No worker heartbeats a waiting run, so its silence is carried to the deadline, when the run ends anyway.
        const holding = esc.silence !== null && esc.silence.expiredAt === null;
        const [awaitingApproval, silence] = await Promise.all([
          postApprovalAlert(ctx, am, run, iso(deadline)),
          holding ? holdSilence(ctx, am, run, esc.silence, Math.max(ttlMs, deadline - ctx.clock.now())) : esc.silence,
        ]);
        return { escalation: { ...esc, awaitingApproval, silence }, silenceId: silence?.id ?? null };
      });
    },

    async approvalSettled(run) {
      await reports.update(run.id, 'store', async (state) => {
        const am = ctx.alertmanager;
        const esc = state.escalation;
        if (am === null || !esc.configured || esc.awaitingApproval === null) return {};
        return { escalation: { ...esc, awaitingApproval: await resolvePosted(ctx, am, run.id, esc.awaitingApproval) } };
      });
    },

    start: () => outbox.start(),
    stop: () => outbox.stop(),
    flushEscalations: () => outbox.flush(),
  };
}

async function endAlertmanager(ctx: ReportContext, run: RunDetail, esc: AlertmanagerRecord): Promise<AlertmanagerRecord> {
  const am = ctx.alertmanager;
  if (am === null || !esc.configured) return esc;
  const [silence, awaitingApproval] = await Promise.all([
    esc.silence === null ? null : releaseSilence(ctx, am, run.id, esc.silence),
    esc.awaitingApproval === null ? null : resolvePosted(ctx, am, run.id, esc.awaitingApproval),
  ]);
  return { ...esc, silence, awaitingApproval };
}

async function postApprovalAlert(ctx: ReportContext, am: AlertmanagerClient, run: RunDetail, endsAt: string): Promise<PostedAlertRecord> {
  const tier = run.approvalTier ?? null;
  const tierName = tier === null ? 'a tier' : `tier ${tier + 1} (${run.plan.tiers[tier]?.name ?? '?'})`;
  const alert = remediationAlert(
    {
      alertname: 'RemediationAwaitingApproval',
      labels: run.alert.labels,
      runbook: run.runbook,
      faultClass: run.faultClass,
      target: run.target,
      reason: 'awaiting_approval',
      runId: run.id,
      summary: `remediator run ${run.id} of runbook ${run.runbook} on ${run.target} waits for approval at ${tierName} until ${endsAt}`,
    },
    ctx.publicURL,
    endsAt,
  );
  const record: PostedAlertRecord = { alertname: 'RemediationAwaitingApproval', reason: 'awaiting_approval', labels: alert.labels, annotations: alert.annotations ?? null, postedAt: null, resolvedAt: null, error: null };
  try {
    await withRetries((signal) => am.postAlerts([alert], { signal }), ctx.retry);
    return { ...record, postedAt: iso(ctx.clock.now()) };
  } catch (thrown) {
    return { ...record, error: reportFailure(ctx, 'alert', thrown, { runId: run.id, step: 'awaiting_approval' }) };
  }
}

/** Ends a posted alert now: the same labels with endsAt = now resolve it. */
export async function resolvePosted(ctx: ReportContext, am: AlertmanagerClient, runId: string | null, record: PostedAlertRecord): Promise<PostedAlertRecord> {
  const labels = record.labels;
  if (record.postedAt === null || record.resolvedAt !== null || labels === null) return record;
  const now = iso(ctx.clock.now());
  try {
    await withRetries((signal) => am.postAlerts([{ labels, annotations: record.annotations ?? {}, endsAt: now }], { signal }), ctx.retry);
    return { ...record, resolvedAt: now, error: null };
  } catch (thrown) {
    return { ...record, error: reportFailure(ctx, 'alert', thrown, { runId, step: `resolve ${record.alertname}` }) };
  }
}
