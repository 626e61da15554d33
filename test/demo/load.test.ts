/** The load generator: open-loop traffic, one record per request, the summary's counting and healthySince. */
import { afterEach, describe, expect, it } from '@jest/globals';
import http from 'node:http';
import { healthySince, startLoad, summarize, type LoadRecord } from '../../deploy/demo/fleet/load.js';
import { listenOnLoopback, type Listening } from '../support/loopback-server.js';

let server: Listening | undefined;

afterEach(async () => {
  await server?.close();
  server = undefined;
});

/** A stand-in gateway answering request N with answers[N % length]: a status, the fallback, or never. */
async function fakeGateway(answers: readonly ('ok' | 'error' | 'fallback' | 'hang')[], delayMs = 10): Promise<{ url: string; bodies: Record<string, unknown>[]; headers: http.IncomingHttpHeaders[] }> {
  const bodies: Record<string, unknown>[] = [];
  const headers: http.IncomingHttpHeaders[] = [];
  let n = 0;
  server = await listenOnLoopback(
    http.createServer((req, res) => {
      let raw = '';
      req.on('data', (c: Buffer) => (raw += c.toString('utf8')));
      req.on('end', () => {
        bodies.push(JSON.parse(raw) as Record<string, unknown>);
        headers.push(req.headers);
        const answer = answers[n++ % answers.length];
        if (answer === 'hang') return;
        setTimeout(() => {
          if (answer === 'error') return void res.writeHead(502, { 'content-type': 'application/json' }).end('{"error":{"message":"bad gateway"}}');
          const extra = answer === 'fallback' ? { 'x-gateway-fallback': 'degraded' } : { 'x-gateway-replica': '127.0.10.1:8000' };
          res.writeHead(200, { 'content-type': 'application/json', ...extra }).end(JSON.stringify({ choices: [{ text: 'hi' }], ...(answer === 'fallback' ? { fallback: true } : {}) }));
        }, delayMs);
      });
    }),
  );
  return { url: `http://127.0.0.1:${server.port}`, bodies, headers };
}

const record = (sentAt: number, good: boolean, latencyMs = 50): LoadRecord => ({ sentAt, endedAt: sentAt + latencyMs, status: good ? 200 : 502, ok: good, fallback: false, latencyMs });

describe('the load generator', () => {
  it('sends small completions at the rate asked whether or not earlier ones answered, and records every one', async () => {
    const gw = await fakeGateway(['ok'], 150);
    const started = Date.now();
    const load = startLoad({ gatewayUrl: gw.url, model: 'llama-3-8b', ratePerSecond: 50, timeoutMs: 2_000, sloMs: 500, priority: 'batch' });
    await new Promise((r) => setTimeout(r, 500));
    expect(load.inflight()).toBeGreaterThan(3); // open loop: slow answers do not slow the sending
    await load.stop();
    const records = load.records();
    expect(records.length).toBeGreaterThanOrEqual(22);
    expect(records.length).toBeLessThanOrEqual(28);
    expect(records.every((r) => r.ok && r.status === 200 && !r.fallback && r.latencyMs >= 150 && r.sentAt >= started && r.replica === '127.0.10.1:8000')).toBe(true);
    expect([gw.bodies[0]?.model, typeof gw.bodies[0]?.max_tokens, gw.headers[0]?.['x-priority']]).toEqual(['llama-3-8b', 'number', 'batch']);
  });

  it('spaces requests by exponential gaps of the same mean when asked for Poisson arrivals', async () => {
    const gw = await fakeGateway(['ok']);
    const load = startLoad({ gatewayUrl: gw.url, model: 'm', ratePerSecond: 100, timeoutMs: 2_000, sloMs: 500, arrival: 'poisson' });
    await new Promise((r) => setTimeout(r, 600));
    await load.stop();
    const sent = load.records().map((r) => r.sentAt);
    const gaps = sent.slice(1).map((t, i) => t - (sent[i] ?? t));
    expect([sent.length >= 30 && sent.length <= 100, new Set(gaps).size > 3]).toEqual([true, true]);
  });

  it('counts non-2xx answers, network errors and timeouts as failures, and fallbacks apart from them', async () => {
    const gw = await fakeGateway(['ok', 'error', 'fallback', 'hang']);
    const load = startLoad({ gatewayUrl: gw.url, model: 'm', ratePerSecond: 40, timeoutMs: 200, sloMs: 500 });
    await new Promise((r) => setTimeout(r, 390));
    await load.stop();
    const all = load.records();
    expect(all.length).toBeGreaterThanOrEqual(12);
    const s = load.summary();
    const count = (p: (r: LoadRecord) => boolean): number => all.filter(p).length;
    // one in four of each answer, in the order they were sent
    expect([s.requests, s.failures, s.fallbacks]).toEqual([all.length, count((r) => r.status === 502 || r.status === 0), count((r) => r.status === 200 && r.fallback)]);
    expect([count((r) => r.status === 502) >= 3, count((r) => r.status === 0) >= 3, s.fallbacks >= 3]).toEqual([true, true, true]);
    expect(all.filter((r) => r.fallback).every((r) => r.ok)).toBe(true);
    expect(all.filter((r) => r.status === 0).every((r) => r.error?.includes('no answer within 200 ms'))).toBe(true);
    expect(s.p50Ms).not.toBeNull();
    const gone = startLoad({ gatewayUrl: 'http://127.0.0.1:1', model: 'm', ratePerSecond: 20, timeoutMs: 500, sloMs: 500 });
    await new Promise((r) => setTimeout(r, 120));
    await gone.stop();
    expect(gone.summary().failures).toBe(gone.records().length);
    expect(gone.records()[0]?.error).toBeTruthy();
  });

  it('summarises only the requests sent in the window, with latency percentiles of the served ones', () => {
    const records = [record(0, true, 10), record(100, true, 30), record(200, false, 5), record(300, true, 20), record(400, true, 1000)];
    expect(summarize(records, 50, 350)).toEqual({ requests: 3, failures: 1, fallbacks: 0, p50Ms: 20, p99Ms: 30 });
    expect(summarize([], 0, 10)).toEqual({ requests: 0, failures: 0, fallbacks: 0, p50Ms: null, p99Ms: null });
  });

  it('finds the earliest time after which K requests in a row were ok, not the fallback and within the SLO', () => {
    const slow = record(300, true, 5_000);
    const fallback: LoadRecord = { ...record(500, true), fallback: true };
    const records = [record(0, true), record(100, true), record(200, false), slow, record(400, true), fallback, record(600, true), record(700, true), record(800, true)];
    expect(healthySince(records, 0, 2, 2_000)).toBe(0);
    expect(healthySince(records, 50, 2, 2_000)).toBe(600);
    expect(healthySince(records, 50, 3, 2_000)).toBe(600);
    expect(healthySince(records, 50, 4, 2_000)).toBeNull();
    expect(healthySince([...records, { sentAt: 650, pending: true }], 50, 2, 2_000)).toBe(700);
  });

  it('answers healthySince from its own records once the service is good again', async () => {
    const gw = await fakeGateway(['error', 'error', 'error', 'ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'ok']);
    const from = Date.now();
    const load = startLoad({ gatewayUrl: gw.url, model: 'm', ratePerSecond: 50, timeoutMs: 500, sloMs: 500 });
    await new Promise((r) => setTimeout(r, 290));
    await load.stop();
    const fourth = load.records()[3]?.sentAt;
    expect(load.healthySince(from, { window: 5 })).toBe(fourth);
    expect(load.healthySince(from, { window: 50 })).toBeNull();
  });
});
