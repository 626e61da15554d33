/** A FIFO async mutex: one SQLite connection has one transaction at a time, and StoreTx is async. */
export class AsyncMutex {
  private tail: Promise<void> = Promise.resolve();

  /** Runs fn once every earlier holder is done; a failure of fn is the caller's and does not block the queue. */
  run<T>(fn: () => T | Promise<T>): Promise<T> {
    const result = this.tail.then(fn);
    this.tail = result.then(
      () => undefined,
      () => undefined,
    );
    return result;
  }

  /** Resolves once every holder queued so far is done. */
  drain(): Promise<void> {
    return this.tail;
  }
}
