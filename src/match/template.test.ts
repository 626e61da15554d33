import { describe, expect, it } from '@jest/globals';
import { labelSet } from '../core/alert.js';
import { compileTemplate, renderTemplate, type RefKind, type TemplateScope } from './template.js';

const ALL: RefKind[] = ['param', 'label', 'target', 'pool', 'run.id', 'run.url'];

function scope(kinds: RefKind[] = ALL, params: string[] = ['host', 'model']): TemplateScope {
  return { where: 'a test', allowed: new Set(kinds), params: new Set(params) };
}

const ctx = {
  params: { host: 'node-1', model: 'llama' },
  target: 'node-1',
  pool: 'pool-a',
  runId: '01RUN',
  runUrl: 'http://r/runs/01RUN',
  labels: labelSet([['instance', 'a"b\\c\nd']]),
};

function render(source: string, s: TemplateScope = scope(), c = ctx): string {
  const t = compileTemplate(source, s);
  if (!t.ok) throw new Error(t.message);
  const r = renderTemplate(t.value, c);
  if (!r.ok) throw new Error(r.message);
  return r.value;
}

describe('compileTemplate and renderTemplate', () => {
  it.each([
    ['plain text', 'plain text'],
    ['', ''],
    ['{{ params.host }}', 'node-1'],
    ['{{params.model}}@{{ target }}', 'llama@node-1'],
    ['vllm@{{ params.model }} {{ pool }} {{ run.id }} {{ run.url }}', 'vllm@llama pool-a 01RUN http://r/runs/01RUN'],
    ['}} {  { stay literal', '}} {  { stay literal'],
    ['up{instance="{{ labels.instance }}"}', 'up{instance="a\\"b\\\\c\\nd"}'],
    ['{{ labels.missing }}', ''],
  ])('renders %j as %j', (source, expected) => {
    expect(render(source)).toBe(expected);
  });

  it.each<[string, TemplateScope, RegExp]>([
    ['{{ params.host', scope(), /unclosed "\{\{" at offset 0/],
    ['a {{ b {{ params.host }}', scope(), /unknown reference "\{\{ b \{\{ params.host \}\}"/],
    ['{{ }}', scope(), /unknown reference/],
    ['{{ alert.labels }}', scope(), /unknown reference "\{\{ alert.labels \}\}"/],
    ['{{ params.Host }}', scope(), /unknown reference/],
    ['{{ params.port }}', scope(), /undeclared param "port" \(declared: host, model\)/],
    ['{{ params.port }}', scope(ALL, []), /\(declared: none\)/],
    ['{{ labels.instance }}', scope(['param', 'target']), /not allowed in a test; labels reach commands only through params/],
    ['{{ run.id }}', scope(['param']), /"\{\{ run.id \}\}" is not allowed in a test/],
  ])('refuses %j', (source, s, message) => {
    const t = compileTemplate(source, s);
    expect(t.ok).toBe(false);
    if (!t.ok) expect(t.message).toMatch(message);
  });

  it('refuses to render a reference to an absent optional param instead of printing ""', () => {
    const t = compileTemplate('--model={{ params.model }}', scope());
    if (!t.ok) throw new Error(t.message);
    const r = renderTemplate(t.value, { ...ctx, params: { host: 'node-1' } });
    expect(r).toEqual({ ok: false, message: '"{{ params.model }}" has no value' });
  });

  it('refuses to render a pool reference when the run has no pool', () => {
    const t = compileTemplate('{{ pool }}', scope());
    if (!t.ok) throw new Error(t.message);
    expect(renderTemplate(t.value, { ...ctx, pool: null }).ok).toBe(false);
  });

  it('does not read params through the prototype', () => {
    const t = compileTemplate('{{ params.constructor }}', scope(ALL, ['constructor']));
    if (!t.ok) throw new Error(t.message);
    expect(renderTemplate(t.value, { params: {} }).ok).toBe(false);
  });
});
