import { describe, expect, it } from '@jest/globals';
import { labelSet } from '../core/alert.js';
import { compileAnchoredRegex, parseMatcher } from './matcher.js';

const labels = labelSet([
  ['alertname', 'LLMServerDown'],
  ['severity', 'critical'],
  ['instance', '10.0.0.1:8000'],
]);

describe('parseMatcher', () => {
  it.each<[string, boolean]>([
    ['alertname = "LLMServerDown"', true],
    ['alertname = "LLMServer"', false],
    ['alertname="LLMServerDown"', true],
    ['alertname = LLMServerDown', true],
    ['severity != "warning"', true],
    ['severity != "critical"', false],
    ['severity =~ "critical|page"', true],
    ['severity =~ "crit"', false],
    ['severity =~ "a|critical"', true],
    ['severity !~ "warning|info"', true],
    ['severity !~ "crit.*"', false],
    ['missing = ""', true],
    ['missing != ""', false],
    ['missing =~ ".*"', true],
    ['missing !~ ".+"', true],
    ['instance =~ "10\\\\.0\\\\.0\\\\.1:\\\\d+"', true],
    ['instance =~ "10\\\\.0\\\\.0\\\\.1"', false],
    ['alertname =~ "LLM.*Down"', true],
  ])('%s holds: %s', (text, expected) => {
    const m = parseMatcher(text);
    if (!m.ok) throw new Error(m.message);
    expect(m.value.matches(labels)).toBe(expected);
  });

  it.each<[string, string]>([
    ['x =~ "a|b"', 'xa'],
    ['x =~ "a|b"', 'ax'],
    ['x =~ "a|b"', 'ab'],
    ['x =~ "b*"', 'ab'],
  ])('anchors %s so it does not match %j', (text, value) => {
    const m = parseMatcher(text);
    if (!m.ok) throw new Error(m.message);
    expect(m.value.matches(labelSet([['x', value]]))).toBe(false);
  });

  it('reads a label named like an Object.prototype key as missing', () => {
    const m = parseMatcher('constructor = ""');
    if (!m.ok) throw new Error(m.message);
    expect(m.value.matches(labelSet([]))).toBe(true);
    expect(m.value.matches({ ...labels } as Record<string, string>)).toBe(true);
  });

  it.each<[string, RegExp]>([
    ['alertname == "X"', /double quote/],
    ['alertname ~ "X"', /expected name OP "value"/],
    ['9x = "y"', /is not a label name/],
    ['al-ert = "y"', /expected name OP|is not a label name/],
    ['x =~ "(a"', /invalid regex "\(a"/],
    ['x =~ "a)|(b"', /invalid regex/],
    ['x = "unterminated', /bad quoted value/],
    ['x = "bad \\q escape"', /bad quoted value/],
    ['x =~ "(a)\\\\1"', /invalid regex .*backreferences are not in RE2/],
    ['x =~ "(?=a)a"', /invalid regex .*lookahead and lookbehind are not in RE2/],
    ['x =~ "(?<!a)b"', /invalid regex .*lookahead and lookbehind are not in RE2/],
    ['x =~ "a{1001}"', /invalid regex .*invalid repeat count/],
    ['', /expected name OP/],
  ])('refuses %j', (text, message) => {
    const m = parseMatcher(text);
    expect(m.ok).toBe(false);
    if (!m.ok) expect(m.message).toMatch(message);
  });
});

describe('compileAnchoredRegex', () => {
  it('matches the whole value only, and keeps the source as written', () => {
    const re = compileAnchoredRegex('[a-z]+');
    if (!re.ok) throw new Error(re.message);
    expect(re.value.source).toBe('[a-z]+');
    expect(re.value.test('abc')).toBe(true);
    expect(re.value.test('abc1')).toBe(false);
    expect(re.value.test('1abc')).toBe(false);
  });

  it('keeps patterns that already carry their own anchors working', () => {
    const re = compileAnchoredRegex('^[a-z0-9][a-z0-9.-]{0,252}$');
    if (!re.ok) throw new Error(re.message);
    expect(re.value.test('host-1.example')).toBe(true);
    expect(re.value.test('-host')).toBe(false);
  });
});

describe('compileAnchoredRegex with RE2', () => {
  it('answers a pattern that backtracking engines take exponential time on, in linear time', () => {
    const re = compileAnchoredRegex('([a-z0-9]+[.-]?)+');
    if (!re.ok) throw new Error(re.message);
    // With ECMAScript regexes this call did not return for hours; the deadline is far above RE2's milliseconds.
    const started = Date.now();
    expect(re.value.test(`${'a'.repeat(5000)}!`)).toBe(false);
    expect(re.value.test('a.b-c')).toBe(true);
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it.each<[string, string, boolean]>([
    ['\\-', '-', true],
    ['\\p{L}+', 'modèle', true],
    ['.', '😀', true],
    ['.*', 'a\nb', false],
    ['(?s).*', 'a\nb', true],
    ['(?i)abc', 'ABC', true],
  ])('reads %s as Alertmanager (Go RE2) does against %j: %s', (source, value, expected) => {
    const re = compileAnchoredRegex(source);
    if (!re.ok) throw new Error(re.message);
    expect(re.value.test(value)).toBe(expected);
  });
});
