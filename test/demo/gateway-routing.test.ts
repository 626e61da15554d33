/** The gateway's routing: ready and undrained replicas only, least in flight first, pinned requests, client errors passed back. */
import { describe, expect, it } from '@jest/globals';
import { complete, until, useFakeFleet, type FakeEngine } from './fake-engine.js';

const f = useFakeFleet();
const fleet = f.fleet;

describe('routing', () => {
  it('answers a completion with the body of the replica that served it and names that replica', async () => {
    const gw = await fleet(1);
    const answer = await complete(gw.url);
    expect([answer.status, answer.replica, answer.fallback, answer.body.object]).toEqual([200, f.engines[0]?.address, null, 'text_completion']);
    expect(f.engines[0]?.clientRequests).toBe(1);
  });

  it('never routes to a drained replica or to one whose health check fails, and routes again once it is back', async () => {
    const gw = await fleet(3);
    const [a, b, c] = f.engines as [FakeEngine, FakeEngine, FakeEngine];
    expect((await fetch(`${gw.url}/admin/replicas/127.0.0.1/${a.port}/drain`, { method: 'POST' })).status).toBe(200);
    b.set({ health: 503 });
    await until('b unready', () => gw.state.replicas[1]?.up === false);
    const served = new Set<string | null>();
    for (let i = 0; i < 9; i++) served.add((await complete(gw.url)).replica);
    expect([...served]).toEqual([c.address]);
    await fetch(`${gw.url}/admin/replicas/127.0.0.1/${a.port}/undrain`, { method: 'POST' });
    b.set({ health: 200 });
    await until('b ready', () => gw.state.replicas[1]?.up === true);
    const again = new Set<string | null>();
    for (let i = 0; i < 9; i++) again.add((await complete(gw.url)).replica);
    expect([...again].sort()).toEqual([a.address, b.address, c.address].sort());
  });

  it('sends a request to the replica with the fewest requests in flight, not merely the next in turn', async () => {
    const gw = await fleet(2);
    for (const e of f.engines) e.set({ delayMs: 250 }); // under ttftTimeout (300 ms): slow, not failed
    const first = complete(gw.url);
    await until('one request in flight', () => gw.state.replicas.some((r) => r.inflight === 1));
    const busy = gw.state.replicas.find((r) => r.inflight === 1)?.address;
    const free = f.engines.find((e) => e.address !== busy);
    free?.set({ delayMs: 0 });
    // Taking turns would send the third to the busy replica; least in flight sends it to the free one.
    const second = await complete(gw.url);
    const third = await complete(gw.url);
    expect([(await first).replica, second.replica, third.replica]).toEqual([busy, free?.address, free?.address]);
  });

  it('sends a pinned request to its replica even when drained, and never anywhere else', async () => {
    const gw = await fleet(2);
    const [a, b] = f.engines as [FakeEngine, FakeEngine];
    await fetch(`${gw.url}/admin/replicas/127.0.0.1/${a.port}/drain`, { method: 'POST' });
    const warm = await complete(gw.url, { 'x-gateway-replica': a.address });
    expect([warm.status, warm.replica]).toEqual([200, a.address]);
    a.set({ completion: 'fail' });
    const failed = await complete(gw.url, { 'x-gateway-replica': a.address });
    expect([failed.status, failed.fallback, b.clientRequests]).toEqual([502, null, 0]);
    a.set({ completion: 'hang' });
    const hung = await complete(gw.url, { 'x-gateway-replica': a.address });
    expect([hung.status, hung.ms >= 300, b.clientRequests]).toEqual([502, true, 0]);
    expect((await complete(gw.url, { 'x-gateway-replica': '127.0.0.1:1' })).status).toBe(404);
  });

  it('passes a client error back from the replica without retrying it elsewhere', async () => {
    const gw = await fleet(2);
    for (const e of f.engines) e.set({ completion: 'bad' });
    const answer = await complete(gw.url);
    expect([answer.status, f.engines.reduce((n, e) => n + e.clientRequests, 0)]).toEqual([400, 1]);
    expect((await complete(gw.url, {}, { model: 'no-such-model' })).status).toBe(404);
  });

  it('streams a completion, retrying elsewhere a stream whose first token does not come in time', async () => {
    const gw = await fleet(2);
    const [a, b] = f.engines as [FakeEngine, FakeEngine];
    a.set({ completion: 'hang' });
    const texts: string[] = [];
    for (let i = 0; i < 2; i++) {
      const res = await fetch(`${gw.url}/v1/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'llama-3-8b', prompt: 'hi', stream: true }) });
      texts.push(`${res.status} ${res.headers.get('x-gateway-replica')} ${(await res.text()).includes('[DONE]')}`);
    }
    expect(texts).toEqual([`200 ${b.address} true`, `200 ${b.address} true`]);
    expect(a.clientRequests).toBeGreaterThanOrEqual(1);
    await until('the hung stream aborted', () => a.aborted >= 1);
  });
});
