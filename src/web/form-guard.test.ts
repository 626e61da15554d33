import type { Request } from 'express';
import { describe, expect, it } from '@jest/globals';
import { RemediatorError } from '../core/errors.js';
import { createFormGuard } from './form-guard.js';

const KEY = Buffer.alloc(32, 7);

/** The parts of a request the guard reads. */
function request(headers: Record<string, string>, body: Record<string, unknown> | undefined): Request {
  return { headers: { host: 'remediator.example:9095', ...headers }, body } as unknown as Request;
}

function refusal(fn: () => void): string | null {
  try {
    fn();
    return null;
  } catch (err) {
    return err instanceof RemediatorError ? err.code : 'other';
  }
}

describe('the form guard', () => {
  const guard = createFormGuard('http://remediator.example:9095', KEY);
  const token = guard.token('cancel', 'run-1');

  it('gives a different token for each action, run and key', () => {
    expect(guard.token('approve', 'run-1')).not.toBe(token);
    expect(guard.token('cancel', 'run-2')).not.toBe(token);
    expect(createFormGuard('http://remediator.example:9095').token('cancel', 'run-1')).not.toBe(token);
  });

  it.each([
    ['no browser headers', {}],
    ['a same-origin fetch', { 'sec-fetch-site': 'same-origin', origin: 'http://remediator.example:9095' }],
    ['the public URL as origin', { origin: 'http://remediator.example:9095' }],
    ['a TLS proxy in front', { origin: 'https://remediator.example:9095' }],
  ])('accepts a valid token with %s', (_what, headers) => {
    expect(refusal(() => guard.check(request(headers, { token }), 'cancel', 'run-1'))).toBeNull();
  });

  it.each([
    ['no body', {}, undefined],
    ['no token', {}, {}],
    ['an empty token', {}, { token: '' }],
    ['a token for another run', {}, { token: guard.token('cancel', 'run-2') }],
    ['a token for another action', {}, { token: guard.token('approve', 'run-1') }],
    ['a repeated token', {}, { token: [token, token] }],
    ['a multibyte token', {}, { token: 'é'.repeat(token.length) }],
    ['a cross-site fetch', { 'sec-fetch-site': 'cross-site' }, { token }],
    ['a same-site fetch from a sibling host', { 'sec-fetch-site': 'same-site' }, { token }],
    ['a foreign origin', { origin: 'http://evil.example' }, { token }],
    ['a null origin', { origin: 'null' }, { token }],
  ])('refuses %s', (_what, headers, body) => {
    expect(refusal(() => guard.check(request(headers, body), 'cancel', 'run-1'))).toBe('FORBIDDEN');
  });
});
