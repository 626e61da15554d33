/**
 * A run's silence (SPEC §7): matchers = the alert's labels, a short end time that heartbeats
 * extend, so a crash hides the alert for minutes at most, and expired when the run ends.
 */

import type { RunDetail } from '../core/run.js';
import type { AlertmanagerClient, SilenceMatcher, SilenceSpec } from './alertmanager-client.js';
import type { SilenceRecord } from './report-record.js';
import { iso, reportFailure, type ReportContext } from './report-context.js';
import { runUrl } from './remediation-alert.js';
import { withRetries } from './with-retries.js';

/** Exact-equality matchers for every label of the alert, in name order (Alertmanager compares them when extending). */
export function silenceMatchers(run: RunDetail): SilenceMatcher[] {
  return Object.keys(run.alert.labels)
    .sort()
    .map((name) => ({ name, value: run.alert.labels[name] ?? '', isRegex: false, isEqual: true }));
}

function silenceSpec(ctx: ReportContext, run: RunDetail, startsAt: string, endsAt: string): SilenceSpec {
  return {
    matchers: silenceMatchers(run),
    startsAt,
    endsAt,
    createdBy: 'remediator',
    comment: `remediator run ${run.id} (runbook ${run.runbook} on ${run.target}) is acting on this alert: ${runUrl(ctx.publicURL, run.id)}`,
  };
}

/**
 * Creates the silence, or extends the one recorded: GET it for the startsAt Alertmanager stored,
 * then POST it back with the same id and a later endsAt. An expired or unknown silence is
 * replaced by a new one. Returns the record to store, with the id now in force.
 */
export async function holdSilence(ctx: ReportContext, am: AlertmanagerClient, run: RunDetail, record: SilenceRecord | null, ttlMs: number): Promise<SilenceRecord> {
  const base: SilenceRecord = record ?? { id: null, endsAt: null, expiredAt: null, error: null };
  const now = ctx.clock.now();
  const endsAt = iso(now + ttlMs);
  const step = base.id === null ? 'create' : 'extend';
  try {
    const id = await withRetries(async (signal) => {
      const existing = base.id === null ? null : await am.getSilence(base.id, { signal });
      const live = existing !== null && existing.status.state !== 'expired';
      const spec = silenceSpec(ctx, run, live ? existing.startsAt : iso(now), endsAt);
      return am.createSilence(live ? { ...spec, id: existing.id } : spec, { signal });
    }, ctx.retry);
    return { id, endsAt, expiredAt: null, error: null };
  } catch (thrown) {
    return { ...base, error: reportFailure(ctx, 'silence', thrown, { runId: run.id, step }) };
  }
}

/** Expires the run's silence; one Alertmanager no longer knows counts as expired. */
export async function releaseSilence(ctx: ReportContext, am: AlertmanagerClient, runId: string, record: SilenceRecord): Promise<SilenceRecord> {
  const id = record.id;
  if (id === null) return record;
  try {
    await withRetries((signal) => am.expireSilence(id, { signal }), ctx.retry);
    return { ...record, expiredAt: iso(ctx.clock.now()), error: null };
  } catch (thrown) {
    return { ...record, error: reportFailure(ctx, 'silence', thrown, { runId, step: 'expire' }) };
  }
}
