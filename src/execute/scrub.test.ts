import { describe, it, expect } from '@jest/globals';
import { createScrubber } from './scrub.js';

describe('createScrubber', () => {
  const scrub = createScrubber(['s3cr3t-token-value', 'abc', '']);

  it.each([
    ['a known secret value', 'token was s3cr3t-token-value here', 'token was [REDACTED] here'],
    ['an Authorization header', 'Authorization: Bearer eyJhbGciOi.x.y', 'Authorization: Bearer [REDACTED]'],
    ['a bare bearer token', 'curl -H "x: Bearer abcdef123"', 'curl -H "x: Bearer [REDACTED]"'],
    ['password=', 'login password=hunter22 ok', 'login password=[REDACTED] ok'],
    ['token:', 'token: ghp_1234567890', 'token: [REDACTED]'],
    ['api_key=', 'url?api_key=XYZ123&x=1', 'url?api_key=[REDACTED]&x=1'],
    ['a quoted JSON secret', '{"client_secret": "zzz999"}', '{"client_secret": "[REDACTED]"}'],
    [
      'a PEM private key block',
      'a\n-----BEGIN RSA PRIVATE KEY-----\nMIIEow\nxyz\n-----END RSA PRIVATE KEY-----\nb',
      'a\n[REDACTED]\nb',
    ],
    ['a PEM block cut by truncation', 'x -----BEGIN PRIVATE KEY-----\nMIIE', 'x [REDACTED]'],
  ])('redacts %s', (_name, input, expected) => {
    expect(scrub(input)).toBe(expected);
  });

  it('leaves ordinary output alone', () => {
    const input = 'max_tokens 2048, GPU 0 util 97%';
    expect(scrub(input)).toBe(input);
  });

  it('redacts a configured secret however short it is', () => {
    expect(scrub('key=abc; abc is a word')).toBe('key=[REDACTED]; [REDACTED] is a word');
  });

  it.each([
    ['the secret cut by the cap', 'out: s3cr3t-to', 'out: [REDACTED]'],
    ['a cut secret before a character the cap split', 'out: s3cr3t\uFFFD', 'out: [REDACTED]'],
    ['nothing when the end is no start of a secret', 'out: done', 'out: done'],
  ])('redacts, in output cut at its cap, %s', (_name, input, expected) => {
    expect(scrub(input, true)).toBe(expected);
  });

  it('leaves a secret-like end of output that was not cut', () => {
    expect(scrub('out: s3cr3t-to')).toBe('out: s3cr3t-to');
  });

  it('redacts secrets added after it was built, in all later output', () => {
    const later = createScrubber([]);
    expect(later('header Zq7')).toBe('header Zq7');
    later.add(['Zq7', '']);
    expect(later('header Zq7')).toBe('header [REDACTED]');
    expect(later('ok')).toBe('ok');
  });
});
