/**
 * Contract: two store instances on one database, as two replicas would hold them, raced through the real decision
 * code (createDelivery at receive, claimNext at claim). Each case fires its calls at once, over many rounds, through
 * a and b in turn, then reads the store back: every guarantee SPEC §6 and §9 give across replicas must hold, whatever
 * order the racing transactions landed in.
 */

import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { labelSet, type Alert } from '../../src/core/alert.js';
import { ACTIVE_STATES, type Decision, type GuardReason, type RunState, type RunSummary } from '../../src/core/run.js';
import type { Runbook } from '../../src/core/runbook.js';
import { claimNext, type ClaimedRun, type ClaimOptions } from '../../src/guard/claim.js';
import type { DeliveryOutcome } from '../../src/guard/guard-types.js';
import type { DecisionFilter, RunFilter, RunStore } from '../../src/history/run-store.js';
import { compileRunbook } from '../../src/match/load-runbook.js';
import { createDelivery } from '../../src/pipeline.js';
import { makeAlert, sleep } from './fixtures.js';

/** Two open store instances on the same empty database, and the way to dispose of both. */
export interface StorePair {
  readonly a: RunStore;
  readonly b: RunStore;
  readonly cleanup: () => Promise<void>;
}

export type MakePair = () => Promise<StorePair>;

interface Replicas {
  readonly a: RunStore;
  readonly b: RunStore;
  /** a for even i, b for odd: how each case spreads its racing calls over the two replicas. */
  via(i: number): RunStore;
  owner(i: number): string;
}

const ROUNDS = 25;
const LEASE_MS = 60_000;
const MINUTE_MS = 60_000;
const ALL = { limit: 500, cursor: null } as const;
const HOLDING: readonly RunState[] = ['running', 'awaiting_approval'];
/** A breaker that never trips, for the cases that are not about it (each round uses fresh targets). */
const WIDE_FLEET = 'fleetBreaker: { maxTargets: 10000, per: 10m }';

type Wait = readonly [runId: string, reason: GuardReason];

function usePair(makePair: MakePair): Replicas {
  let pair: StorePair | null = null;
  beforeEach(async () => {
    pair = await makePair();
  });
  afterEach(async () => {
    await pair?.cleanup();
    pair = null;
  });
  const current = (): StorePair => {
    if (pair === null) throw new Error('the stores exist only inside a test');
    return pair;
  };
  return {
    get a() {
      return current().a;
    },
    get b() {
      return current().b;
    },
    via: (i) => (i % 2 === 0 ? current().a : current().b),
    owner: (i) => (i % 2 === 0 ? 'replica-a' : 'replica-b'),
  };
}

/** A one-step runbook on `labels.instance` (and a pool from `labels.rack`), with the given safety settings. */
function runbook(name: string, safety: string, pooled = false): Runbook {
  const text = [
    `name: ${name}`, 'faultClass: oom', 'match:', '  - alertname = "LLMServerDown"', 'params:',
    "  host: { from: labels.instance, pattern: '[a-z0-9-]+' }",
    ...(pooled ? ["  rack: { from: labels.rack, pattern: '[a-z0-9-]+' }", 'pool: "{{ params.rack }}"'] : []),
    'target: "{{ params.host }}"', `safety: { ${safety} }`,
    'tiers:', '  - name: only', '    steps:', '      - name: ok', '        run: ["true"]', '',
  ].join('\n');
  const loaded = compileRunbook(`${name}.yaml`, text);
  if (loaded.runbook === undefined) throw new Error(loaded.errors.map((e) => e.message).join('\n'));
  return loaded.runbook;
}

/** A firing alert on `target` (a fresh fingerprint unless one is given). */
function alertOn(target: string, o: { fingerprint?: string; startsAt?: string; rack?: string } = {}): Alert {
  const base = makeAlert({ ...(o.fingerprint === undefined ? {} : { fingerprint: o.fingerprint }), ...(o.startsAt === undefined ? {} : { startsAt: o.startsAt }) });
  const rack: [string, string][] = o.rack === undefined ? [] : [['rack', o.rack]];
  return { ...base, labels: labelSet([['alertname', 'LLMServerDown'], ['instance', target], ...rack]) };
}

