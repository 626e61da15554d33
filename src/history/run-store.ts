/**
 * The RunStore port: the one seam between remediator and its database. SQLite (one process) and PostgreSQL (several
 * replicas) implement it; both must pass test/store-contract. All coordination state (episodes, leases,
 * pauses, cooldowns, budgets) lives behind it, and every time it records comes from the store's clock.
 */

import type { VerificationRecord } from '../core/verification.js';
import type { Alert } from '../core/alert.js';
import type { Plan, RunMode } from '../core/runbook.js';
import type {
  Decision,
  DecisionKind,
  GuardReason,
  RunDetail,
  RunReason,
  RunState,
  RunSummary,
  StepRecord,
  StepResult,
  StepState,
  TierState,
} from '../core/run.js';
import type { StepKind } from '../core/runbook.js';

/** A run to insert at receive time. */
export interface NewRun {
  readonly id: string;
  readonly runbook: string;
  readonly runbookHash: string;
  readonly faultClass: string;
  readonly target: string;
  readonly pool: string | null;
  readonly mode: RunMode;
  readonly state: 'pending' | 'shadow';
  /** `cooldown` for a deferred run, `shadow` for a shadow run, else null. */
  readonly reason: GuardReason | null;
  readonly alert: Alert;
  readonly params: Readonly<Record<string, string>>;
  readonly plan: Plan;
  /** Epoch ms before which no worker may claim it (cooldown end); the store's now for an immediate run. */
  readonly notBefore: number;
  /** A run still pending this long after creation is skipped as `stale` at claim. */
  readonly maxPendingAgeMs: number;
  /** The runbook's safety.maxConcurrentPerPool, enforced at claim when pool is set. */
  readonly maxConcurrentPerPool: number;
}

export interface NewDecision {
  readonly alert: Alert;
  readonly runbook: string | null;
  readonly decision: DecisionKind;
  readonly reason: GuardReason | null;
  readonly runId: string | null;
}

/** The run that holds an episode key, and the decision that created it. */
export interface EpisodeHolder {
  readonly runId: string;
  readonly decisionId: string;
  readonly state: RunState;
  readonly endedAt: number | null;
  /** The run's stored plan's cancelOnResolve: what the runbook said when the run was made, whatever was reloaded since. */
  readonly cancelOnResolve: boolean;
}

/** What the store knows of one alert episode (fingerprint, startsAt) apart from its runs. */
export interface EpisodeFacts {
  /** When a resolved notification for the episode arrived (store clock, epoch ms), or null. */
  readonly resolvedAt: number | null;
  /** When Prometheus was last seen to carry the alert's ALERTS series, or null if never. */
  readonly prometheusSeenAt: number | null;
}

/** What a worker needs to decide whether it may claim a run. */
export interface ClaimCandidate {
  readonly runId: string;
  readonly runbook: string;
  readonly target: string;
  readonly createdAt: number;
  readonly maxPendingAgeMs: number;
  /** true when the run was running and its lease was released by the sweep: it resumes, no guard applies. */
  readonly resumed: boolean;
  /** The reason it last waited for, so a wait is counted once. */
  readonly waitingFor: GuardReason | null;
  readonly pool: string | null;
  readonly maxConcurrentPerPool: number;
  /** true when the run did not start at once: it was deferred (notBefore after createdAt) or has waited at a claim. */
  readonly waited: boolean;
}

/** A runbook's fleet breaker: open from openedAt; closes on reset or when `per` passes without a refused new target. */
export interface BreakerState {
  readonly runbook: string;
  readonly openedAt: number;
  /** The last time an alert was refused by the open breaker (epoch ms). */
  readonly lastSeenAt: number;
}

/** Something a person must hear about (SPEC §6, §7): recorded here, posted to Alertmanager by report/. */
export interface NewEscalation {
  readonly runbook: string;
  readonly runId: string | null;
  /** A guard reason (param_invalid, attempts_exhausted, fleet_breaker, stale) or a run outcome (failed, interrupted). */
  readonly reason: string;
  readonly alert: Alert;
  readonly target: string | null;
}

