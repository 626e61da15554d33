import { Writable } from 'node:stream';
import { describe, expect, it } from '@jest/globals';
import { Registry } from 'prom-client';
import { createLogger } from '../observability/logger.js';
import { createMetrics } from '../observability/metrics.js';
import { createRefusalLog } from './refusal-log.js';

function harness() {
  const lines: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString('utf8').split('\n')) if (l !== '') lines.push(JSON.parse(l) as Record<string, unknown>);
      done();
    },
  });
  let now = 1_000_000;
  const metrics = createMetrics(new Registry());
  const log = createRefusalLog(createLogger({ destination }), metrics, { windowMs: 10_000, now: () => now });
  return { lines, metrics, log, advance: (ms: number) => (now += ms) };
}

describe('the refusal log', () => {
  it('writes one warning per code per window, the next one saying how many were left out', async () => {
    const h = harness();
    for (let i = 0; i < 50; i++) h.log.refused('UNAUTHORIZED', { path: '/api/v1/alerts' }, 'request refused');
    h.log.refused('CROSS_SITE', { path: '/-/reload' }, 'request refused');
    h.advance(9_999);
    h.log.refused('UNAUTHORIZED', { path: '/api/v1/alerts' }, 'request refused');
    h.advance(1);
    h.log.refused('UNAUTHORIZED', { path: '/api/v1/alerts' }, 'request refused');
    expect(h.lines.map((l) => [l.code, l.suppressed])).toEqual([
      ['UNAUTHORIZED', 0],
      ['CROSS_SITE', 0],
      ['UNAUTHORIZED', 50],
    ]);
    const counted = (await h.metrics.httpRefusals.get()).values.find((v) => v.labels.code === 'UNAUTHORIZED')?.value;
    expect(counted).toBe(52);
  });

  it('counts connections dropped at the cap', async () => {
    const h = harness();
    h.log.dropped();
    h.log.dropped();
    expect(h.lines).toHaveLength(1);
    expect((await h.metrics.httpRefusals.get()).values.find((v) => v.labels.code === 'MAX_CONNECTIONS')?.value).toBe(2);
  });
});
