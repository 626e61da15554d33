/** A run's one Grafana annotation: created when it starts, turned into a region with the outcome at its end (SPEC §7). */

import type { RunDetail } from '../core/run.js';
import type { AnnotationRecord } from './report-record.js';
import { msOf, reportFailure, type ReportContext } from './report-context.js';
import { runUrl } from './remediation-alert.js';
import { withRetries } from './with-retries.js';

/** The tags every annotation of the run carries. */
export function runTags(run: RunDetail): string[] {
  return ['remediator', `runbook:${run.runbook}`, `fault:${run.faultClass}`, `target:${run.target}`];
}

function annotationText(ctx: ReportContext, run: RunDetail, outcome: string): string {
  const alertname = run.alert.labels.alertname ?? 'unknown alert';
  return `remediator: runbook ${run.runbook} on ${run.target} for ${alertname}: ${outcome}. Run ${run.id}: ${runUrl(ctx.publicURL, run.id)}`;
}

/** Creates the annotation unless the run has one already (a resumed run keeps its own). */
export async function startAnnotation(ctx: ReportContext, run: RunDetail, record: AnnotationRecord): Promise<AnnotationRecord> {
  const grafana = ctx.grafana;
  if (grafana === null || !record.configured) return { configured: false };
  if (record.id !== null) return record;
  const time = msOf(run.startedAt) ?? ctx.clock.now();
  try {
    const id = await withRetries((signal) => grafana.createAnnotation({ time, tags: runTags(run), text: annotationText(ctx, run, 'running') }, { signal }), ctx.retry);
    return { ...record, id, time, error: null };
  } catch (thrown) {
    return { ...record, time, error: reportFailure(ctx, 'annotation', thrown, { runId: run.id, step: 'create' }) };
  }
}

/**
 * Turns the annotation into a region ending now with the outcome tag. When it could not be
 * created at the start, the whole region is created now, so a run still gets exactly one.
 */
export async function endAnnotation(
  ctx: ReportContext,
  run: RunDetail,
  record: AnnotationRecord,
  outcome: { readonly state: string; readonly reason: string | null },
): Promise<AnnotationRecord> {
  const grafana = ctx.grafana;
  if (grafana === null || !record.configured) return { configured: false };
  const time = record.time ?? msOf(run.startedAt);
  // A run that never started (canceled or skipped while pending) has nothing to show as a region.
  if (record.id === null && time === null) return record;
  const start = time ?? ctx.clock.now();
  const timeEnd = Math.max(msOf(run.endedAt) ?? ctx.clock.now(), start + 1);
  const tags = [...runTags(run), `outcome:${outcome.state}`];
  const text = annotationText(ctx, run, outcome.reason === null ? outcome.state : `${outcome.state} (${outcome.reason})`);
  const id = record.id;
  try {
    if (id === null) {
      const created = await withRetries((signal) => grafana.createAnnotation({ time: start, timeEnd, tags, text }, { signal }), ctx.retry);
      return { ...record, id: created, time: start, timeEnd, outcome: outcome.state, error: null };
    }
    await withRetries((signal) => grafana.patchAnnotation(id, { timeEnd, tags, text }, { signal }), ctx.retry);
    return { ...record, time: start, timeEnd, outcome: outcome.state, error: null };
  } catch (thrown) {
    return { ...record, error: reportFailure(ctx, 'annotation', thrown, { runId: run.id, step: id === null ? 'create' : 'patch' }) };
  }
}