export interface Escalation extends NewEscalation {
  readonly id: string;
  readonly createdAt: string;
  /** When it reached Alertmanager, or null. */
  readonly postedAt: string | null;
  readonly attempts: number;
  readonly lastError: string | null;
}

/** What reporting learned about a run, merged into its record (SPEC §8 `annotations`, `silenceId`, `escalation`). */
export interface RunReport {
  readonly annotations?: unknown;
  readonly silenceId?: string | null;
  readonly escalation?: unknown;
}

/** Reads and writes inside one store transaction; every read sees the writes made before it in the same transaction. */
export interface StoreTx {
  /** The store's clock, fixed for the transaction (epoch ms). */
  now(): number;
  globalPaused(): Promise<boolean>;
  runbookPaused(name: string): Promise<boolean>;
  findEpisode(runbook: string, fingerprint: string, startsAt: string): Promise<EpisodeHolder | null>;
  /** true when a resolved notification for the episode arrived: a later firing delivery of it is `resolved` (a lagging HA peer). */
  episodeResolved(fingerprint: string, startsAt: string): Promise<boolean>;
  /** Remembers that the episode resolved (the first time wins). */
  recordResolved(fingerprint: string, startsAt: string): Promise<void>;
  /** Adds one delivery to a decision and returns it as it now stands. */
  addDelivery(decisionId: string): Promise<Decision>;
  /** The id of an active run (pending, running, awaiting_approval) of this runbook on this target, if any. */
  activeRunOf(runbook: string, target: string): Promise<string | null>;
  /** Runs of (runbook, target) that executed at least one step and started at or after sinceMs (and after the runbook's last reset). */
  attemptsSince(runbook: string, target: string, sinceMs: number): Promise<number>;
  /** When the last run of (runbook, target) that executed a step ended, and how many failed in a row up to it. */
  lastOutcome(runbook: string, target: string): Promise<{ endedAt: number; consecutiveFailures: number } | null>;
  insertRun(run: NewRun): Promise<void>;
  /**
   * Records a decision. A `skip` repeated for one (episode, runbook, reason) folds into the row written first, its
   * delivery count growing: the returned decision has deliveries 1 exactly when this call created it.
   */
  insertDecision(decision: NewDecision): Promise<Decision>;
  /** pending -> canceled with the reason; false when the run is not pending. */
  cancelPending(runId: string, reason: RunReason): Promise<boolean>;
  /** awaiting_approval -> canceled with the reason (no worker holds such a run); false when the run is not awaiting. */
  cancelAwaiting(runId: string, reason: RunReason): Promise<boolean>;
  /** Marks a running run to stop at once (its worker sees it on its next lease check); false when not running. */
  requestCancel(runId: string, reason: RunReason): Promise<boolean>;
  /** Pending runs that are due (notBefore <= now) and running runs whose lease was released, oldest first. */
  claimCandidates(limit: number): Promise<ClaimCandidate[]>;
  /** true when another run is running or awaiting approval on the target. */
  targetHeld(target: string, exceptRunId: string): Promise<boolean>;
  /** Records what a pending run waits for. */
  setWaiting(runId: string, reason: GuardReason): Promise<void>;
  /** pending -> skipped with the guard reason. */
  skipRun(runId: string, reason: GuardReason): Promise<void>;
  /** Takes the run for this owner: state running, lease until now + leaseMs, fence + 1. Returns the new fence. */
  claim(runId: string, owner: string, leaseMs: number): Promise<number>;
  /** Runs running or awaiting approval whose pool is `pool`. */
  poolActive(pool: string): Promise<number>;
  /** Runs claimed (started) at or after sinceMs, across all runbooks and replicas. */
  startsSince(sinceMs: number): Promise<number>;
  /** Distinct targets of the runbook's runs (shadow runs excluded) created at or after sinceMs and after its last reset. */
  targetsSince(runbook: string, sinceMs: number): Promise<string[]>;
  /** How many distinct targets targetsSince would list, and whether `target` is one of them (what the fleet breaker asks). */
  fleetTargets(runbook: string, sinceMs: number, target: string): Promise<{ readonly count: number; readonly includes: boolean }>;
  breaker(runbook: string): Promise<BreakerState | null>;
  /** Opens the breaker (openedAt = lastSeenAt = now); a no-op when it is open. */
  openBreaker(runbook: string): Promise<void>;
  /** lastSeenAt = now on an open breaker. */
  touchBreaker(runbook: string): Promise<void>;
  closeBreaker(runbook: string): Promise<void>;
  recordEscalation(escalation: NewEscalation): Promise<void>;
  /** true when an escalation with this reason was recorded for the run (so `still_firing` escalates once). */
  escalated(runId: string, reason: string): Promise<boolean>;
}