/** The receive path of one replica, as the service composes it. */
function deliveryVia(store: RunStore, runbooks: readonly Runbook[]): (alerts: readonly Alert[]) => Promise<DeliveryOutcome> {
  return createDelivery({ match: () => runbooks, commit: (guard) => store.transact(guard), plan: { publicURL: 'http://remediator.test' }, afterCommit: () => undefined });
}

/** Each alert its own delivery, all fired at once, the i-th through a or b in turn from `offset`. */
function deliverAtOnce(r: Replicas, runbooks: readonly Runbook[], alerts: readonly Alert[], offset: number): Promise<DeliveryOutcome[]> {
  return Promise.all(alerts.map((alert, i) => deliveryVia(r.via(offset + i), runbooks)([alert])));
}

interface ClaimSetup {
  readonly waits: Wait[];
  readonly maxRunStartsPerMinute?: number;
}

function claimVia(r: Replicas, i: number, setup: ClaimSetup): Promise<ClaimedRun | null> {
  const options: ClaimOptions = {
    owner: r.owner(i), leaseMs: LEASE_MS, scan: 64, maxRunStartsPerMinute: setup.maxRunStartsPerMinute,
    onDecision: (runId, reason) => void setup.waits.push([runId, reason]),
  };
  return claimNext(r.via(i), options);
}

/** One claim that must take a run. */
async function claimOne(r: Replicas, i: number): Promise<ClaimedRun> {
  const claimed = await claimVia(r, i, { waits: [] });
  if (claimed === null) throw new Error('no run could be claimed');
  return claimed;
}

/** n claims fired at once through a and b in turn; the runs they took. */
async function claimAtOnce(r: Replicas, n: number, offset: number, setup: ClaimSetup): Promise<ClaimedRun[]> {
  const claimed = await Promise.all(Array.from({ length: n }, (_, i) => claimVia(r, offset + i, setup)));
  return claimed.filter((c): c is ClaimedRun => c !== null);
}

/** Claims one at a time, a and b in turn, until nothing more may start: what the race left claimable. */
async function drain(r: Replicas, offset: number, setup: ClaimSetup): Promise<ClaimedRun[]> {
  const claimed: ClaimedRun[] = [];
  for (let i = 0; i < 100; i++) {
    const next = await claimVia(r, offset + i, setup);
    if (next === null) break;
    claimed.push(next);
  }
  return claimed;
}

async function runsOf(store: RunStore, filter: RunFilter): Promise<RunSummary[]> {
  return (await store.listRuns(filter, ALL)).items;
}

async function decisionsOf(store: RunStore, filter: DecisionFilter): Promise<Decision[]> {
  return (await store.listDecisions(filter, ALL)).items;
}

/** Cancels what a round left waiting, so the next round's claims see only its own runs. */
async function cancelWaiting(store: RunStore): Promise<void> {
  for (const run of await runsOf(store, { state: 'pending' })) await store.cancelRun(run.id, 'canceled');
}

const reasonsOf = (waits: readonly Wait[]): Set<GuardReason> => new Set(waits.map(([, reason]) => reason));
const startsWithin = (store: RunStore): Promise<number> => store.transact((tx) => tx.startsSince(tx.now() - MINUTE_MS));

/** One instant spelled six ways, as HA peers and retries may send it. */
const SPELLINGS = [
  '2026-01-01T00:00:00Z', '2026-01-01T00:00:00.000Z', '2026-01-01T01:00:00+01:00',
  '2026-01-01T00:00:00.000000000Z', '2025-12-31T19:00:00-05:00', '2026-01-01T00:00:00Z',
];

