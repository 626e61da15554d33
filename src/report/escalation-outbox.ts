/**
 * The escalation outbox (SPEC §7): escalations the store recorded are posted to Alertmanager as
 * RemediationFailed, then re-posted while the original alert still fires, so the alert neither
 * resolves on its own nor outlives the fault by much. The store is the outbox: an escalation stays
 * pending until a post succeeds, so a crash or an Alertmanager outage loses none.
 */

import { abortableDelay } from '../execute/abortable-delay.js';
import { toError } from '../core/errors.js';
import type { Escalation } from '../history/run-store.js';
import type { AlertStateOracle } from '../verify/alert-state.js';
import type { AlertmanagerClient, PostableAlert } from './alertmanager-client.js';
import { iso, msOf, reportFailure, type ReportContext } from './report-context.js';
import type { PostedAlertRecord } from './report-record.js';
import { remediationAlert } from './remediation-alert.js';
import type { ReportStore, RunReports } from './run-reports.js';
import { withRetries } from './with-retries.js';

/** Timings of the outbox. */
export interface OutboxSettings {
  /** Pause between passes. */
  readonly intervalMs: number;
  /** Pending escalations taken per pass. */
  readonly batch: number;
  /** Each post ends this far ahead, so a dead remediator's alerts resolve by themselves. */
  readonly alertTtlMs: number;
  /** How often a posted alert is checked and posted again; keep it well under alertTtlMs. */
  readonly repostEveryMs: number;
  /** While no source can tell whether the original still fires, re-posting stops this long after the first post. */
  readonly maxAgeMs: number;
  /** At start, escalations posted within this are picked up again for re-posting. */
  readonly resumeWindowMs: number;
}

const DEFAULTS: OutboxSettings = {
  intervalMs: 5000,
  batch: 20,
  alertTtlMs: 5 * 60_000,
  repostEveryMs: 60_000,
  maxAgeMs: 60 * 60_000,
  resumeWindowMs: 24 * 60 * 60_000,
};

interface LiveAlert {
  readonly escalation: Escalation;
  readonly alert: PostableAlert;
  readonly firstPostedAt: number;
  lastPostedAt: number;
}

/** What the outbox works with. */
export interface OutboxDeps {
  readonly ctx: ReportContext;
  readonly store: ReportStore;
  readonly reports: RunReports;
  /** Whether the original alert still fires (Alertmanager, Prometheus where it carried it); null: never known. */
  readonly alertState: AlertStateOracle | null;
  readonly faultClassOf: (runbook: string) => string | null;
  readonly settings: Partial<OutboxSettings>;
}

/** Builds the outbox; it does nothing until started or flushed. */
export function createEscalationOutbox(deps: OutboxDeps): EscalationOutbox {
  return new EscalationOutbox(deps);
}

/** The outbox loop and the alerts it keeps posted (in memory; picked up again from the store at start). */
export class EscalationOutbox {
  private readonly deps: OutboxDeps;
  private readonly ctx: ReportContext;
  private readonly settings: OutboxSettings;
  /** Posted alerts still kept alive, by label set. */
  private readonly live = new Map<string, LiveAlert>();
  /** When a failed escalation may be tried again. */
  private readonly retryAt = new Map<string, number>();
  private stopper = new AbortController();
  private loop: Promise<void> | null = null;
  private pass: Promise<void> | null = null;

  constructor(deps: OutboxDeps) {
    this.deps = deps;
    this.ctx = deps.ctx;
    this.settings = { ...DEFAULTS, ...deps.settings };
  }

  /** Picks up recently posted escalations, then runs a pass every intervalMs until stopped. */
  start(): void {
    if (this.loop !== null) return;
    this.stopper = new AbortController();
    const signal = this.stopper.signal;
    this.loop = (async () => {
      await this.resume();
      while (!signal.aborted) {
        await this.flush();
        await abortableDelay(this.settings.intervalMs, signal);
      }
    })();
  }

  /** Stops the loop; a post in flight is abandoned (its escalation stays pending). */
  async stop(): Promise<void> {
    this.stopper.abort();
    await this.loop;
    await this.pass;
    this.loop = null;
  }

  /** One pass now, or the one already in flight. */
  flush(): Promise<void> {
    this.pass ??= this.onePass()
      .catch((thrown: unknown) => this.ctx.logger.error({ err: toError(thrown) }, 'escalation outbox pass failed'))
      .finally(() => {
        this.pass = null;
      });
    return this.pass;
  }

  private async onePass(): Promise<void> {
    const am = this.ctx.alertmanager;
    if (am === null) return;
    let pending: Escalation[] = [];
    try {
      pending = await this.deps.store.pendingEscalations(this.settings.batch);
    } catch (thrown) {
      reportFailure(this.ctx, 'store', thrown, { step: 'pendingEscalations' });
    }
    for (const esc of pending) {
      if (this.stopper.signal.aborted) return;
      if ((this.retryAt.get(esc.id) ?? 0) > this.ctx.clock.now()) continue;
      await this.postPending(am, esc);
    }
    for (const [key, entry] of [...this.live]) {
      if (this.stopper.signal.aborted) return;
      await this.repost(am, key, entry);
    }
  }

