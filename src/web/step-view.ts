/** One step of a run as recorded: what ran where, how it ended, its output and evidence. */

import { formatDuration } from '../core/duration.js';
import type { StepRecord } from '../core/run.js';
import type { PlannedStep } from '../core/runbook.js';
import { gpuTable, isGpuEvidence } from './gpu-table.js';
import { html, type HtmlValue, type SafeHtml } from './html.js';
import { durationBetween, facts, jsonBlock, stateBadge, when } from './page-layout.js';

/** Each argument on its own, so that where one ends and the next begins is never in doubt. */
function argvView(argv: readonly string[]): SafeHtml {
  return html`<span class="argv">${argv.map((a, i) => html`${i > 0 ? ' ' : ''}<code>${a}</code>`)}</span>`;
}

/** What the step does, from its record and its rendered plan. */
function commandView(step: StepRecord, planned: PlannedStep | undefined): HtmlValue {
  if (step.argv !== null && step.argv.length > 0) return argvView(step.argv);
  if (planned?.http) return html`<code>${planned.http.method} ${planned.http.url}</code>`;
  if (planned?.promql !== undefined) return html`<code>${planned.promql}</code>`;
  if (planned?.waitMs !== undefined) return `wait ${formatDuration(planned.waitMs)}`;
  if (planned?.capture !== undefined) return `capture ${planned.capture}`;
  if (planned?.script !== undefined) return 'script (below)';
  return null;
}

/** A captured stream, with its truncation marked where the store cut it. */
function output(name: string, text: string, truncated: boolean): HtmlValue {
  if (text === '' && !truncated) return null;
  const mark = truncated ? html`<p class="warn">${name} truncated: the rest was not kept (limits.maxOutputBytes).</p>` : '';
  return html`<h5>${name}</h5><pre class="${name}">${text}</pre>${mark}`;
}

function evidenceView(evidence: unknown): HtmlValue {
  if (evidence === null || evidence === undefined) return null;
  return html`<h5>evidence</h5>${isGpuEvidence(evidence) ? gpuTable(evidence) : jsonBlock(evidence)}`;
}

/** The whole step section; `shown` is the state as the page words it (`would run` in a shadow run, `not run` once the run ended). */
export function stepView(step: StepRecord, planned: PlannedStep | undefined, shown: string = step.state): SafeHtml {
  const ran = step.startedAt !== null;
  const details = facts([
    ['kind', step.kind],
    ['command', commandView(step, planned)],
    ['host', step.host ?? (planned?.ssh ? planned.ssh.host : 'local')],
    ['exit code', ran ? (step.exitCode === null ? null : String(step.exitCode)) : undefined],
    ['signal', step.signal ?? undefined],
    ['timed out', step.timedOut ? 'yes' : undefined],
    ['stopped by', step.stoppedBy ?? undefined],
    ['error', step.error ? html`<code>${step.error.code}</code> ${step.error.message}` : undefined],
    ['attempts', ran ? String(step.attempts) : undefined],
    ['started', ran ? when(step.startedAt) : undefined],
    ['ended', ran ? when(step.endedAt) : undefined],
    ['took', ran ? durationBetween(step.startedAt, step.endedAt) : undefined],
  ]);
  const script = planned?.script !== undefined ? html`<h5>script</h5><pre class="script">${planned.script}</pre>` : '';
  const phase = step.phase === 'onFailure' ? html` <span class="muted">onFailure</span>` : '';
  return html`<section class="step"><h4>${step.name}${phase} · ${stateBadge(shown)}</h4>${details}${script}
${output('stdout', step.stdout, step.stdoutTruncated)}${output('stderr', step.stderr, step.stderrTruncated)}${evidenceView(step.evidence)}</section>`;
}