/** One episode key a delivery touches: runbook null for an alert no runbook matched (its refusal rows fold by it too). */
export interface EpisodeKey {
  readonly runbook: string | null;
  readonly fingerprint: string;
  /** In its canonical spelling (core/instant.ts). */
  readonly startsAt: string;
}

/** What a delivery reads at once, before deciding any of its pairs (SPEC §6, set-based). */
export interface DeliveryKeys {
  readonly episodes: readonly EpisodeKey[];
  /** (runbook, target) pairs that may get a run, with the start of their attempt budget's window. */
  readonly pairs: readonly { readonly runbook: string; readonly target: string; readonly attemptsSinceMs: number }[];
  /** Runbooks that may get a run, with the start of their fleet breaker's window. */
  readonly runbooks: readonly { readonly runbook: string; readonly targetsSinceMs: number }[];
}

/** The run holding an episode, with the decision row that created it and whether `still_firing` was escalated for it. */
export interface HeldEpisode extends EpisodeHolder {
  readonly decision: Decision;
  readonly stillFiringEscalated: boolean;
}

/** What the store holds for the keys of one delivery, read in a bounded number of statements. */
export interface DeliverySnapshot {
  readonly globalPaused: boolean;
  readonly pausedRunbooks: ReadonlySet<string>;
  /** By episodeKeyString. */
  readonly holders: ReadonlyMap<string, HeldEpisode>;
  /** Episodes (fingerprint, startsAt) a resolved notification arrived for, by resolvedKeyString. */
  readonly resolved: ReadonlySet<string>;
  /** The folded refusal rows of the delivery's episodes, by foldKeyString. */
  readonly folds: ReadonlyMap<string, Decision>;
  /** By pairKeyString. */
  readonly pairs: ReadonlyMap<string, { readonly activeRunId: string | null; readonly attempts: number; readonly lastOutcome: { endedAt: number; consecutiveFailures: number } | null }>;
  /** Open breakers among the delivery's runbooks. */
  readonly breakers: ReadonlyMap<string, BreakerState>;
  /** Distinct targets (shadow runs excluded, after the last reset) of each runbook within its breaker window: counted, not listed. */
  readonly targets: ReadonlyMap<string, FleetTargets>;
}

/** A runbook's distinct targets within its breaker window: how many, and which of the delivery's own targets are among them. */
export interface FleetTargets {
  readonly count: number;
  readonly among: ReadonlySet<string>;
}

/** What a delivery decided, written at once at its end. */
export interface DeliveryWrites {
  /** Episodes that resolved now (the first time wins). */
  readonly resolved: readonly { readonly fingerprint: string; readonly startsAt: string }[];
  readonly runs: readonly NewRun[];
  /** New decision rows, complete (ids, receivedAt = now, canonical startsAt, deliveries 1). */
  readonly decisions: readonly Decision[];
  /** Deliveries to add to existing decision rows, by id. */
  readonly deliveries: ReadonlyMap<string, number>;
  readonly escalations: readonly NewEscalation[];
  /** Each touched breaker as it must end up: open since openedAt and last seen at lastSeenAt, or closed (null). */
  readonly breakers: ReadonlyMap<string, { readonly openedAt: number; readonly lastSeenAt: number } | null>;
}

