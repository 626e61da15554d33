/** The alerts remediator posts to Alertmanager (SPEC §7): RemediationFailed and RemediationAwaitingApproval. */

import type { LabelSet } from '../core/alert.js';
import type { PostableAlert } from './alertmanager-client.js';

/** What a posted alert is about. */
export interface RemediationAlertFacts {
  readonly alertname: 'RemediationFailed' | 'RemediationAwaitingApproval';
  /** The original alert's labels, as Alertmanager sent them. */
  readonly labels: LabelSet;
  readonly runbook: string;
  readonly faultClass: string | null;
  readonly target: string | null;
  readonly reason: string;
  readonly runId: string | null;
  readonly summary: string;
}

/** The link to a run's page. */
export function runUrl(publicURL: string, runId: string): string {
  return `${publicURL.replace(/\/+$/, '')}/runs/${encodeURIComponent(runId)}`;
}

/** The link to a runbook's page, for escalations that have no run. */
export function runbookUrl(publicURL: string, runbook: string): string {
  return `${publicURL.replace(/\/+$/, '')}/runbooks/${encodeURIComponent(runbook)}`;
}

/**
 * The labels: the original ones with alertname replaced and kept as original_alertname, plus
 * runbook, fault_class, target and reason. An unknown value is left out rather than sent empty,
 * since Alertmanager treats an empty label as an absent one.
 */
export function remediationLabels(facts: RemediationAlertFacts): Record<string, string> {
  const labels: Record<string, string> = { ...facts.labels };
  const added: Record<string, string | null> = {
    alertname: facts.alertname,
    original_alertname: facts.labels.alertname ?? null,
    runbook: facts.runbook,
    fault_class: facts.faultClass,
    target: facts.target,
    reason: facts.reason,
  };
  for (const [name, value] of Object.entries(added)) {
    if (value === null || value === '') delete labels[name];
    else labels[name] = value;
  }
  return labels;
}

/** The whole postable alert, ending at `endsAt` (RFC 3339) unless posted again. */
export function remediationAlert(facts: RemediationAlertFacts, publicURL: string, endsAt: string): PostableAlert {
  const link = facts.runId === null ? runbookUrl(publicURL, facts.runbook) : runUrl(publicURL, facts.runId);
  const annotations: Record<string, string> = { summary: facts.summary, [facts.runId === null ? 'runbook_url' : 'run_url']: link };
  return { labels: remediationLabels(facts), annotations, endsAt, generatorURL: link };
}
