/**
 * One delivery's guard work, set-based: everything its pairs read is read at once (DeliveryIO.readDelivery), the guard
 * decides against that snapshot in memory, keeping it up to date with its own decisions, and everything decided is
 * written at once at the end (writeDelivery). The guard itself (decideFiring, decideResolved) is unchanged: this is a
 * StoreTx. The rare writes whose answer only the store knows (a cancel) flush what is queued and go straight through.
 */

import { canonicalInstant } from '../core/instant.js';
import { newId } from '../core/ids.js';
import type { Decision, RunReason } from '../core/run.js';
import {
  episodeKeyString,
  foldKeyString,
  pairKeyString,
  resolvedKeyString,
  type BreakerState,
  type ClaimCandidate,
  type DeliveryIO,
  type DeliveryKeys,
  type DeliverySnapshot,
  type EpisodeHolder,
  type HeldEpisode,
  type HeldRead,
  type NewDecision,
  type NewEscalation,
  type NewRun,
  type StoreTx,
} from '../history/run-store.js';

type PairFacts = DeliverySnapshot['pairs'] extends ReadonlyMap<string, infer F> ? F : never;

/** The spelling the store keys episodes by. */
function canonical(startsAt: string): string {
  return canonicalInstant(startsAt) ?? startsAt;
}

/** What a delivery that read nothing but its settled repeats knows. */
const EMPTY: DeliverySnapshot = { globalPaused: false, pausedRunbooks: new Set(), holders: new Map(), resolved: new Set(), folds: new Map(), pairs: new Map(), breakers: new Map(), targets: new Map() };

/** A StoreTx that answers one delivery's guard from a snapshot and writes its decisions in one go. */
export class DeliveryView implements StoreTx {
  private readonly holders: Map<string, HeldEpisode>;
  private readonly resolved: Set<string>;
  private readonly folds: Map<string, Decision>;
  private readonly pairs: Map<string, PairFacts>;
  private readonly breakers: Map<string, BreakerState | null>;
  private readonly targets: Map<string, { count: number; readonly among: Set<string> }>;
  /** The targets the snapshot's `among` speaks for, by runbook: the delivery's own. */
  private readonly askedTargets: Map<string, Set<string>>;
  /** Decisions this delivery touched, by id, as they now stand. */
  private readonly decisionsById = new Map<string, Decision>();
  private queue = DeliveryView.emptyQueue();
  /** Rows answered before their write, as the write counted them. */
  private readonly corrections = new Map<Decision, Decision>();
  /** What the snapshot speaks for: a key outside it is asked of the store (after a flush). */
  private readonly readEpisodes: Set<string>;
  private readonly readResolved: Set<string>;
  private readonly readRunbooks: Set<string>;

  private constructor(
    private readonly tx: StoreTx & DeliveryIO,
    keys: DeliveryKeys,
    private readonly snapshot: DeliverySnapshot | null,
    settled: ReadonlyMap<string, HeldRead>,
  ) {
    const read = snapshot ?? EMPTY;
    this.readEpisodes = new Set(keys.episodes.map((k) => episodeKeyString(k.runbook, k.fingerprint, k.startsAt)));
    this.readResolved = new Set(keys.episodes.map((k) => resolvedKeyString(k.fingerprint, k.startsAt)));
    this.readRunbooks = new Set(keys.runbooks.map((k) => k.runbook));
    this.holders = new Map(read.holders);
    this.resolved = new Set(read.resolved);
    // Settled episodes: read held and unresolved without a lock; what the snapshot read under its locks, if anything, wins.
    for (const [key, held] of settled) {
      if (this.holders.has(key)) continue;
      this.holders.set(key, held);
      this.readEpisodes.add(key);
      this.readResolved.add(resolvedKeyString(held.decision.fingerprint, held.decision.startsAt));
      this.decisionsById.set(held.decision.id, held.decision);
    }
    this.folds = new Map(read.folds);
    this.pairs = new Map(read.pairs);
    this.breakers = new Map(read.breakers);
    this.targets = new Map([...read.targets].map(([runbook, t]) => [runbook, { count: t.count, among: new Set(t.among) }]));
    this.askedTargets = new Map();
    for (const p of keys.pairs) this.askedTargets.set(p.runbook, (this.askedTargets.get(p.runbook) ?? new Set()).add(p.target));
    for (const held of read.holders.values()) this.decisionsById.set(held.decision.id, held.decision);
    for (const fold of read.folds.values()) this.decisionsById.set(fold.id, fold);
  }

