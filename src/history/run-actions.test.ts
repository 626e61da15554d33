import { describe, expect, it } from '@jest/globals';
import { RemediatorError } from '../core/errors.js';
import { actorOf, recordedName } from './run-actions.js';

describe('the actor of a cancel or approve', () => {
  it.each([
    ['no body', undefined, 'bob'],
    ['an empty object', {}, 'bob'],
    ['an empty note', { note: '' }, 'bob'],
    ['a note', { note: 'checked the dashboards' }, 'bob (note: checked the dashboards)'],
    ['a body approver, kept as a note only', { approver: 'mallory' }, 'bob (note: mallory)'],
    ['a note and an approver', { note: 'ok', approver: 'mallory' }, 'bob (note: ok)'],
  ])('with %s records %j', (_what, body, expected) => {
    expect(recordedName(actorOf('bob', body))).toBe(expected);
  });

  it.each([
    ['a number', { note: 7 }],
    ['a control character', { note: 'a\nb' }],
    ['too long a note', { note: 'x'.repeat(129) }],
    ['an array', { approver: ['a'] }],
  ])('refuses %s with BAD_REQUEST', (_what, body) => {
    let code = '';
    try {
      actorOf('token:operate', body);
    } catch (err) {
      code = err instanceof RemediatorError ? err.code : 'other';
    }
    expect(code).toBe('BAD_REQUEST');
  });
});
