import { describe, it, expect } from '@jest/globals';
import { IntegrationError } from './integration-error.js';
import { withRetries } from './with-retries.js';

const POLICY = { attempts: 3, initialDelayMs: 10, maxDelayMs: 20, budgetMs: 1000 };

function failing(errors: Error[]): { op: () => Promise<string>; calls: () => number } {
  let calls = 0;
  return {
    op: async () => {
      const error = errors[calls++];
      if (error) throw error;
      return 'ok';
    },
    calls: () => calls,
  };
}

const http = (status: number): IntegrationError => new IntegrationError('grafana', 'http', `HTTP ${status}`, { status, body: '' });

describe('withRetries', () => {
  it.each<[string, Error[], string | RegExp, number]>([
    ['succeeds at once', [], 'ok', 1],
    ['retries a 500 and succeeds', [http(500)], 'ok', 2],
    ['retries a 429 and an unreachable service', [http(429), new IntegrationError('grafana', 'unavailable', 'refused')], 'ok', 3],
    ['gives up after the last attempt', [http(503), http(503), http(503)], /HTTP 503/, 3],
    ['does not retry a 400', [http(400)], /HTTP 400/, 1],
    ['does not retry an error that is not an integration error', [new TypeError('bug')], /bug/, 1],
  ])('%s', async (_what, errors, outcome, calls) => {
    const f = failing(errors);
    const result = withRetries(f.op, POLICY);
    if (typeof outcome === 'string') await expect(result).resolves.toBe(outcome);
    else await expect(result).rejects.toThrow(outcome);
    expect(f.calls()).toBe(calls);
  });

  it('ends a hanging try when the budget runs out, as a timeout', async () => {
    const started = Date.now();
    const hang = (signal: AbortSignal): Promise<never> =>
      new Promise((_resolve, reject) => signal.addEventListener('abort', () => reject(new IntegrationError('grafana', 'canceled', 'aborted'))));
    await expect(withRetries(hang, { ...POLICY, budgetMs: 100 })).rejects.toMatchObject({ kind: 'timeout' });
    expect(Date.now() - started).toBeLessThan(500);
  });

  it('stops at once when its stop signal aborts', async () => {
    const stop = new AbortController();
    const f = failing([http(500), http(500), http(500)]);
    setTimeout(() => stop.abort(), 5);
    await expect(withRetries(f.op, { ...POLICY, initialDelayMs: 500 }, stop.signal)).rejects.toThrow(/HTTP 500/);
    expect(f.calls()).toBe(1);
  });
});