  /**
   * Reads what the keys name and returns the view over it, with the `settled` episodes (settledPairs) as held. When the keys
   * name nothing (every alert a settled repeat), nothing more is read; a question the view then cannot answer goes to the store.
   */
  static async open(tx: StoreTx & DeliveryIO, keys: DeliveryKeys, settled: ReadonlyMap<string, HeldRead> = new Map()): Promise<DeliveryView> {
    return new DeliveryView(tx, keys, keys.episodes.length === 0 ? null : await tx.readDelivery(keys), settled);
  }

  private static emptyQueue() {
    return {
      resolved: [] as { fingerprint: string; startsAt: string }[],
      runs: [] as NewRun[],
      decisions: [] as Decision[],
      deliveries: new Map<string, number>(),
      /** The rows addDelivery answered for the queued deliveries, in order, by decision id. */
      answered: new Map<string, Decision[]>(),
      escalations: [] as NewEscalation[],
      breakers: new Map<string, { openedAt: number; lastSeenAt: number } | null>(),
    };
  }

  /** Writes everything queued so far; the view stays usable. */
  async flush(): Promise<void> {
    const q = this.queue;
    if (q.resolved.length + q.runs.length + q.decisions.length + q.deliveries.size + q.escalations.length + q.breakers.size === 0) return;
    this.queue = DeliveryView.emptyQueue();
    const counted = await this.tx.writeDelivery(q);
    // A settled repeat counted from a read without a lock: the store's count after the write says what each copy saw.
    for (const [id, rows] of q.answered) {
      const total = counted.get(id);
      if (total === undefined) continue;
      rows.forEach((row, i) => this.corrections.set(row, { ...row, deliveries: total - rows.length + 1 + i }));
      const last = rows[rows.length - 1];
      if (last !== undefined) this.decisionsById.set(id, this.corrections.get(last) ?? last);
    }
  }

  /** The rows answered, with the delivery counts the store wrote (call after the last flush). */
  settle(decisions: Decision[]): void {
    decisions.forEach((row, i) => {
      const corrected = this.corrections.get(row);
      if (corrected !== undefined) decisions[i] = corrected;
    });
  }

  now(): number {
    return this.tx.now();
  }

  async globalPaused(): Promise<boolean> {
    return this.snapshot === null ? this.through((tx) => tx.globalPaused()) : this.snapshot.globalPaused;
  }

  async runbookPaused(name: string): Promise<boolean> {
    return this.snapshot === null ? this.through((tx) => tx.runbookPaused(name)) : this.snapshot.pausedRunbooks.has(name);
  }

  async findEpisode(runbook: string, fingerprint: string, startsAt: string): Promise<EpisodeHolder | null> {
    const key = episodeKeyString(runbook, fingerprint, canonical(startsAt));
    if (!this.readEpisodes.has(key) && !this.holders.has(key)) return this.through((tx) => tx.findEpisode(runbook, fingerprint, startsAt));
    return this.holders.get(key) ?? null;
  }

  async episodeResolved(fingerprint: string, startsAt: string): Promise<boolean> {
    const key = resolvedKeyString(fingerprint, canonical(startsAt));
    if (!this.readResolved.has(key) && !this.resolved.has(key)) return this.through((tx) => tx.episodeResolved(fingerprint, startsAt));
    return this.resolved.has(key);
  }

  async recordResolved(fingerprint: string, startsAt: string): Promise<void> {
    const key = resolvedKeyString(fingerprint, canonical(startsAt));
    if (this.resolved.has(key)) return;
    this.resolved.add(key);
    this.queue.resolved.push({ fingerprint, startsAt: canonical(startsAt) });
  }

  async addDelivery(decisionId: string): Promise<Decision> {
    const known = this.decisionsById.get(decisionId);
    if (known === undefined) return this.through((tx) => tx.addDelivery(decisionId));
    const grown = { ...known, deliveries: known.deliveries + 1 };
    this.decisionsById.set(decisionId, grown);
    const queuedNew = this.queue.decisions.findIndex((d) => d.id === decisionId);
    if (queuedNew >= 0) this.queue.decisions[queuedNew] = grown;
    else {
      this.queue.deliveries.set(decisionId, (this.queue.deliveries.get(decisionId) ?? 0) + 1);
      this.queue.answered.set(decisionId, [...(this.queue.answered.get(decisionId) ?? []), grown]);
    }
    return grown;
  }

