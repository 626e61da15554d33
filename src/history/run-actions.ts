/**
 * Cancel and approve, the one home of both: the JSON API and the pages' forms call these, so a run
 * is stopped and approved the same way, and who did it is always the authenticated principal.
 */

import { RemediatorError } from '../core/errors.js';
import { FINAL_STATES, type RunState } from '../core/run.js';
import type { Logger } from '../observability/logger.js';
import type { RunStore } from './run-store.js';

/** The store and the callbacks cancel and approve need. */
export interface RunActionDeps {
  readonly store: RunStore;
  readonly logger: Logger;
  /** Stops a run this replica executes, at once; other replicas see the store's flag. */
  readonly abortRun: (runId: string, reason: 'canceled') => void;
  /** A run was approved: a worker should claim and resume it now. */
  readonly onApproved: (runId: string) => void;
  /** A run ended outside any worker (a pending or awaiting run canceled): report it. */
  readonly onEndedHere: (runId: string) => void;
}

/** Who acts: the authenticated principal, and a note the person may add (it never replaces the principal). */
export interface Actor {
  readonly principal: string;
  readonly note: string | null;
}

// Letters, digits, punctuation and spaces: a note is shown on pages and in logs, never run.
const NOTE = /^[\p{L}\p{N}\p{P}\p{Zs}]{1,128}$/u;

/** The actor of a request: its principal, and the body's `note` (or, as before, `approver`) as a note. */
export function actorOf(principal: string, body: unknown): Actor {
  const fields = (typeof body === 'object' && body !== null ? body : {}) as { note?: unknown; approver?: unknown };
  const given = fields.note ?? fields.approver;
  if (given === undefined || given === '') return { principal, note: null };
  if (typeof given !== 'string' || !NOTE.test(given)) throw new RemediatorError('BAD_REQUEST', 'note must be 1 to 128 letters, digits, punctuation or spaces');
  return { principal, note: given.trim() === '' ? null : given.trim() };
}

/** The name recorded as approvedBy: the principal, with the note after it when there is one. */
export function recordedName(actor: Actor): string {
  return actor.note === null ? actor.principal : `${actor.principal} (note: ${actor.note})`;
}

/** Cancels a pending, awaiting or running run; CONFLICT once it ended. */
export async function cancelRun(deps: RunActionDeps, id: string, actor: Actor): Promise<{ state: RunState; cancelRequested: boolean }> {
  const before = await deps.store.getRun(id);
  if (before === null) throw new RemediatorError('NOT_FOUND', `no run ${id}`);
  if (FINAL_STATES.includes(before.state)) throw new RemediatorError('CONFLICT', `run ${id} already ended as ${before.state}`);
  const state = await deps.store.cancelRun(id, 'canceled');
  if (state === null) throw new RemediatorError('NOT_FOUND', `no run ${id}`);
  deps.logger.info({ runId: id, canceledBy: actor.principal, note: actor.note, state }, 'run cancel requested');
  if (state === 'running') deps.abortRun(id, 'canceled');
  if (state === 'canceled') deps.onEndedHere(id);
  return { state, cancelRequested: state !== 'canceled' };
}

/** Approves a run awaiting approval, recording the principal; CONFLICT when it is not waiting. */
export async function approveRun(deps: RunActionDeps, id: string, actor: Actor): Promise<{ state: RunState; approvedBy: string }> {
  const approvedBy = recordedName(actor);
  const state = await deps.store.approveRun(id, approvedBy);
  if (state === null) throw new RemediatorError('NOT_FOUND', `no run ${id}`);
  if (state !== 'running') throw new RemediatorError('CONFLICT', `run ${id} is ${state}, not awaiting approval`);
  deps.logger.info({ runId: id, approvedBy: actor.principal, note: actor.note }, 'run approved');
  deps.onApproved(id);
  return { state, approvedBy };
}
