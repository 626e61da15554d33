/** The stop conditions of one executing run: lease renewal and cancel polling, in-process aborts, shutdown. */

import type { Logger } from 'pino';
import type { RunReason, StopCause } from '../core/run.js';
import type { StepKind } from '../core/runbook.js';
import { toError } from '../core/errors.js';
import type { LeaseCheck, RunStore } from '../history/run-store.js';
import type { RunRegistry } from './running-runs.js';

/** Why a run must stop before its steps are done. */
export type Interruption = { readonly kind: 'lost' } | { readonly kind: 'cancel'; readonly reason: RunReason } | { readonly kind: 'shutdown' };

/** What a step boundary may find: an interruption, or the kill switch. */
export type BoundaryStop = Interruption | { readonly kind: 'paused' };

/** Handle on the stop conditions of one run. */
export interface RunControl {
  /** Aborted, with the StopCause as reason, when the running step must stop now. */
  readonly signal: AbortSignal;
  interruption(): Interruption | null;
  /** Renews the lease at a step boundary and says whether the run must stop there; throws when the store cannot answer. */
  checkpoint(): Promise<BoundaryStop | null>;
  /** Tells the control what runs now, so the shutdown grace applies to commands only. */
  stepStarted(kind: StepKind): void;
  stepEnded(): void;
  /** Marks the lease as lost (a fenced write was refused) and stops the step at once. */
  lose(): void;
  dispose(): void;
}

/** What startRunControl needs. */
export interface RunControlOptions {
  readonly store: RunStore;
  readonly runId: string;
  readonly owner: string;
  readonly fence: number;
  readonly leaseMs: number;
  /** How often to look for cancel requests; the lease is renewed at least every third of leaseMs anyway. */
  readonly pollMs: number;
  readonly shutdown: AbortSignal;
  readonly shutdownGraceMs: number;
  readonly registry: RunRegistry;
  readonly logger: Logger;
}

/** Starts watching a claimed run: renews its lease in the background until dispose. */
export function startRunControl(o: RunControlOptions): RunControl {
  const abort = new AbortController();
  let interruption: Interruption | null = null;
  let running: StepKind | null = null;
  let lastHeldAt = Date.now();
  let graceTimer: NodeJS.Timeout | undefined;
  let ticking = false;

  const interrupt = (next: Interruption, cause: StopCause): void => {
    // A lost lease overrides everything: nothing may be written any more.
    if (interruption !== null && next.kind !== 'lost') return;
    interruption = next;
    if (next.kind === 'shutdown' && running !== null && running !== 'wait') {
      graceTimer = setTimeout(() => abort.abort(cause), o.shutdownGraceMs);
      return;
    }
    abort.abort(cause);
  };
  const lose = (): void => interrupt({ kind: 'lost' }, 'canceled');
  const apply = (check: LeaseCheck): void => {
    if (!check.held) return lose();
    lastHeldAt = Date.now();
    const reason = check.cancelRequested;
    if (reason !== null) interrupt({ kind: 'cancel', reason }, reason === 'resolved' ? 'resolved' : 'canceled');
  };
  let renewedAt = 0;
  const renew = async (): Promise<LeaseCheck> => {
    const check = await o.store.renewLease(o.runId, o.owner, o.fence, o.leaseMs);
    if (check.held) renewedAt = Date.now();
    apply(check);
    return check;
  };
  // The lease is written every third of it; the polls between (for cancels) only read, so many runs cost few writes.
  const poll = async (): Promise<void> => {
    if (Date.now() - renewedAt >= o.leaseMs / 3) {
      await renew();
      return;
    }
    const check = await o.store.checkLease(o.runId, o.owner, o.fence);
    if (!check.held) return lose();
    const reason = check.cancelRequested;
    if (reason !== null) interrupt({ kind: 'cancel', reason }, reason === 'resolved' ? 'resolved' : 'canceled');
  };
  const tick = async (): Promise<void> => {
    if (ticking) return;
    ticking = true;
    try {
      await poll();
    } catch (thrown) {
      o.logger.warn({ err: toError(thrown) }, 'lease renewal failed');
      // Past the lease another worker may take the run: stop before two run it.
      if (Date.now() - lastHeldAt >= o.leaseMs) lose();
    } finally {
      ticking = false;
    }
  };
  const timer = setInterval(() => void tick(), Math.max(10, Math.min(o.leaseMs / 3, o.pollMs)));
  const unregister = o.registry.register(o.runId, (reason) =>
    interrupt({ kind: 'cancel', reason }, reason === 'resolved' ? 'resolved' : 'canceled'),
  );
  const onShutdown = (): void => interrupt({ kind: 'shutdown' }, 'shutdown');
  if (o.shutdown.aborted) onShutdown();
  else o.shutdown.addEventListener('abort', onShutdown, { once: true });

  return {
    signal: abort.signal,
    interruption: () => interruption,
    async checkpoint() {
      if (interruption !== null) return interruption;
      const check = await renew();
      if (interruption !== null) return interruption;
      return check.globalPaused ? { kind: 'paused' } : null;
    },
    stepStarted(kind) {
      running = kind;
    },
    stepEnded() {
      running = null;
    },
    lose,
    dispose() {
      clearInterval(timer);
      clearTimeout(graceTimer);
      unregister();
      o.shutdown.removeEventListener('abort', onShutdown);
    },
  };
}
