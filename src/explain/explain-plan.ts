/** The rendered plan as explain shows it: each tier with its approval, steps, verification, and where each step runs. */

import { formatDuration } from '../core/duration.js';
import type { Plan, PlannedStep, Runbook, TierDef, VerifyDef } from '../core/runbook.js';
import { renderTemplate, type RenderContext } from '../match/template.js';
import type { StepExplanation, TierExplanation } from './explanation.js';

const CONFIG_USER = '<ssh.user of the config, else the service user>';
const CONFIG_PORT = '<ssh.port of the config, else 22>';

function sshWhere(ssh: NonNullable<PlannedStep['ssh']>): string {
  const host = ssh.host.includes(':') ? `[${ssh.host}]` : ssh.host;
  return `ssh ${ssh.user ?? CONFIG_USER}@${host}:${ssh.port ?? CONFIG_PORT}`;
}

/** Where a step would run, in words; SSH settings the runbook leaves unset come from the config, which explain does not read. */
export function stepWhere(step: PlannedStep): string {
  switch (step.kind) {
    case 'run':
    case 'script':
    case 'capture':
      return step.ssh ? sshWhere(step.ssh) : 'local';
    case 'http':
      return 'remediator, over HTTP (to http.allowHosts of the config only)';
    case 'promql':
      return 'remediator, against prometheus.url of the config';
    case 'wait':
      return 'remediator (waits)';
  }
}

function explainStep(step: PlannedStep): StepExplanation {
  return { ...step, where: stepWhere(step) };
}

/**
 * The tier's verification: the plan's when it carries one; otherwise rendered here from the runbook, so that explain
 * shows it even where the plan renderer does not yet carry verifications.
 */
function verifyOf(planned: Plan['tiers'][number], def: TierDef | undefined, ctx: RenderContext): VerifyDef<string> | null {
  if (planned.verify !== undefined) return planned.verify;
  const v = def?.verify ?? null;
  if (v === null) return null;
  const timing = { everyMs: v.everyMs, withinMs: v.withinMs, stableForMs: v.stableForMs };
  if (v.kind === 'alertResolved') return { kind: 'alertResolved', ...timing };
  const query = renderTemplate(v.query, ctx);
  return { kind: 'promql', query: query.ok ? query.value : v.query.source, ...timing };
}

/** Explains every tier of a rendered plan, taking approval and verification from the plan or, failing that, the runbook. */
export function explainTiers(plan: Plan, runbook: Pick<Runbook, 'tiers'>, ctx: RenderContext): TierExplanation[] {
  return plan.tiers.map((tier, i) => {
    const def = runbook.tiers[i];
    const approvalMs = tier.approvalTimeoutMs !== undefined ? tier.approvalTimeoutMs : (def?.approvalTimeoutMs ?? null);
    return {
      name: tier.name,
      approvalTimeout: approvalMs === null ? null : formatDuration(approvalMs),
      steps: tier.steps.map(explainStep),
      verify: verifyOf(tier, def, ctx),
      onFailure: tier.onFailure.map(explainStep),
    };
  });
}
