/** Polling with a deadline, for conditions that real components reach in their own time. */
import { toError } from '../../src/core/errors.js';

/** Options for waitFor. */
export interface WaitOptions {
  /** What is awaited, named in the timeout error. */
  description: string;
  timeoutMs?: number;
  intervalMs?: number;
  /** Called on each round; a string it returns aborts the wait at once with that text (e.g. "the child exited"). */
  abortIf?: () => string | undefined;
  /** Extra text for the error, e.g. a child's captured output. */
  context?: () => string;
}

/** Polls `probe` until it returns a value other than undefined, or fails after the timeout with the last error seen. */
export async function waitFor<T>(probe: () => Promise<T | undefined> | T | undefined, options: WaitOptions): Promise<T> {
  const timeoutMs = options.timeoutMs ?? 30_000;
  const intervalMs = options.intervalMs ?? 200;
  const deadline = Date.now() + timeoutMs;
  let lastError: Error | undefined;
  for (;;) {
    const aborted = options.abortIf?.();
    if (aborted !== undefined) throw new Error(failureText(`gave up waiting for ${options.description}: ${aborted}`, lastError, options));
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (thrown) {
      lastError = toError(thrown);
    }
    if (Date.now() >= deadline) {
      throw new Error(failureText(`timed out after ${timeoutMs} ms waiting for ${options.description}`, lastError, options));
    }
    await sleep(intervalMs);
  }
}

/** Resolves after `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function failureText(head: string, lastError: Error | undefined, options: WaitOptions): string {
  const parts = [head];
  if (lastError) parts.push(`last error: ${lastError.message}`);
  const context = options.context?.();
  if (context) parts.push(context);
  return parts.join('\n');
}