/** Registers the races for one adapter; makePair must return two open store instances on one empty database. */
export function describeRaceContract(name: string, makePair: MakePair): void {
  describe(`RunStore races between replicas: ${name}`, () => {
    const r = usePair(makePair);

    it('makes one run of an episode whose copies reach both replicas at once, however startsAt is spelled, and counts every copy', async () => {
      const rb = runbook('episode', WIDE_FLEET);
      for (let round = 0; round < ROUNDS; round++) {
        const { fingerprint } = makeAlert();
        const copies = SPELLINGS.map((startsAt) => alertOn(`episode-${round}`, { fingerprint, startsAt }));
        const outs = await deliverAtOnce(r, [rb], copies, round);
        const runs = await runsOf(r.a, { fingerprint });
        expect(runs.map((run) => run.state)).toEqual(['pending']);
        expect(outs.flatMap((o) => o.runs)).toEqual([runs[0]?.id]);
        const rows = await decisionsOf(r.b, { fingerprint });
        expect(rows.map((d) => [d.decision, d.runId, d.deliveries])).toEqual([['run', runs[0]?.id, copies.length]]);
        // Every copy answered the one row, and each saw the copies counted before it: no delivery was lost or counted twice.
        expect(new Set(outs.map((o) => o.decisions[0]?.id))).toEqual(new Set([rows[0]?.id]));
        expect(outs.map((o) => o.decisions[0]?.deliveries).sort()).toEqual([1, 2, 3, 4, 5, 6]);
        expect(outs.flatMap((o) => o.tally.map((t) => t.reason ?? t.decision)).sort()).toEqual([...Array<string>(5).fill('duplicate'), 'run']);
      }
    });

    it('keeps one active run per runbook and target when different episodes of one alert reach both replicas at once', async () => {
      const rb = runbook('one-per-target', WIDE_FLEET);
      for (let round = 0; round < ROUNDS; round++) {
        const { fingerprint } = makeAlert();
        const target = `target-${round}`;
        const episodes = Array.from({ length: 6 }, (_, i) => alertOn(target, { fingerprint, startsAt: `2026-01-01T00:0${i}:00Z` }));
        const outs = await deliverAtOnce(r, [rb], episodes, round);
        const runs = await runsOf(r.b, { runbook: rb.name, target });
        expect(runs.map((run) => run.state)).toEqual(['pending']);
        expect(outs.flatMap((o) => o.runs)).toEqual([runs[0]?.id]);
        const rows = await decisionsOf(r.a, { fingerprint });
        expect(rows.filter((d) => d.decision === 'run').map((d) => d.runId)).toEqual([runs[0]?.id]);
        expect(rows.filter((d) => d.decision === 'skip').map((d) => [d.reason, d.deliveries])).toEqual(Array(5).fill(['already_running', 1]));
      }
    });

    it('lets one run at a time hold a target when runs of two runbooks on it are claimed through both replicas at once', async () => {
      const runbooks = [runbook('left', WIDE_FLEET), runbook('right', WIDE_FLEET)];
      for (let round = 0; round < ROUNDS; round++) {
        const target = `shared-${round}`;
        const [out] = await deliverAtOnce(r, runbooks, [alertOn(target)], round);
        expect(out?.runs).toHaveLength(2);
        const setup: ClaimSetup = { waits: [] };
        const raced = await claimAtOnce(r, 4, round, setup);
        expect(raced.length).toBeLessThanOrEqual(1);
        const claimed = [...raced, ...(await drain(r, round, setup))];
        expect(claimed).toHaveLength(1);
        const runs = await runsOf(r.a, { target });
        expect(runs.filter((run) => HOLDING.includes(run.state)).map((run) => run.id)).toEqual([claimed[0]?.runId]);
        const other = runs.find((run) => run.id !== claimed[0]?.runId);
        expect(other?.state).toBe('pending');
        expect(setup.waits.map(([id]) => id)).toContain(other?.id);
        expect(reasonsOf(setup.waits)).toEqual(new Set(['target_busy']));
        await cancelWaiting(r.b);
      }
    });

    it('keeps a pool within maxConcurrentPerPool when its due runs are claimed through both replicas at once', async () => {
      const rb = runbook('pooled', `maxConcurrentPerPool: 2, ${WIDE_FLEET}`, true);
      for (let round = 0; round < ROUNDS; round++) {
        const rack = `rack-${round}`;
        const outs = await deliverAtOnce(r, [rb], Array.from({ length: 5 }, (_, i) => alertOn(`${rack}-node-${i}`, { rack })), round);
        expect(outs.flatMap((o) => o.runs)).toHaveLength(5);
        const setup: ClaimSetup = { waits: [] };
        const raced = await claimAtOnce(r, 6, round, setup);
        expect(raced.length).toBeLessThanOrEqual(2);
        const claimed = [...raced, ...(await drain(r, round, setup))];
        expect(claimed).toHaveLength(2);
        const holding = (await runsOf(r.b, { runbook: rb.name })).filter((run) => run.pool === rack && HOLDING.includes(run.state));
        expect(holding.map((run) => run.id).sort()).toEqual(claimed.map((c) => c.runId).sort());
        expect(reasonsOf(setup.waits)).toEqual(new Set(['pool_busy']));
        await cancelWaiting(r.a);
      }
    });

    it('refuses every new episode once the attempt budget is spent, even while the last attempt ends on the other replica', async () => {
      const rb = runbook('budget', `cooldown: 0s, maxAttempts: { count: 2, per: 1h }, ${WIDE_FLEET}`);
      for (let round = 0; round < ROUNDS; round++) {
        const target = `budget-${round}`;
        const { fingerprint } = makeAlert();
        const episode = (minute: number): Alert => alertOn(target, { fingerprint, startsAt: `2026-01-01T00:${String(minute).padStart(2, '0')}:00Z` });
        // Two attempts, each delivered, claimed and executed through alternate replicas; the first ends, the second runs on.
        const attempt = async (i: number): Promise<ClaimedRun> => {
          const [out] = await deliverAtOnce(r, [rb], [episode(i)], round + i);
          expect(out?.runs).toHaveLength(1);
          const claimed = await claimOne(r, round + i + 1);
          expect(claimed.runId).toBe(out?.runs[0]);
          expect(await r.via(round + i).markExecuted(claimed.runId, claimed.fence)).toBe(true);
          return claimed;
        };
        const first = await attempt(0);
        expect(await r.via(round).finishRun(first.runId, first.fence, 'failed', 'steps_failed')).toBe(true);
        const last = await attempt(1);
        // The second attempt ends on one replica while new episodes reach both, the end landing anywhere among them.
        const calls: (() => Promise<unknown>)[] = [2, 3, 4, 5].map((m, i) => () => deliveryVia(r.via(round + i), [rb])([episode(m)]));
        calls.splice(round % (calls.length + 1), 0, () => r.via(round + 1).finishRun(last.runId, last.fence, 'failed', 'steps_failed'));
        await Promise.all(calls.map((call) => call()));
        expect((await runsOf(r.a, { target })).map((run) => run.state)).toEqual(['failed', 'failed']);
        const during = (await decisionsOf(r.b, { fingerprint, decision: 'skip' })).map((d) => d.reason);
        expect(during).toHaveLength(4);
        expect(during.every((reason) => reason === 'already_running' || reason === 'attempts_exhausted')).toBe(true);
        // Now the budget is plainly spent: two copies of each new episode, one through each replica.
        const outs = await deliverAtOnce(r, [rb], [6, 7, 8].flatMap((m) => [episode(m), episode(m)]), round);
        expect(outs.flatMap((o) => o.runs)).toEqual([]);
        const after = await decisionsOf(r.a, { fingerprint, decision: 'skip' });
        const late = after.filter((d) => Date.parse(d.startsAt) >= Date.parse('2026-01-01T00:06:00Z'));
        expect(late.map((d) => [d.reason, d.deliveries])).toEqual(Array(3).fill(['attempts_exhausted', 2]));
        expect(await runsOf(r.b, { target })).toHaveLength(2);
        // Each refused episode escalates once, however many copies of it raced.
        const escalated = (await r.b.listEscalations({ runbook: rb.name }, ALL)).items.filter((e) => e.alert.fingerprint === fingerprint);
        expect(escalated.map((e) => e.reason)).toEqual(after.filter((d) => d.reason === 'attempts_exhausted').map(() => 'attempts_exhausted'));
      }
    });

    it('opens the fleet breaker once and makes at most maxTargets runs when twice as many targets reach both replicas at once', async () => {
      for (let round = 0; round < ROUNDS; round++) {
        const rb = runbook(`fleet-${round}`, 'fleetBreaker: { maxTargets: 3, per: 10m }');
        const outs = await deliverAtOnce(r, [rb], Array.from({ length: 6 }, (_, i) => alertOn(`fleet-${round}-${i}`)), round);
        const runs = await runsOf(r.a, { runbook: rb.name });
        expect(runs).toHaveLength(3);
        expect(outs.flatMap((o) => o.runs).sort()).toEqual(runs.map((run) => run.id).sort());
        const refused = await decisionsOf(r.b, { runbook: rb.name, decision: 'skip' });
        expect(refused.map((d) => d.reason)).toEqual(Array(3).fill('fleet_breaker'));
        expect((await r.a.openBreakers()).has(rb.name)).toBe(true);
        expect((await r.b.listEscalations({ runbook: rb.name }, ALL)).items.map((e) => e.reason)).toEqual(['fleet_breaker']);
      }
    });

    it('starts exactly maxRunStartsPerMinute runs when more are due and both replicas claim at once', async () => {
      const rb = runbook('rated', WIDE_FLEET);
      const perRound = 3;
      for (let round = 0; round < ROUNDS; round++) {
        await deliverAtOnce(r, [rb], Array.from({ length: 8 }, (_, i) => alertOn(`rated-${round}-${i}`)), round);
        // Starts of earlier rounds stay in the minute's window: the limit lets exactly perRound more in.
        const limit = (await startsWithin(r.a)) + perRound;
        const setup: ClaimSetup = { waits: [], maxRunStartsPerMinute: limit };
        const raced = await claimAtOnce(r, 8, round, setup);
        expect(raced.length).toBeLessThanOrEqual(perRound);
        const claimed = [...raced, ...(await drain(r, round, setup))];
        expect(claimed).toHaveLength(perRound);
        expect(await startsWithin(r.b)).toBe(limit);
        expect(reasonsOf(setup.waits)).toEqual(new Set(['rate_limited']));
        await cancelWaiting(r.a);
      }
    });

    it('escalates a fix that did not hold once, when copies of its still-firing episode reach both replicas at once', async () => {
      const rb = runbook('held', `cooldown: 0s, ${WIDE_FLEET}`);
      for (let round = 0; round < ROUNDS; round++) {
        const alert = alertOn(`held-${round}`);
        const [out] = await deliverAtOnce(r, [rb], [alert], round);
        expect(out?.runs).toHaveLength(1);
        const claimed = await claimOne(r, round + 1);
        expect(claimed.runId).toBe(out?.runs[0]);
        await r.via(round).markExecuted(claimed.runId, claimed.fence);
        await r.via(round + 1).finishRun(claimed.runId, claimed.fence, 'failed', 'steps_failed');
        await sleep(3); // past the run's end plus its 0s cooldown, on the store's clock
        const outs = await deliverAtOnce(r, [rb], [alert, alert, alert, alert], round);
        expect(outs.flatMap((o) => o.tally.map((t) => t.reason))).toEqual(Array(4).fill('duplicate'));
        expect((await r.a.listEscalations({ runId: claimed.runId }, ALL)).items.map((e) => e.reason)).toEqual(['still_firing']);
        expect((await r.b.getRun(claimed.runId))?.deliveries).toBe(5);
      }
    });

    it('leaves no active run when a resolved copy and firing copies of one episode reach both replicas at once', async () => {
      const rb = runbook('resolving', WIDE_FLEET);
      for (let round = 0; round < ROUNDS; round++) {
        const firing = alertOn(`resolving-${round}`);
        const copies: Alert[] = [firing, firing, firing];
        copies.splice(round % 4, 0, { ...firing, status: 'resolved' });
        await deliverAtOnce(r, [rb], copies, round);
        const runs = await runsOf(r.a, { fingerprint: firing.fingerprint });
        expect(runs.filter((run) => ACTIVE_STATES.includes(run.state))).toEqual([]);
        expect(runs.map((run) => [run.state, run.reason])).toEqual(runs.length === 0 ? [] : [['canceled', 'resolved']]);
        const rows = await decisionsOf(r.b, { fingerprint: firing.fingerprint, reason: 'resolved' });
        expect(rows.length).toBeGreaterThan(0);
      }
    });

    it('gives a free leader role to exactly one of two replicas asking at once', async () => {
      for (let round = 0; round < ROUNDS; round++) {
        const asks = [0, 1].map((i) => round + i);
        const held = await Promise.all(asks.map((i) => r.via(i).holdLeadership('periodic', r.owner(i), LEASE_MS)));
        expect(held.filter(Boolean)).toHaveLength(1);
        const winner = asks[held.indexOf(true)] ?? 0;
        expect(await r.via(winner + 1).holdLeadership('periodic', r.owner(winner + 1), LEASE_MS)).toBe(false);
        await r.via(winner).releaseLeadership('periodic', r.owner(winner));
      }
    });
  });
}
