/** In-process handles on the runs this replica executes, so the API can stop one at once instead of at the next lease poll. */

import type { RunReason } from '../core/run.js';

/** The runs executing in this process, by id. */
export interface RunRegistry {
  /** Asks a running run to stop now with the reason; false when this process is not executing it. */
  abort(runId: string, reason: RunReason): boolean;
  /** Registers a run's stop handler; the returned function unregisters it. */
  register(runId: string, onAbort: (reason: RunReason) => void): () => void;
  /** Ids of the runs executing now. */
  ids(): string[];
}

/** Creates an empty registry. */
export function createRunRegistry(): RunRegistry {
  const handlers = new Map<string, (reason: RunReason) => void>();
  return {
    abort(runId, reason) {
      const handler = handlers.get(runId);
      if (handler === undefined) return false;
      handler(reason);
      return true;
    },
    register(runId, onAbort) {
      handlers.set(runId, onAbort);
      return () => {
        if (handlers.get(runId) === onAbort) handlers.delete(runId);
      };
    },
    ids: () => [...handlers.keys()],
  };
}

/** The process-wide registry the executor uses unless given another; the store stays the source of truth. */
export const runningRuns: RunRegistry = createRunRegistry();