/** A held episode as readHeld sees it, with whether a resolved notification arrived for it. */
export interface HeldRead extends HeldEpisode {
  readonly resolved: boolean;
}

/** The set-based side of a store transaction: everything one delivery reads, and then writes, at once. */
export interface DeliveryIO {
  /**
   * The runs holding these episodes (runbook non-null), by episodeKeyString, read in one statement and without the locks
   * readDelivery takes: an episode once held stays held (a run never gives its episode back) and once resolved stays
   * resolved, so a held, unresolved episode read here is a duplicate whatever commits meanwhile — the delivery is ordered
   * before a resolve that commits after this read.
   */
  readHeld(episodes: readonly EpisodeKey[]): Promise<ReadonlyMap<string, HeldRead>>;
  readDelivery(keys: DeliveryKeys): Promise<DeliverySnapshot>;
  /** Writes at once; resolves to the delivery count of each row in `writes.deliveries` after the write, by id. */
  writeDelivery(writes: DeliveryWrites): Promise<ReadonlyMap<string, number>>;
}

/** Map keys of the snapshot; \u0000 cannot occur in label values that reach here, nor in runbook names. */
export function episodeKeyString(runbook: string | null, fingerprint: string, startsAt: string): string {
  return `${runbook ?? ''}\u0000${fingerprint}\u0000${startsAt}`;
}

export function resolvedKeyString(fingerprint: string, startsAt: string): string {
  return `${fingerprint}\u0000${startsAt}`;
}

export function foldKeyString(fingerprint: string, startsAt: string, runbook: string | null, reason: string | null): string {
  return `${fingerprint}\u0000${startsAt}\u0000${runbook ?? ''}\u0000${reason ?? ''}`;
}

export function pairKeyString(runbook: string, target: string): string {
  return `${runbook}\u0000${target}`;
}

/** What a lease renewal tells the worker. */
export interface LeaseCheck {
  /** false when the lease was lost (fence moved on, or the run was ended elsewhere): stop at once. */
  readonly held: boolean;
  /** Set when someone asked the run to stop (cancel, resolved). */
  readonly cancelRequested: RunReason | null;
  readonly globalPaused: boolean;
}

/** Identifies one step of one tier of a run. */
export interface StepKey {
  readonly tierIndex: number;
  readonly phase: 'steps' | 'onFailure';
  readonly stepIndex: number;
}

export interface StepStart extends StepKey {
  readonly name: string;
  readonly kind: StepKind;
  readonly argv: readonly string[] | null;
  readonly host: string | null;
}

/** A process group that a step started, recorded so a reclaim can kill what is left of it. */
export interface ProcessRecord {
  /** null or absent for a local process group; an SSH step's remote group names its host (the sweep kills only local ones). */
  readonly host?: string | null;
  readonly pgid: number;
  /** Start time of the group leader (clock ticks since boot, /proc/PID/stat field 22), to avoid killing a reused pid. */
  readonly startTicks: number | null;
  /** The step's own cgroup v2 folder, when local steps are contained by cgroup; the sweep kills it whole. */
  readonly cgroup?: string | null;
}

/** A run whose lease expired (or, for a single-process store, whose owner is gone), with the processes its running steps left. */
export interface ExpiredRun {
  readonly runId: string;
  readonly processes: readonly ProcessRecord[];
}

export interface RunFilter {
  readonly state?: RunState;
  readonly runbook?: string;
  readonly faultClass?: string;
  readonly target?: string;
  readonly alertname?: string;
  readonly fingerprint?: string;
  /** Epoch ms, inclusive, on createdAt. */
  readonly since?: number;
  /** Epoch ms, exclusive, on createdAt. */
  readonly until?: number;
}

export interface DecisionFilter {
  readonly runbook?: string;
  readonly fingerprint?: string;
  readonly alertname?: string;
  readonly reason?: string;
  readonly decision?: DecisionKind;
  readonly since?: number;
  readonly until?: number;
}