  async activeRunOf(runbook: string, target: string): Promise<string | null> {
    const facts = this.pairs.get(pairKeyString(runbook, target));
    return facts === undefined ? this.through((tx) => tx.activeRunOf(runbook, target)) : facts.activeRunId;
  }

  async attemptsSince(runbook: string, target: string, sinceMs: number): Promise<number> {
    const facts = this.pairs.get(pairKeyString(runbook, target));
    return facts === undefined ? this.through((tx) => tx.attemptsSince(runbook, target, sinceMs)) : facts.attempts;
  }

  async lastOutcome(runbook: string, target: string): Promise<{ endedAt: number; consecutiveFailures: number } | null> {
    const facts = this.pairs.get(pairKeyString(runbook, target));
    return facts === undefined ? this.through((tx) => tx.lastOutcome(runbook, target)) : facts.lastOutcome;
  }

  async insertRun(run: NewRun): Promise<void> {
    this.queue.runs.push(run);
    const startsAt = canonical(run.alert.startsAt);
    const pair = pairKeyString(run.runbook, run.target);
    const facts = this.pairs.get(pair);
    if (facts !== undefined && run.state === 'pending' && facts.activeRunId === null) this.pairs.set(pair, { ...facts, activeRunId: run.id });
    const fleet = this.targets.get(run.runbook);
    if (run.state !== 'shadow' && fleet !== undefined && !fleet.among.has(run.target)) {
      fleet.among.add(run.target);
      fleet.count++;
    }
    // Held from now on; the decision that creates it follows at once (recordDecision), and completes the holder.
    const placeholder: Decision = this.newDecision({ alert: run.alert, runbook: run.runbook, decision: 'run', reason: run.reason, runId: run.id });
    this.holders.set(episodeKeyString(run.runbook, run.alert.fingerprint, startsAt), {
      runId: run.id,
      decisionId: placeholder.id,
      state: run.state,
      endedAt: run.state === 'shadow' ? this.now() : null,
      cancelOnResolve: run.plan.cancelOnResolve,
      decision: placeholder,
      stillFiringEscalated: false,
    });
  }

  async insertDecision(decision: NewDecision): Promise<Decision> {
    const { alert } = decision;
    const startsAt = canonical(alert.startsAt);
    // A refusal of an episode the snapshot did not read: only the store knows whether it folds.
    if (!this.readResolved.has(resolvedKeyString(alert.fingerprint, startsAt))) return this.through((tx) => tx.insertDecision(decision));
    if (decision.decision === 'skip') {
      const key = foldKeyString(alert.fingerprint, startsAt, decision.runbook, decision.reason);
      const folded = this.folds.get(key);
      if (folded !== undefined) {
        const grown = await this.addDelivery(folded.id);
        this.folds.set(key, grown);
        return grown;
      }
      const row = this.newDecision(decision);
      this.folds.set(key, row);
      return this.queueDecision(row);
    }
    const holder = decision.runbook === null ? undefined : this.holders.get(episodeKeyString(decision.runbook, alert.fingerprint, startsAt));
    // The run decision of a run this delivery made: the holder already named its id.
    const row = holder !== undefined && holder.runId === decision.runId && !this.decisionsById.has(holder.decisionId) ? holder.decision : this.newDecision(decision);
    return this.queueDecision(row);
  }

  private newDecision(decision: NewDecision): Decision {
    const now = this.now();
    return {
      id: newId(now),
      receivedAt: new Date(now).toISOString(),
      fingerprint: decision.alert.fingerprint,
      startsAt: canonical(decision.alert.startsAt),
      alertname: decision.alert.labels['alertname'] ?? '',
      status: decision.alert.status,
      runbook: decision.runbook,
      decision: decision.decision,
      reason: decision.reason,
      runId: decision.runId,
      deliveries: 1,
    };
  }

  private queueDecision(row: Decision): Decision {
    this.decisionsById.set(row.id, row);
    this.queue.decisions.push(row);
    return row;
  }

  async cancelPending(runId: string, reason: RunReason): Promise<boolean> {
    return this.ended(runId, await this.through((tx) => tx.cancelPending(runId, reason)));
  }

