/** Bounded retries with backoff for reporting calls, inside one overall deadline. */

import { abortableDelay } from '../execute/abortable-delay.js';
import { toError } from '../core/errors.js';
import { IntegrationError } from './integration-error.js';

/** How hard a reporting call tries before it gives up. */
export interface RetryPolicy {
  /** Tries in all, the first included. */
  readonly attempts: number;
  /** Wait after the first failure; it doubles after each further one, up to maxDelayMs. */
  readonly initialDelayMs: number;
  readonly maxDelayMs: number;
  /** The whole operation, every try and wait included, ends by then. */
  readonly budgetMs: number;
}

/** 3 tries, 200 ms then 400 ms apart (1 s at most), all within 8 s. */
export const DEFAULT_RETRY_POLICY: RetryPolicy = { attempts: 3, initialDelayMs: 200, maxDelayMs: 1000, budgetMs: 8000 };

/** Whether an error is worth another try; anything that is not an IntegrationError is a bug and is not retried. */
function retryable(err: Error): boolean {
  return err instanceof IntegrationError && err.retryable;
}

/**
 * Runs `op` until it succeeds, fails with an error that will not change, runs out of tries, or the
 * budget ends or `stop` aborts (either aborts the try in flight). Rejects with the last error.
 */
export async function withRetries<T>(op: (signal: AbortSignal) => Promise<T>, policy: RetryPolicy, stop?: AbortSignal): Promise<T> {
  const timer = AbortSignal.timeout(policy.budgetMs);
  const budget = stop ? AbortSignal.any([timer, stop]) : timer;
  let delay = policy.initialDelayMs;
  let last: Error = new Error('no attempt was made');
  for (let attempt = 1; attempt <= Math.max(1, policy.attempts); attempt++) {
    try {
      return await op(budget);
    } catch (thrown) {
      last = toError(thrown);
      if (stop?.aborted) throw last;
      if (budget.aborted) throw budgetError(last, policy);
      if (!retryable(last) || attempt >= policy.attempts) throw last;
    }
    if (!(await abortableDelay(delay, budget))) throw stop?.aborted ? last : budgetError(last, policy);
    delay = Math.min(delay * 2, policy.maxDelayMs);
  }
  throw last;
}

function budgetError(last: Error, policy: RetryPolicy): Error {
  if (last instanceof IntegrationError) {
    return new IntegrationError(last.integration, 'timeout', `gave up after ${policy.budgetMs} ms: ${last.message}`, {
      status: last.status,
      body: last.body,
      cause: last,
    });
  }
  return last;
}
