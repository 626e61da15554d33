import { describe, expect, it } from '@jest/globals';
import { authorizationMatches, isLoopback, principalFor, secretEquals } from './auth.js';

const creds = { bearerTokens: ['s3cret-token'], basic: [{ username: 'am', password: 'pa:ss' }] };
const basic = (u: string, p: string): string => `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}`;

describe('authorizationMatches', () => {
  it.each([
    ['the right bearer token', 'Bearer s3cret-token', true],
    ['a lower-case scheme', 'bearer s3cret-token', true],
    ['a wrong bearer token', 'Bearer s3cret-tokeN', false],
    ['a prefix of the token', 'Bearer s3cret', false],
    ['the right basic credentials with a colon in the password', basic('am', 'pa:ss'), true],
    ['a wrong basic password', basic('am', 'pass'), false],
    ['a wrong basic user', basic('root', 'pa:ss'), false],
    ['no header', undefined, false],
    ['an empty header', '', false],
    ['another scheme', 'Digest s3cret-token', false],
  ])('answers %s with %s', (_what, header, expected) => {
    expect(authorizationMatches(header, creds)).toBe(expected);
  });
});

describe('principalFor', () => {
  it.each([
    ['a bearer token', 'Bearer s3cret-token', 'token:operate'],
    ['basic credentials', basic('am', 'pa:ss'), 'am'],
    ['a wrong password', basic('am', 'nope'), null],
    ['a wrong token', 'Bearer nope', null],
    ['no header', undefined, null],
  ])('names the principal of %s', (_what, header, expected) => {
    expect(principalFor(header, creds, 'operate')).toBe(expected);
  });
});

describe('secretEquals', () => {
  it('compares secrets of different lengths without throwing', () => {
    expect(secretEquals('a', 'abc')).toBe(false);
    expect(secretEquals('abc', 'abc')).toBe(true);
  });
});

describe('isLoopback', () => {
  it.each([
    ['127.0.0.1', true],
    ['127.1.2.3', true],
    ['::1', true],
    ['localhost', true],
    ['0.0.0.0', false],
    ['10.0.0.5', false],
    ['::', false],
  ])('says %s is loopback: %s', (host, expected) => {
    expect(isLoopback(host)).toBe(expected);
  });
});