  private async alertFor(esc: Escalation, endsAt: string): Promise<PostableAlert> {
    const run = esc.runId === null ? null : await this.deps.store.getRun(esc.runId).catch(() => null);
    const alertname = esc.alert.labels.alertname ?? 'the alert';
    const summary =
      run === null
        ? `remediator did not act on ${alertname} with runbook ${esc.runbook} (${esc.reason}); a person must look at it`
        : `remediator run ${run.id} of runbook ${esc.runbook} on ${run.target} ended ${run.state} (${esc.reason}); ${alertname} needs a person`;
    return remediationAlert(
      {
        alertname: 'RemediationFailed',
        labels: esc.alert.labels,
        runbook: esc.runbook,
        faultClass: run?.faultClass ?? this.deps.faultClassOf(esc.runbook),
        target: esc.target ?? run?.target ?? null,
        reason: esc.reason,
        runId: esc.runId,
        summary,
      },
      this.ctx.publicURL,
      endsAt,
    );
  }

  private post(am: AlertmanagerClient, alert: PostableAlert): Promise<void> {
    return withRetries((signal) => am.postAlerts([alert], { signal }), this.ctx.retry, this.stopper.signal);
  }

  private async recordInRun(esc: Escalation, change: (prev: PostedAlertRecord | null) => PostedAlertRecord): Promise<void> {
    if (esc.runId === null) return;
    await this.deps.reports.update(esc.runId, 'store', async (state) =>
      state.escalation.configured ? { escalation: { ...state.escalation, remediationFailed: change(state.escalation.remediationFailed) } } : {},
    );
  }

  private async postPending(am: AlertmanagerClient, esc: Escalation): Promise<void> {
    const now = this.ctx.clock.now();
    const alert = await this.alertFor(esc, iso(now + this.settings.alertTtlMs));
    let error: string | null = null;
    try {
      await this.post(am, alert);
    } catch (thrown) {
      error = reportFailure(this.ctx, 'escalation', thrown, { escalationId: esc.id, runId: esc.runId, runbook: esc.runbook });
    }
    await this.deps.store.markEscalation(esc.id, { posted: error === null, error }).catch((thrown: unknown) => {
      reportFailure(this.ctx, 'store', thrown, { escalationId: esc.id });
    });
    if (error === null) {
      this.retryAt.delete(esc.id);
      this.live.set(labelKey(alert.labels), { escalation: esc, alert, firstPostedAt: now, lastPostedAt: now });
    } else {
      this.retryAt.set(esc.id, now + Math.min(this.settings.intervalMs * 2 ** Math.min(esc.attempts, 6), 5 * 60_000));
    }
    const postedAt = error === null ? iso(now) : null;
    await this.recordInRun(esc, () => ({ ...recordOf(esc, alert, postedAt), error }));
  }

  /** true while the original fires (a person's silence hides it, it does not end it), false once it ended, null when unknown. */
  private async stillFiring(entry: LiveAlert): Promise<boolean | null> {
    if (this.deps.alertState === null) return null;
    try {
      const signal = AbortSignal.any([this.stopper.signal, AbortSignal.timeout(this.ctx.retry.budgetMs)]);
      const { state } = await this.deps.alertState(entry.escalation.alert, { signal });
      return state === 'unknown' ? null : state !== 'ended';
    } catch (thrown) {
      this.ctx.logger.warn({ err: toError(thrown), escalationId: entry.escalation.id }, 'could not tell whether the escalated alert still fires');
      return null;
    }
  }

  /** Posts a live alert again while its original fires; resolves it once the original is gone. */
  private async repost(am: AlertmanagerClient, key: string, entry: LiveAlert): Promise<void> {
    const now = this.ctx.clock.now();
    if (now - entry.lastPostedAt < this.settings.repostEveryMs) return;
    const firing = await this.stillFiring(entry);
    if (firing === null && now - entry.firstPostedAt > this.settings.maxAgeMs) {
      this.live.delete(key); // left to end at its last endsAt
      return;
    }
    const endsAt = iso(firing === false ? now : now + this.settings.alertTtlMs);
    try {
      await this.post(am, { ...entry.alert, endsAt });
    } catch (thrown) {
      reportFailure(this.ctx, 'escalation', thrown, { escalationId: entry.escalation.id, step: firing === false ? 'resolve' : 'repost' });
      return;
    }
    entry.lastPostedAt = now;
    if (firing !== false) return;
    this.live.delete(key);
    const first = iso(entry.firstPostedAt);
    await this.recordInRun(entry.escalation, (prev) => ({ ...(prev ?? recordOf(entry.escalation, entry.alert, first)), resolvedAt: endsAt, error: null }));
  }

  /** At start: escalations posted lately are kept alive again (all replicas may do so; Alertmanager merges the posts). */
  private async resume(): Promise<void> {
    if (this.ctx.alertmanager === null) return;
    const now = this.ctx.clock.now();
    const window = this.deps.alertState === null ? this.settings.maxAgeMs : this.settings.resumeWindowMs;
    try {
      const page = await this.deps.store.listEscalations({}, { limit: 200, cursor: null });
      for (const esc of page.items) {
        const postedAt = msOf(esc.postedAt);
        if (postedAt === null || now - postedAt > window) continue;
        const alert = await this.alertFor(esc, iso(now + this.settings.alertTtlMs));
        const key = labelKey(alert.labels);
        if (!this.live.has(key)) this.live.set(key, { escalation: esc, alert, firstPostedAt: postedAt, lastPostedAt: postedAt });
      }
    } catch (thrown) {
      reportFailure(this.ctx, 'store', thrown, { step: 'resume escalations' });
    }
  }
}

function recordOf(esc: Escalation, alert: PostableAlert, postedAt: string | null): PostedAlertRecord {
  return { alertname: 'RemediationFailed', reason: esc.reason, labels: alert.labels, annotations: alert.annotations ?? null, postedAt, resolvedAt: null, error: null };
}

function labelKey(labels: Readonly<Record<string, string>>): string {
  return JSON.stringify(Object.keys(labels).sort().map((k) => [k, labels[k]]));
}
