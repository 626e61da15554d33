/**
 * Retention (`retention` in the config): ended runs created longer ago than it are deleted with their tiers, steps,
 * decisions and escalations, in small batches with a pause between them, so that the webhook never waits behind a
 * long delete. Leader work: one replica at a time prunes.
 */

import type { Logger } from 'pino';
import { abortableDelay } from '../execute/abortable-delay.js';
import { toError } from '../core/errors.js';
import type { PruneCounts, RunStore } from './run-store.js';

export interface RetentionOptions {
  readonly store: Pick<RunStore, 'now' | 'pruneEnded'>;
  readonly retentionMs: number;
  /** Rows of each kind per batch (one short transaction). */
  readonly batch?: number;
  /** Pause between batches, so that deliveries get the store in between. */
  readonly pauseMs?: number;
  /** Pause between passes. */
  readonly intervalMs?: number;
  readonly logger: Logger;
  /** Told what each batch deleted, for the metric. */
  readonly onPruned?: (counts: PruneCounts) => void;
}

export interface Retention {
  start(): void;
  stop(): Promise<void>;
  /** One whole pass now (every batch due); resolves with what it deleted. */
  pass(): Promise<PruneCounts>;
}

const NONE: PruneCounts = { runs: 0, decisions: 0, escalations: 0, episodes: 0 };

function add(a: PruneCounts, b: PruneCounts): PruneCounts {
  return { runs: a.runs + b.runs, decisions: a.decisions + b.decisions, escalations: a.escalations + b.escalations, episodes: a.episodes + b.episodes };
}

/** The pruner; nothing runs until start() or pass(). */
export function createRetention(options: RetentionOptions): Retention {
  const batch = options.batch ?? 500;
  const pauseMs = options.pauseMs ?? 20;
  const log = options.logger.child({ stage: 'retention' });
  let stopper = new AbortController();
  let loop: Promise<void> | null = null;

  const pass = async (signal: AbortSignal): Promise<PruneCounts> => {
    const before = (await options.store.now()) - options.retentionMs;
    let total = NONE;
    for (;;) {
      const counts = await options.store.pruneEnded(before, batch);
      options.onPruned?.(counts);
      total = add(total, counts);
      const full = Math.max(counts.runs, counts.decisions, counts.escalations, counts.episodes) >= batch;
      if (!full || signal.aborted) break;
      await abortableDelay(pauseMs, signal);
    }
    if (total.runs + total.decisions + total.escalations + total.episodes > 0) {
      log.info({ ...total, before: new Date(before).toISOString() }, 'pruned what is older than retention');
    }
    return total;
  };

  return {
    start() {
      if (loop !== null) return;
      stopper = new AbortController();
      const signal = stopper.signal;
      loop = (async () => {
        while (!signal.aborted) {
          await pass(signal).catch((err: unknown) => log.error({ err: toError(err) }, 'retention pass failed; retrying'));
          await abortableDelay(options.intervalMs ?? 60_000, signal);
        }
      })();
    },
    async stop() {
      stopper.abort();
      await loop;
      loop = null;
    },
    pass: () => pass(new AbortController().signal),
  };
}