  async cancelAwaiting(runId: string, reason: RunReason): Promise<boolean> {
    return this.ended(runId, await this.through((tx) => tx.cancelAwaiting(runId, reason)));
  }

  async requestCancel(runId: string, reason: RunReason): Promise<boolean> {
    return this.through((tx) => tx.requestCancel(runId, reason));
  }

  /** A run this delivery canceled holds its episode ended, and its target no more. */
  private ended(runId: string, changed: boolean): boolean {
    if (!changed) return false;
    for (const [key, held] of this.holders) if (held.runId === runId) this.holders.set(key, { ...held, state: 'canceled', endedAt: this.now() });
    for (const [key, facts] of this.pairs) if (facts.activeRunId === runId) this.pairs.set(key, { ...facts, activeRunId: null });
    return true;
  }

  /** Flushes what is queued, so that the store sees this delivery's decisions so far, then asks it. */
  private async through<T>(ask: (tx: StoreTx) => Promise<T>): Promise<T> {
    await this.flush();
    return ask(this.tx);
  }

  claimCandidates(limit: number): Promise<ClaimCandidate[]> {
    return this.through((tx) => tx.claimCandidates(limit));
  }

  targetHeld(target: string, exceptRunId: string): Promise<boolean> {
    return this.through((tx) => tx.targetHeld(target, exceptRunId));
  }

  setWaiting(runId: string, reason: Parameters<StoreTx['setWaiting']>[1]): Promise<void> {
    return this.through((tx) => tx.setWaiting(runId, reason));
  }

  skipRun(runId: string, reason: Parameters<StoreTx['skipRun']>[1]): Promise<void> {
    return this.through((tx) => tx.skipRun(runId, reason));
  }

  claim(runId: string, owner: string, leaseMs: number): Promise<number> {
    return this.through((tx) => tx.claim(runId, owner, leaseMs));
  }

  poolActive(pool: string): Promise<number> {
    return this.through((tx) => tx.poolActive(pool));
  }

  startsSince(sinceMs: number): Promise<number> {
    return this.through((tx) => tx.startsSince(sinceMs));
  }

  targetsSince(runbook: string, sinceMs: number): Promise<string[]> {
    return this.through((tx) => tx.targetsSince(runbook, sinceMs));
  }

  async fleetTargets(runbook: string, sinceMs: number, target: string): Promise<{ count: number; includes: boolean }> {
    const fleet = this.targets.get(runbook);
    if (fleet === undefined || this.askedTargets.get(runbook)?.has(target) !== true) return this.through((tx) => tx.fleetTargets(runbook, sinceMs, target));
    return { count: fleet.count, includes: fleet.among.has(target) };
  }

  async breaker(runbook: string): Promise<BreakerState | null> {
    if (!this.readRunbooks.has(runbook) && !this.breakers.has(runbook)) return this.through((tx) => tx.breaker(runbook));
    return this.breakers.get(runbook) ?? null;
  }

  async openBreaker(runbook: string): Promise<void> {
    if (this.breakers.get(runbook)) return;
    this.setBreaker(runbook, { runbook, openedAt: this.now(), lastSeenAt: this.now() });
  }

  async touchBreaker(runbook: string): Promise<void> {
    const open = this.breakers.get(runbook);
    if (open) this.setBreaker(runbook, { ...open, lastSeenAt: this.now() });
  }

  async closeBreaker(runbook: string): Promise<void> {
    this.setBreaker(runbook, null);
  }

  private setBreaker(runbook: string, state: BreakerState | null): void {
    this.breakers.set(runbook, state);
    this.queue.breakers.set(runbook, state === null ? null : { openedAt: state.openedAt, lastSeenAt: state.lastSeenAt });
  }

  async recordEscalation(escalation: NewEscalation): Promise<void> {
    this.queue.escalations.push(escalation);
    if (escalation.runId === null || escalation.reason !== 'still_firing') return;
    for (const [key, held] of this.holders) if (held.runId === escalation.runId) this.holders.set(key, { ...held, stillFiringEscalated: true });
  }

  async escalated(runId: string, reason: string): Promise<boolean> {
    if (reason === 'still_firing') {
      for (const held of this.holders.values()) if (held.runId === runId) return held.stillFiringEscalated;
    }
    return this.through((tx) => tx.escalated(runId, reason));
  }
}
