/** What keeps clients from failing: retries on an error or a missed first token, the circuit breaker, the fallback. */
import { describe, expect, it } from '@jest/globals';
import type { Gateway } from '../../deploy/demo/fleet/gateway-server.js';
import { startLoad } from '../../deploy/demo/fleet/load.js';
import { allRoutable, complete, gatewayFor, startFakeEngine, until, useFakeFleet, type FakeEngine } from './fake-engine.js';

const f = useFakeFleet();
const fleet = f.fleet;

const kinds = (gw: Gateway, replica: string | null = null): string[] => gw.state.events.list().filter((e) => replica === null || e.replica === replica).map((e) => e.kind);

describe('retries', () => {
  it('retries a request that a replica fails on another one, so the client sees no failure', async () => {
    const gw = await fleet(2);
    const [a, b] = f.engines as [FakeEngine, FakeEngine];
    a.set({ completion: 'fail' });
    const answers = [await complete(gw.url), await complete(gw.url)];
    expect(answers.map((x) => [x.status, x.replica, x.fallback])).toEqual([[200, b.address, null], [200, b.address, null]]);
    expect(a.clientRequests).toBeGreaterThanOrEqual(1);
  });

  it('gives up on a replica whose answer misses ttftTimeout, aborts it and answers from another', async () => {
    const gw = await fleet(2);
    const [a, b] = f.engines as [FakeEngine, FakeEngine];
    a.set({ completion: 'hang' });
    const answer = await complete(gw.url);
    expect([answer.status, answer.replica, answer.ms >= 300, answer.ms < 2_000]).toEqual([200, b.address, true, true]);
    await until('the hung request aborted', () => a.aborted === 1);
  });
});

describe('the circuit breaker', () => {
  it('opens after consecutive failures, lets one probe through after openFor, and closes when it succeeds', async () => {
    const gw = await fleet(2);
    const [a] = f.engines as [FakeEngine, FakeEngine];
    const replica = gw.state.replicas[0];
    a.set({ completion: 'fail' });
    for (let i = 0; i < 8 && replica?.breaker.state !== 'open'; i++) await complete(gw.url);
    expect(replica?.breaker.state).toBe('open');
    const sent = a.clientRequests;
    for (let i = 0; i < 4; i++) expect((await complete(gw.url)).status).toBe(200);
    expect(a.clientRequests).toBe(sent);
    await until('half-open', () => replica?.breaker.state === 'half-open', 2_000);
    a.set({ completion: 'ok' });
    for (let i = 0; i < 4 && replica?.breaker.state !== 'closed'; i++) await complete(gw.url);
    expect(kinds(gw, a.address).filter((k) => k.startsWith('breaker'))).toEqual(['breaker-open', 'breaker-half-open', 'breaker-close']);
  });

  it('does not count a missed deadline against a replica it was queued on, behind as many requests as the engine runs at once', async () => {
    f.engines = await Promise.all([startFakeEngine(), startFakeEngine()]);
    f.gateway = await gatewayFor(f.engines, {}, 1);
    await allRoutable(f.gateway);
    const [a] = f.engines as [FakeEngine, FakeEngine];
    a.set({ completion: 'hang' });
    // six at once on a replica that runs one at a time: the first was due a token, the other five were queued
    const pinned = await Promise.all(Array.from({ length: 6 }, () => complete(f.gateway?.url ?? '', { 'x-gateway-replica': a.address })));
    expect([pinned.every((p) => p.status === 502), f.gateway.state.replicas[0]?.breaker.state]).toEqual([true, 'closed']);
    for (let i = 0; i < 2; i++) await complete(f.gateway.url, { 'x-gateway-replica': a.address });
    expect(f.gateway.state.replicas[0]?.breaker.state).toBe('open');
  });

  it('opens again when its half-open probe fails', async () => {
    const gw = await fleet(2);
    const [a] = f.engines as [FakeEngine, FakeEngine];
    a.set({ completion: 'fail' });
    for (let i = 0; i < 8 && gw.state.replicas[0]?.breaker.state !== 'open'; i++) await complete(gw.url);
    await until('half-open', () => gw.state.replicas[0]?.breaker.state === 'half-open', 2_000);
    for (let i = 0; i < 4 && gw.state.replicas[0]?.breaker.state === 'half-open'; i++) expect((await complete(gw.url)).status).toBe(200);
    expect(kinds(gw, a.address).filter((k) => k.startsWith('breaker'))).toEqual(['breaker-open', 'breaker-half-open', 'breaker-open']);
  });
});

