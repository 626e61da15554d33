import { describe, expect, it } from '@jest/globals';
import { labelSet, type Alert } from '../core/alert.js';
import type { ParamSpec } from '../core/runbook.js';
import { compileAnchoredRegex } from './matcher.js';
import { extractParams, stripPort } from './params.js';

function spec(name: string, pattern: string, extra: Partial<ParamSpec> = {}): ParamSpec {
  const re = compileAnchoredRegex(pattern);
  if (!re.ok) throw new Error(re.message);
  return { name, source: 'labels', key: name, pattern: re.value, transform: null, optional: false, allowLeadingDash: false, ...extra };
}

function alert(labels: Record<string, string>, annotations: Record<string, string> = {}): Pick<Alert, 'labels' | 'annotations'> {
  return { labels: labelSet(Object.entries(labels)), annotations: labelSet(Object.entries(annotations)) };
}

const HOST = '[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?|[0-9a-fA-F:.]{2,45}';

describe('stripPort', () => {
  it.each([
    ['10.0.0.1:9100', '10.0.0.1'],
    ['node-1.example:8000', 'node-1.example'],
    ['node-1', 'node-1'],
    ['[2001:db8::1]:9100', '2001:db8::1'],
    ['[::1]', '::1'],
    ['2001:db8::1', '2001:db8::1'],
    ['host:', 'host'],
  ])('turns %s into %s', (input, output) => {
    expect(stripPort(input)).toBe(output);
  });
});

describe('extractParams', () => {
  it.each<[string, ParamSpec, Record<string, string>, string]>([
    ['strips the port with transform host', spec('instance', HOST, { transform: 'host' }), { instance: '10.0.0.1:9100' }, '10.0.0.1'],
    ['strips the port of a bracketed IPv6 address', spec('instance', HOST, { transform: 'host' }), { instance: '[2001:db8::1]:9100' }, '2001:db8::1'],
    ['keeps only the port with transform port', spec('port', '[0-9]{1,5}', { transform: 'port' }), { port: '10.0.0.1:8001' }, '8001'],
    ['keeps the port of a bracketed IPv6 address', spec('port', '[0-9]{1,5}', { transform: 'port' }), { port: '[2001:db8::1]:8000' }, '8000'],
    ['keeps a value that matches the whole pattern', spec('model', '[A-Za-z0-9._-]{1,128}'), { model: 'llama-3.1-8b' }, 'llama-3.1-8b'],
    ['allows a leading dash when the param says so', spec('offset', '-?[0-9]+', { allowLeadingDash: true }), { offset: '-5' }, '-5'],
  ])('%s', (_title, s, labels, value) => {
    const r = extractParams({ params: [s] }, alert(labels));
    expect(r).toEqual({ ok: true, params: { [s.name]: value } });
  });

  it.each<[string, ParamSpec, Record<string, string>, RegExp]>([
    ['refuses a value the pattern matches only in part', spec('model', '[a-z]+'), { model: 'abc; rm -rf /' }, /does not match its pattern/],
    ['refuses a value with a leading dash', spec('model', '.+'), { model: '--help' }, /starts with "-"/],
    ['refuses a leading dash even when the pattern allows it', spec('offset', '-?[0-9]+'), { offset: '-5' }, /allowLeadingDash/],
    ['refuses a value with NUL', spec('model', '.+'), { model: 'a\0b' }, /NUL/],
    ['refuses a missing param', spec('model', '.+'), {}, /labels\.model is missing/],
    ['refuses an empty param as missing', spec('model', '.*'), { model: '' }, /is missing or empty/],
    ['refuses a host that is only a port', spec('instance', '.*', { transform: 'host' }), { instance: ':9100' }, /empty after the host transform/],
    ['refuses an instance without a port under transform port', spec('port', '.*', { transform: 'port' }), { port: '10.0.0.1' }, /empty after the port transform/],
    ['refuses a bare IPv6 address under transform port', spec('port', '.*', { transform: 'port' }), { port: '2001:db8::1' }, /empty after the port transform/],
    ['refuses a 10 kB value against a bounded pattern', spec('host', '[a-z0-9.-]{1,253}'), { host: 'a'.repeat(10_240) }, /does not match/],
  ])('%s', (_title, s, labels, message) => {
    const r = extractParams({ params: [s] }, alert(labels));
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.param).toBe(s.name);
      expect(r.message).toMatch(message);
    }
  });

  it('refuses a 10 kB hostile value against a nested pattern', () => {
    const s = spec('host', '([a-z0-9]+\\.)*[a-z0-9]+');
    const r = extractParams({ params: [s] }, alert({ host: `${'a.'.repeat(5_000)}-` }));
    expect(r.ok).toBe(false);
  });

  it('leaves a missing optional param absent instead of empty', () => {
    const r = extractParams({ params: [spec('a', '.+'), spec('b', '.+', { optional: true })] }, alert({ a: 'x' }));
    expect(r.ok).toBe(true);
    if (r.ok) {
      expect(Object.keys(r.params)).toEqual(['a']);
      expect('b' in r.params).toBe(false);
    }
  });

  it('reads annotations as well as labels', () => {
    const s = spec('ttft', '[0-9.]+', { source: 'annotations', key: 'value' });
    expect(extractParams({ params: [s] }, alert({}, { value: '2.5' }))).toEqual({ ok: true, params: { ttft: '2.5' } });
  });

  it('returns a null-prototype map that no key can reach the prototype through', () => {
    const r = extractParams({ params: [spec('proto', '.+', { key: '__proto__' })] }, alert({}));
    expect(r.ok).toBe(false);
    const ok = extractParams({ params: [spec('a', '.+')] }, alert({ a: 'x' }));
    if (ok.ok) expect(Object.getPrototypeOf(ok.params)).toBeNull();
  });
});
