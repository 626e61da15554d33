import { describe, it, expect } from '@jest/globals';
import { labelSet } from '../core/alert.js';
import { firingAlertsQuery, promqlString, seriesMatchesAlert } from './alert-firing.js';

describe('promqlString', () => {
  it.each([
    ['plain', '"plain"'],
    ['a"b', '"a\\"b"'],
    ['back\\slash', '"back\\\\slash"'],
    ['two\nlines', '"two\\nlines"'],
    ['\\"\n', '"\\\\\\"\\n"'],
  ])('escapes %j as %s', (value, expected) => {
    expect(promqlString(value)).toBe(expected);
  });

  it('builds the ALERTS selector around the escaped alertname', () => {
    expect(firingAlertsQuery('Gpu"Oom')).toBe('ALERTS{alertname="Gpu\\"Oom", alertstate="firing"}');
  });
});

describe('seriesMatchesAlert', () => {
  const series = (metric: Record<string, string>) => ({ metric, timestamp: 1, value: '1' });
  const alert = labelSet(Object.entries({ alertname: 'A', instance: 'h:1', severity: 'page', cluster: 'eu' }));

  it.each([
    ['the series labels are a subset of the alert', { __name__: 'ALERTS', alertname: 'A', alertstate: 'firing', instance: 'h:1' }, true],
    ['only __name__ and alertstate besides', { __name__: 'ALERTS', alertstate: 'firing' }, true],
    ['a value differs', { alertname: 'A', instance: 'h:2' }, false],
    ['the series has a label the alert lacks', { alertname: 'A', gpu: '0' }, false],
    ['the label is an Object.prototype name', { alertname: 'A', toString: 'x' }, false],
  ])('when %s, answers %s', (_what, metric, expected) => {
    expect(seriesMatchesAlert(series(metric), alert)).toBe(expected);
  });
});
