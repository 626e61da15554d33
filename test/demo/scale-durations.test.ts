import { describe, expect, it } from '@jest/globals';
import YAML from 'yaml';
import { scaleDuration, scalePromql, scaleRuleDurations } from '../../deploy/demo/scale-durations.js';

describe('scaleDuration', () => {
  it.each([
    ['1m', 0.1, '6s'],
    ['2m', 0.1, '12s'],
    ['5m', 0.1, '30s'],
    ['1h', 0.1, '6m'],
    ['1h10m', 0.1, '7m'],
    ['1d', 0.1, '2h24m'],
    ['3d', 0.1, '7h12m'],
    ['1w', 0.1, '16h48m'],
    ['15s', 0.1, '2s'], // 1.5s rounds to 2s
    ['10s', 0.1, '2s'], // 1s, raised to the floor
    ['1500ms', 1, '2s'], // whole seconds only
    ['30s', 2, '1m'],
    ['0s', 0.1, '0s'], // zero stays zero, not the floor
    ['banana', 0.1, 'banana'],
  ])('scales %s by %s to %s', (text, factor, expected) => {
    expect(scaleDuration(text, factor)).toBe(expected);
  });

  it('honours another floor', () => {
    expect(scaleDuration('10s', 0.1, 5)).toBe('5s');
    expect(scaleDuration('10s', 0.1, 1)).toBe('1s');
  });
});

describe('scalePromql', () => {
  it.each([
    ['rate(vllm:generation_tokens_total[2m]) == 0', 'rate(vllm:generation_tokens_total[12s]) == 0'],
    ['avg_over_time(x[1h]) and x offset 1h', 'avg_over_time(x[6m]) and x offset 6m'],
    ['(x offset 1d + x offset 2d + x offset 3d) / 3', '(x offset 2h24m + x offset 4h48m + x offset 7h12m) / 3'],
    ['max_over_time(rate(x[5m])[1h:1m])', 'max_over_time(rate(x[30s])[6m:6s])'],
    ['max_over_time(rate(x[5m])[1h:])', 'max_over_time(rate(x[30s])[6m:])'],
    ['x offset -5m', 'x offset -30s'],
    ['predict_linear(r[2m], 600) >= 1', 'predict_linear(r[12s], 600) >= 1'],
    ['x{le="+Inf"} > 0.5', 'x{le="+Inf"} > 0.5'],
  ])('%s -> %s', (expr, expected) => {
    expect(scalePromql(expr, 0.1)).toBe(expected);
  });
});

describe('scaleRuleDurations', () => {
  const RULES = [
    'groups:',
    '  - name: g',
    '    interval: 30s',
    '    rules:',
    '      # a comment with rate(x[5m]) stays as written',
    '      - record: r',
    '        expr: sum(rate(x[5m]))',
    '      - alert: A',
    '        expr: |',
    '          r > 1',
    '          and r offset 1d > 0',
    '        for: 10m',
    '        labels: { severity: warning, runbook: llm-queue-backlog }',
    '      - alert: B',
    "        expr: 'up == 0'",
    "        for: '1m'",
    '',
  ].join('\n');

  it('scales for:, the group interval and every range and offset of every expr, and nothing else', () => {
    const scaled = scaleRuleDurations(RULES, 0.1);
    const doc = YAML.parse(scaled) as { groups: { interval: string; rules: Record<string, unknown>[] }[] };
    const group = doc.groups[0];
    expect(group?.interval).toBe('3s');
    expect(group?.rules).toEqual([
      { record: 'r', expr: 'sum(rate(x[30s]))' },
      { alert: 'A', expr: 'r > 1\nand r offset 2h24m > 0\n', for: '1m', labels: { severity: 'warning', runbook: 'llm-queue-backlog' } },
      { alert: 'B', expr: 'up == 0', for: '6s' },
    ]);
    expect(scaled).toContain('# a comment with rate(x[5m]) stays as written');
  });

  it('leaves a rule file as it is at factor 1', () => {
    expect(YAML.parse(scaleRuleDurations(RULES, 1))).toEqual(YAML.parse(RULES));
  });

  it('refuses a file that is not YAML', () => {
    expect(() => scaleRuleDurations('groups: [', 0.1)).toThrow();
  });
});