describe('the fallback', () => {
  it('answers with the degraded fallback while no replica can serve, and records when it starts and ends', async () => {
    const gw = await fleet(2);
    for (const e of f.engines) await fetch(`${gw.url}/admin/replicas/127.0.0.1/${e.port}/drain`, { method: 'POST' });
    const degraded = await complete(gw.url);
    expect([degraded.status, degraded.fallback, degraded.body.fallback, f.engines[0]?.clientRequests]).toEqual([200, 'degraded', true, 0]);
    expect(JSON.stringify(degraded.body.choices)).toContain('degraded');
    await fetch(`${gw.url}/admin/replicas/127.0.0.1/${f.engines[1]?.port}/undrain`, { method: 'POST' });
    const served = await complete(gw.url);
    expect([served.status, served.fallback, served.body.fallback]).toEqual([200, null, undefined]);
    expect(kinds(gw).filter((k) => k.startsWith('fallback'))).toEqual(['fallback-start', 'fallback-end']);
  });

  it('answers with the fallback when every try failed, never with an error', async () => {
    const gw = await fleet(3);
    for (const e of f.engines) e.set({ completion: 'fail' });
    const answer = await complete(gw.url);
    expect([answer.status, answer.fallback, f.engines.map((e) => e.clientRequests)]).toEqual([200, 'degraded', [1, 1, 1]]);
  });
});

describe('a hung engine and its graceful restart under load', () => {
  it('keeps every client request from failing while one engine hangs, is drained, restarted and put back', async () => {
    const gw = await fleet(3);
    const [a] = f.engines as [FakeEngine, FakeEngine, FakeEngine];
    const load = startLoad({ gatewayUrl: gw.url, model: 'llama-3-8b', ratePerSecond: 40, timeoutMs: 5_000, sloMs: 250 });
    try {
      await new Promise((r) => setTimeout(r, 200));
      a.set({ completion: 'hang' });
      await until('the breaker of the hung replica open', () => gw.state.replicas[0]?.breaker.state === 'open', 5_000);
      await fetch(`${gw.url}/admin/replicas/127.0.0.1/${a.port}/drain`, { method: 'POST' });
      await until('the hung replica idle', async () => (await fetch(`${gw.url}/admin/replicas/127.0.0.1/${a.port}/idle`)).status === 200);
      await a.close();
      // Back on the same address, loading first (/health 503), as a restarted vLLM is.
      const restarted = await startFakeEngine({ health: 503 }, a.port);
      f.engines[0] = restarted;
      await until('the restarted replica seen loading', () => gw.state.replicas[0]?.up === false);
      restarted.set({ health: 200 });
      await until('the restarted replica ready', async () => (await fetch(`${gw.url}/admin/replicas/127.0.0.1/${a.port}/ready`)).status === 200, 5_000);
      await fetch(`${gw.url}/admin/replicas/127.0.0.1/${a.port}/undrain`, { method: 'POST' });
      const backAt = Date.now();
      await until('the restarted replica serving clients', () => (f.engines[0]?.clientRequests ?? 0) >= 3, 5_000);
      await until('healthy service', () => load.healthySince(backAt, { window: 10 }) !== null, 5_000);
    } finally {
      await load.stop();
    }
    const summary = load.summary();
    expect([summary.failures, summary.fallbacks, summary.requests > 40]).toEqual([0, 0, true]);
    const story = kinds(gw, a.address).filter((k) => ['breaker-open', 'drain', 'replica-unready', 'replica-ready', 'undrain'].includes(k));
    expect(story).toEqual(['replica-ready', 'breaker-open', 'drain', 'replica-unready', 'replica-ready', 'undrain']);
  });
});
