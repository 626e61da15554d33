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

  it.each([
    ['short configured values', 'abc is a word'],
    ['ordinary output', 'max_tokens 2048, GPU 0 util 97%'],
  ])('leaves %s alone', (_name, input) => {
    expect(scrub(input)).toBe(input);
  });
});
