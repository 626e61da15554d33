import { runInNewContext } from 'node:vm';
import { describe, expect, it } from '@jest/globals';
import { RemediatorError, toError } from './errors.js';

describe('toError', () => {
  it('keeps an Error made in another realm as it is', () => {
    const foreign = runInNewContext('new Error("from elsewhere")') as unknown;
    expect(foreign instanceof Error).toBe(false);
    expect(toError(foreign)).toBe(foreign);
  });

  it.each([
    ['a string', 'boom', 'boom'],
    ['an object', { code: 1 }, '{"code":1}'],
  ])('turns %s into an Error', (_what, thrown, message) => {
    const err = toError(thrown);
    expect(err).toBeInstanceOf(Error);
    expect(err.message).toBe(message);
  });
});

describe('RemediatorError', () => {
  it('carries its catalog status and keeps the cause', () => {
    const cause = new Error('disk full');
    const err = new RemediatorError('STORE_UNAVAILABLE', 'cannot commit', { cause });
    expect(err).toMatchObject({ code: 'STORE_UNAVAILABLE', httpStatus: 503, retryable: true, cause });
    expect(err.toBody()).toEqual({ error: { code: 'STORE_UNAVAILABLE', message: 'cannot commit' } });
  });
});
