import { describe, expect, it } from '@jest/globals';
import { RemediatorError } from '../core/errors.js';
import { decodeUtf8, jsonTypeProblem } from './json-body.js';

describe('jsonTypeProblem', () => {
  it.each([
    ['application/json', null],
    ['Application/JSON', null],
    ['application/json; charset=utf-8', null],
    ['application/json;charset="UTF-8"', null],
    ['application/json; charset=utf8', null],
    ['application/json; boundary=x', null],
    ['application/json; charset=iso-8859-1', 'charset "iso-8859-1"'],
    ['application/json; charset=utf-16', 'charset "utf-16"'],
    ['text/plain', 'Content-Type "text/plain"'],
    ['application/x-www-form-urlencoded', 'Content-Type "application/x-www-form-urlencoded"'],
    ['multipart/form-data; boundary=x', 'Content-Type "multipart/form-data; boundary=x"'],
    ['application/jsonp', 'Content-Type "application/jsonp"'],
    ['', 'no Content-Type'],
    [undefined, 'no Content-Type'],
  ])('finds in %j the problem %j', (header, expected) => {
    expect(jsonTypeProblem(header)).toBe(expected);
  });
});

describe('decodeUtf8', () => {
  it('decodes well-formed UTF-8, multibyte included', () => {
    expect(decodeUtf8(Buffer.from('{"a":"é✓"}'))).toBe('{"a":"é✓"}');
  });

  it.each([
    ['a lone continuation byte', [0x80]],
    ['a cut sequence', [0xc3]],
    ['an overlong encoding', [0xc0, 0xaf]],
    ['an encoded surrogate', [0xed, 0xa0, 0x80]],
  ])('refuses %s with BAD_ENCODING instead of replacing it', (_what, bytes) => {
    let code = '';
    try {
      decodeUtf8(Buffer.from([0x22, ...bytes, 0x22]));
    } catch (err) {
      code = err instanceof RemediatorError ? err.code : 'other';
    }
    expect(code).toBe('BAD_ENCODING');
  });
});
