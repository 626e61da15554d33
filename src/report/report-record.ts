/**
 * What reporting writes into a run's record (SPEC §8): `annotations` holds the Grafana facts,
 * `silenceId` the live silence, `escalation` the Alertmanager facts (silence, posted alerts).
 */

/** The Grafana annotation of a run; `{ configured: false }` when no Grafana is configured. */
export type AnnotationRecord =
  | { readonly configured: false }
  | {
      readonly configured: true;
      /** The annotation's id, or null while none could be created. */
      readonly id: number | null;
      /** Epoch ms of the start, and of the end once it is a region. */
      readonly time: number | null;
      readonly timeEnd: number | null;
      /** The outcome tag's value once patched, e.g. `succeeded`. */
      readonly outcome: string | null;
      /** The last failure, null after a success. */
      readonly error: string | null;
    };

/** The run's silence, when the runbook asked for one. */
export interface SilenceRecord {
  readonly id: string | null;
  /** RFC 3339: the silence's current end, as last set. */
  readonly endsAt: string | null;
  readonly expiredAt: string | null;
  readonly error: string | null;
}

/** An alert posted about the run (RemediationFailed or RemediationAwaitingApproval). */
export interface PostedAlertRecord {
  readonly alertname: string;
  readonly reason: string;
  readonly labels: Readonly<Record<string, string>> | null;
  /** Kept so that resolving it does not erase them (Alertmanager replaces annotations whole). */
  readonly annotations: Readonly<Record<string, string>> | null;
  readonly postedAt: string | null;
  readonly resolvedAt: string | null;
  readonly error: string | null;
}

/** The Alertmanager side of a run; `{ configured: false }` when no Alertmanager is configured. */
export type AlertmanagerRecord =
  | { readonly configured: false }
  | {
      readonly configured: true;
      /** null when the runbook did not ask for a silence. */
      readonly silence: SilenceRecord | null;
      readonly awaitingApproval: PostedAlertRecord | null;
      readonly remediationFailed: PostedAlertRecord | null;
    };

/** The three report fields of a run, as reporting keeps them. */
export interface ReportState {
  readonly annotations: AnnotationRecord;
  readonly silenceId: string | null;
  readonly escalation: AlertmanagerRecord;
}

/** What a run's record says, or the unconfigured/empty defaults where it says nothing reporting wrote. */
export function readReportState(
  run: { readonly annotations: unknown; readonly silenceId: string | null; readonly escalation: unknown } | null,
  configured: { readonly grafana: boolean; readonly alertmanager: boolean },
): ReportState {
  const annotations: AnnotationRecord = !configured.grafana
    ? { configured: false }
    : isRecord(run?.annotations) && run.annotations.configured === true
      ? (run.annotations as AnnotationRecord)
      : { configured: true, id: null, time: null, timeEnd: null, outcome: null, error: null };
  const escalation: AlertmanagerRecord = !configured.alertmanager
    ? { configured: false }
    : isRecord(run?.escalation) && run.escalation.configured === true
      ? (run.escalation as AlertmanagerRecord)
      : { configured: true, silence: null, awaitingApproval: null, remediationFailed: null };
  return { annotations, silenceId: run?.silenceId ?? null, escalation };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
