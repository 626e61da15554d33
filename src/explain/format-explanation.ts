/** The human-readable text of `remediator explain`. */

import { formatDuration } from '../core/duration.js';
import type { HeaderValue, VerifyDef } from '../core/runbook.js';
import type { AlertExplanation, Explanation, PairExplanation, SafetyExplanation, StepExplanation, TierExplanation } from './explanation.js';

const q = (s: string): string => JSON.stringify(s);

function labelsText(labels: Readonly<Record<string, string>>): string {
  const keys = Object.keys(labels).sort();
  return keys.length === 0 ? '(none)' : keys.map((k) => `${k}=${q(labels[k] ?? '')}`).join(', ');
}

function indent(lines: readonly string[], by: string): string[] {
  return lines.map((l) => (l === '' ? l : by + l));
}

function headerText(name: string, value: HeaderValue<string>): string {
  if (typeof value === 'string') return `${name}: ${value}`;
  return `${name}: ${value.prefix ?? ''}<contents of file ${value.file}, read only when the step runs>`;
}

function stepBody(s: StepExplanation): string[] {
  switch (s.kind) {
    case 'run':
      return [`argv: ${JSON.stringify(s.argv ?? [])}`];
    case 'script':
      return ['script (bash, never templated; alert data reaches it only as environment variables):', ...indent((s.script ?? '').replace(/\n$/, '').split('\n'), '  | ')];
    case 'http': {
      const h = s.http;
      if (!h) return [];
      const headers = Object.entries(h.headers).map(([n, v]) => `header ${headerText(n, v)}`);
      const expect = h.expectStatus === null ? 'any 2xx' : h.expectStatus.join(', ');
      return [`${h.method} ${h.url}`, ...headers, ...(h.body === null ? [] : [`body: ${h.body}`]), `expect status: ${expect}`];
    }
    case 'promql':
      return [`promql: ${s.promql ?? ''}  (must return a non-empty result)`];
    case 'wait':
      return [`wait: ${formatDuration(s.waitMs ?? 0)}`];
    case 'capture':
      return [`capture: ${s.capture ?? 'gpu'} (nvidia-smi query of GPUs and compute processes)`];
  }
}

function stepLines(s: StepExplanation, i: number): string[] {
  const flags = [
    s.kind === 'wait' ? null : `timeout ${formatDuration(s.timeoutMs)}`,
    s.until ? `until it succeeds: every ${formatDuration(s.until.everyMs)} within ${formatDuration(s.until.withinMs)}` : null,
    s.continueOnError ? 'continueOnError' : null,
    s.idempotent ? 'idempotent' : null,
  ].filter((f) => f !== null);
  return [`step ${i + 1} ${q(s.name)} (${s.kind}) on ${s.where}${flags.length > 0 ? `; ${flags.join('; ')}` : ''}`, ...indent(stepBody(s), '  ')];
}

function verifyLine(v: VerifyDef<string> | null): string {
  if (v === null) return 'verify: none (the tier succeeds when its steps succeed; recorded as verified: false)';
  const what = v.kind === 'promql' ? `promql ${v.query} (success = non-empty result)` : "alertResolved (the alert's ALERTS series seen firing, then gone)";
  return `verify: ${what}; every ${formatDuration(v.everyMs)} within ${formatDuration(v.withinMs)}, stable for ${formatDuration(v.stableForMs)}`;
}

function tierLines(t: TierExplanation, i: number): string[] {
  const approval = t.approvalTimeout === null ? [] : [`approval: required (the run waits for POST /api/v1/runs/{id}/approve; timeout ${t.approvalTimeout})`];
  const onFailure = t.onFailure.length === 0 ? [] : ['onFailure:', ...indent(t.onFailure.flatMap(stepLines), '  ')];
  return [`tier ${i + 1} ${q(t.name)}`, ...indent([...approval, ...t.steps.flatMap(stepLines), verifyLine(t.verify), ...onFailure], '  ')];
}

function safetyLines(s: SafetyExplanation): string[] {
  return [
    `cooldown ${s.cooldown} (${s.cooldownNote})`,
    `maxAttempts ${s.maxAttempts.count} per ${s.maxAttempts.per}`,
    `maxConcurrentPerPool ${s.maxConcurrentPerPool === null ? '(no pool)' : String(s.maxConcurrentPerPool)}`,
    `fleetBreaker more than ${s.fleetBreaker.maxTargets} targets per ${s.fleetBreaker.per}`,
    `maxPendingAge ${s.maxPendingAge}`,
    `waitFor ${s.waitFor}`,
    `precheck ${s.precheck ?? '(none)'}`,
    `silence ${String(s.silence)}`,
    `cancelOnResolve ${String(s.cancelOnResolve)}`,
  ];
}

function decisionLines(p: PairExplanation): string[] {
  const lines = [`decision: ${p.decision}${p.reason === null ? '' : ` ${p.reason}`} (${p.note})`];
  const { atReceive, atClaim } = p.notEvaluated;
  if (atReceive.length + atClaim.length > 0) lines.push('not evaluated offline (they read live state):');
  if (atReceive.length > 0) lines.push(`  at receive: ${atReceive.join(', ')}`);
  if (atClaim.length > 0) lines.push(`  at claim:   ${atClaim.join(', ')}`);
  return lines;
}

function pairLines(p: PairExplanation): string[] {
  const invalid = p.paramInvalid === null ? [] : [`param_invalid${p.paramInvalid.param === null ? '' : ` (param "${p.paramInvalid.param}")`}: ${p.paramInvalid.message}`];
  const rendered = p.params === null ? [] : [`params: ${labelsText(p.params)}`, `target: ${p.target ?? ''}`, `pool:   ${p.pool ?? '(none)'}`];
  const env = p.env === null ? [] : [`step environment: ${labelsText(p.env)}`];
  const plan = p.tiers === null ? [] : ['plan:', ...indent(p.tiers.flatMap(tierLines), '  ')];
  const body = [...rendered, ...invalid, ...decisionLines(p), 'safety:', ...indent(safetyLines(p.safety), '  '), ...env, ...plan];
  return [`runbook ${p.runbook} (faultClass ${p.faultClass}, mode ${p.mode}, file ${p.file})`, ...indent(body, '  ')];
}

function alertLines(a: AlertExplanation, i: number, total: number): string[] {
  const head = [
    `alert ${i + 1}/${total}: ${a.alertname} (${a.status})`,
    `  fingerprint: ${a.fingerprint}`,
    `  startsAt:    ${a.startsAt}`,
    `  labels:      ${labelsText(a.labels)}`,
  ];
  if (a.decision !== null) return [...head, '  no runbook matches: decision skip no_match'];
  return [...head, ...indent(a.runbooks.flatMap((p) => ['', ...pairLines(p)]), '  ')];
}

/** Renders an explanation as text for people; `--json` prints the same data instead. */
export function formatExplanation(e: Explanation): string {
  const head = [
    `payload ${e.payload}: ${e.alerts.length} alert(s); runbooks ${e.runbooksDir}: ${e.runbookCount} loaded`,
    `nothing was run: no command, no network, no store. ${e.placeholders.note}`,
  ];
  const body = e.alerts.flatMap((a, i) => ['', ...alertLines(a, i, e.alerts.length)]);
  return `${[...head, ...body].join('\n')}\n`;
}