export interface Page {
  readonly limit: number;
  readonly cursor: string | null;
}

export interface PageOf<T> {
  readonly items: T[];
  readonly nextCursor: string | null;
}

/** What the store can do, so callers adapt without knowing which adapter they have. */
export interface StoreCapabilities {
  /** true when one process owns the whole store (SQLite): leases of other owners are dead at start. */
  readonly singleProcess: boolean;
}

/** Store-wide counts that the scrape-time gauges read: the same on every replica that shares the store. */
export interface RunCounts {
  /** Runs waiting for a person at a tier with `approval: required`. */
  readonly awaitingApproval: number;
  /** Running runs whose lease ran out on the store's clock and that no sweep has released yet. */
  readonly leaseExpired: number;
}

/** What one retention batch deleted. */
export interface PruneCounts {
  readonly runs: number;
  /** Decisions of the pruned runs and run-less decisions past retention. */
  readonly decisions: number;
  readonly escalations: number;
  /** What was remembered of episodes (resolved, seen in Prometheus) last touched before the cut-off. */
  readonly episodes: number;
}

/** Work that one replica at a time does (the escalation outbox, approval expiry, retention), named. */
export type LeaderRole = 'periodic';

export interface RunStore {
  readonly capabilities: StoreCapabilities;
  /** Applies pending migrations; fails when another process holds a single-process store. */
  open(): Promise<void>;
  close(): Promise<void>;
  /** Throws when the store cannot answer. */
  ping(): Promise<void>;
  /** The store's clock (epoch ms). */
  now(): Promise<number>;

  /** Runs fn in one transaction: all its writes commit together or none do. Serialised with other transactions. */
  transact<T>(fn: (tx: StoreTx) => Promise<T>): Promise<T>;

  // -- the worker's side, each a single fenced write that returns false when the lease is no longer held
  renewLease(runId: string, owner: string, fence: number, leaseMs: number): Promise<LeaseCheck>;
  /** What renewLease answers, read without writing (held = still this owner's, at this fence, and not expired): for frequent cancel polls. */
  checkLease(runId: string, owner: string, fence: number): Promise<LeaseCheck>;
  startTier(runId: string, fence: number, tierIndex: number): Promise<boolean>;
  finishTier(runId: string, fence: number, tierIndex: number, state: TierState, verified: boolean): Promise<boolean>;
  startStep(runId: string, fence: number, step: StepStart): Promise<boolean>;
  recordProcess(runId: string, fence: number, step: StepKey, process: ProcessRecord): Promise<boolean>;
  /** Records the outcome of a step (after all its attempts); also marks the run as having executed a step. */
  finishStep(runId: string, fence: number, step: StepKey, state: StepState, result: StepResult, attempts: number): Promise<boolean>;
  /** Ends the run: final state and reason, endedAt = now, lease dropped. */
  finishRun(runId: string, fence: number, state: RunState, reason: RunReason | null): Promise<boolean>;
  /** Marks that the run executed a step (it now counts against maxAttempts), once the first process started. */
  markExecuted(runId: string, fence: number): Promise<boolean>;

  /** Records a tier's verification as it stands (query, checks made, last result, outcome); fenced. */
  recordVerify(runId: string, fence: number, tierIndex: number, verify: VerificationRecord): Promise<boolean>;
  /**
   * The run waits for a person at tier `tierIndex`: state awaiting_approval, lease dropped (no worker holds it),
   * approvalDeadline = now + timeoutMs. It still holds its target. Fenced.
   */
  awaitApproval(runId: string, fence: number, tierIndex: number, timeoutMs: number): Promise<boolean>;

  // -- reporting (never fenced: a report may land after the run ended)
  /** Merges report facts into the run record: Grafana annotation ids, the silence id, what escalation was posted. */
  setRunReport(runId: string, report: RunReport): Promise<void>;
  /** Escalations not yet posted (postedAt null), oldest first. */
  pendingEscalations(limit: number): Promise<Escalation[]>;
  /** Records an attempt to post an escalation: posted (postedAt = now) or the error, with the attempt count. */
  markEscalation(id: string, outcome: { readonly posted: boolean; readonly error: string | null }): Promise<void>;

