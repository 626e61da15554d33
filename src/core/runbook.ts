/** A runbook after loading: validated, compiled and frozen. Built by match/, read by guard/ and execute/. */

import type { LabelSet } from './alert.js';

export type MatcherOp = '=' | '!=' | '=~' | '!~';

/** One Alertmanager matcher, its regex (if any) fully anchored. */
export interface Matcher {
  readonly name: string;
  readonly op: MatcherOp;
  readonly value: string;
  /** Tests the matcher against an alert's labels (a missing label is the empty string, as in Alertmanager). */
  matches(labels: LabelSet): boolean;
}

/** A compiled RE2 regex matched against the whole value: linear in the input, so no value can stall matching. */
export interface Pattern {
  /** The regex as its author wrote it (before anchoring). */
  readonly source: string;
  test(value: string): boolean;
}

/** Where a param's value comes from and how it is checked. */
export interface ParamSpec {
  readonly name: string;
  readonly source: 'labels' | 'annotations';
  readonly key: string;
  readonly pattern: Pattern;
  readonly transform: 'host' | 'port' | null;
  readonly optional: boolean;
  readonly allowLeadingDash: boolean;
}

/**
 * How a reference's value is escaped where it sits: inside a double-quoted PromQL string, a JSON
 * string, a form-encoded body, a URL's path, query or fragment (percent-encoded), or a URL's host
 * (checked, never encoded). Absent: the value as it is (argv elements, headers, plain text).
 */
export type RefEscape = 'promql' | 'json' | 'form' | 'url' | 'host';

/** A reference inside `{{ ... }}`. */
export type TemplateRef = (
  | { readonly kind: 'param'; readonly name: string }
  | { readonly kind: 'label'; readonly name: string }
  | { readonly kind: 'target' }
  | { readonly kind: 'pool' }
  | { readonly kind: 'run.id' }
  | { readonly kind: 'run.url' }
) & { readonly escape?: RefEscape };

/** A template compiled into literal text and references. */
export interface Template {
  readonly source: string;
  readonly parts: ReadonlyArray<string | TemplateRef>;
}

export interface UntilDef {
  readonly everyMs: number;
  readonly withinMs: number;
}

/** The kinds of step (exactly one per step). */
export type StepKind = 'run' | 'script' | 'wait' | 'http' | 'promql' | 'capture';

/** A header value: literal/templated text, or a secret read from a file when the step runs (never stored). */
export type HeaderValue<T> = T | { readonly file: string; readonly prefix?: string };

/** SSH settings merged runbook -> tier -> step; the config's `ssh` section fills what is unset when the step runs. */
export interface SshSettings<H> {
  /** Defaults to the run's target. */
  readonly host: H;
  readonly port?: number;
  readonly user?: string;
}

/** An HTTP request of an `http` step. */
export interface HttpDef<T> {
  readonly method: string;
  readonly url: T;
  readonly headers: Readonly<Record<string, HeaderValue<T>>>;
  readonly body: T | null;
  /** Statuses that count as success; default any 2xx. */
  readonly expectStatus: readonly number[] | null;
}

/** What every step has, compiled or rendered. */
export interface StepCommon {
  readonly name: string;
  readonly kind: StepKind;
  /** script: bash text, never templated. */
  readonly script?: string;
  /** wait: how long. */
  readonly waitMs?: number;
  readonly timeoutMs: number;
  readonly until: UntilDef | null;
  readonly continueOnError: boolean;
  readonly idempotent: boolean;
  /** capture: what to capture. */
  readonly capture?: 'gpu';
}

/** A compiled step: `run` is kept as the literal program and one template per argument. */
export interface StepDef extends StepCommon {
  readonly program?: string;
  readonly args?: readonly Template[];
  /** run, script, capture: over SSH when set (from the step, its tier or the runbook), else locally. */
  readonly ssh?: SshSettings<Template | null> | null;
  readonly http?: HttpDef<Template>;
  readonly promql?: Template;
}

/** A tier's steps, compiled (StepDef) or rendered (PlannedStep). */
export interface TierOf<S> {
  readonly name: string;
  readonly steps: readonly S[];
  readonly onFailure: readonly S[];
}

/** How a tier proves it worked (SPEC §4): a PromQL query that must return something, or the alert's ALERTS series gone. */
export type VerifyDef<T> = (
  | { readonly kind: 'promql'; readonly query: T }
  | { readonly kind: 'alertResolved' }
) & {
  readonly everyMs: number;
  readonly withinMs: number;
  /** How long the success must hold (default 2 × every). */
  readonly stableForMs: number;
};

/** A compiled tier. */
export interface TierDef extends TierOf<StepDef> {
  readonly verify: VerifyDef<Template> | null;
  /** Set when the tier has `approval: required`: how long to wait for it (default 30m). */
  readonly approvalTimeoutMs: number | null;
}

export interface Safety {
  readonly cooldownMs: number;
  readonly maxAttempts: { readonly count: number; readonly perMs: number };
  readonly maxPendingAgeMs: number;
  /** Active runs, of any runbook, in the same pool (applies only when the runbook has a pool). */
  readonly maxConcurrentPerPool: number;
  /** More distinct targets than maxTargets within perMs opens the runbook's breaker. */
  readonly fleetBreaker: { readonly maxTargets: number; readonly perMs: number };
  /** Act only if the alert still fires this long after it was first received. */
  readonly waitForMs: number;
  /** PromQL (with {{ labels.X }}) that must return a non-empty result when the run is claimed. */
  readonly precheck: Template | null;
  /** Silence the alert in Alertmanager while its run is active (SPEC §7). */
  readonly silence: boolean;
}

export type RunMode = 'enforce' | 'shadow';

export interface Runbook {
  readonly name: string;
  readonly faultClass: string;
  readonly description: string;
  /** Path of the file it was loaded from. */
  readonly file: string;
  /** sha256 of the file's bytes: what a run records as runbookHash. */
  readonly hash: string;
  readonly matchers: readonly Matcher[];
  readonly params: readonly ParamSpec[];
  readonly target: Template;
  readonly pool: Template | null;
  readonly cancelOnResolve: boolean;
  readonly mode: RunMode;
  readonly safety: Safety;
  readonly tiers: readonly TierDef[];
}

/** A step with every template rendered: what a run stores and the executor runs. JSON-serialisable. */
export interface PlannedStep extends StepCommon {
  /** run: [program, ...arguments], each element exactly one argument. */
  readonly argv?: readonly string[];
  /** run, script, capture: the host (rendered) and overrides; absent or null = local. */
  readonly ssh?: SshSettings<string> | null;
  readonly http?: HttpDef<string>;
  /** promql: the rendered query, which must return a non-empty result. */
  readonly promql?: string;
}

/** A rendered tier; verify and approval are absent in plans made before they existed. */
export interface PlannedTier extends TierOf<PlannedStep> {
  readonly verify?: VerifyDef<string> | null;
  readonly approvalTimeoutMs?: number | null;
}

/** The rendered runbook a run carries, so a reload never changes what an active run does. */
export interface Plan {
  readonly tiers: readonly PlannedTier[];
  /** PARAM_*, ALERT_NAME, ALERT_FINGERPRINT, RUN_ID, RUN_URL: the only alert data a step sees. */
  readonly env: Readonly<Record<string, string>>;
  readonly cancelOnResolve: boolean;
  /** The rendered precheck query, checked when the run is claimed; null for none. */
  readonly precheck?: string | null;
}