  // -- the sweep
  /** Running runs whose lease expired; with includeOtherOwners, also every running run not owned by `owner` (single-process start-up). */
  expiredRuns(owner: string, includeOtherOwners: boolean): Promise<ExpiredRun[]>;
  /** Drops the lease of a running run so a worker claims and resumes it. */
  releaseLease(runId: string): Promise<void>;

  // -- the API's side
  getRun(id: string): Promise<RunDetail | null>;
  listRuns(filter: RunFilter, page: Page): Promise<PageOf<RunSummary>>;
  listDecisions(filter: DecisionFilter, page: Page): Promise<PageOf<Decision>>;
  /** Cancels: pending or awaiting_approval -> canceled at once; running -> cancel requested. Returns the state after, or null if no such run. */
  cancelRun(id: string, reason: RunReason): Promise<RunState | null>;
  /**
   * A person approves a run awaiting approval: approvedBy/approvedAt recorded, state running with no lease owner, so a
   * worker claims and resumes it (as `resumed`). Returns the state after, or null if no such run; unchanged when it was not awaiting.
   */
  approveRun(id: string, who: string): Promise<RunState | null>;
  /** Runs awaiting approval past their deadline, each ended failed with reason approval_timeout; returns them. */
  expireApprovals(): Promise<RunDetail[]>;
  setGlobalPause(paused: boolean): Promise<void>;
  globalPaused(): Promise<boolean>;
  setRunbookPause(name: string, paused: boolean): Promise<void>;
  pausedRunbooks(): Promise<Set<string>>;
  /** POST /runbooks/{name}/reset: closes the breaker and clears the attempt budgets (attemptsSince counts only runs started after it). */
  resetRunbook(name: string): Promise<void>;
  /** Open breakers by runbook. */
  openBreakers(): Promise<Map<string, BreakerState>>;
  /** Records an escalation outside a delivery (a run that failed or was interrupted). */
  recordEscalation(escalation: NewEscalation): Promise<void>;
  /** What is known of an alert episode apart from its runs (resolved, seen in Prometheus). */
  episodeFacts(fingerprint: string, startsAt: string): Promise<EpisodeFacts>;
  /** Remembers that Prometheus carries the episode's alert now, so that its absence there later means it ended. */
  recordPrometheusSighting(fingerprint: string, startsAt: string): Promise<void>;
  /** Counts across the whole store for the gauges of /metrics, in one read. */
  runCounts(): Promise<RunCounts>;
  /** Escalations, newest first. */
  listEscalations(filter: { readonly runbook?: string; readonly runId?: string }, page: Page): Promise<PageOf<Escalation>>;

  /**
   * Retention: deletes at most `batch` runs created before beforeMs that have ended (with their tiers, steps, decisions and
   * escalations), and as many run-less decisions, posted run-less escalations and remembered episodes older than it.
   */
  pruneEnded(beforeMs: number, batch: number): Promise<PruneCounts>;

  // -- coordination between replicas
  /**
   * Takes or renews the role for `owner` until now + termMs on the store's clock: true while owner holds it. Another
   * owner takes it only once the holder's term has run out (or it was released); each new holder starts a new term.
   */
  holdLeadership(role: LeaderRole, owner: string, termMs: number): Promise<boolean>;
  /** Gives the role up at once when owner holds it (a clean stop), so that another replica need not wait out the term. */
  releaseLeadership(role: LeaderRole, owner: string): Promise<void>;
  /**
   * Calls listener when another replica made work claimable (a run created, approved, released): a wake-up hint only,
   * never the sole way work is found (workers poll too). Returns the unsubscribe. A single-process store never calls it.
   */
  onWake(listener: () => void): () => void;
}

/** Steps of a run as the store recorded them, for resuming. */
export type RecordedStep = StepRecord;
