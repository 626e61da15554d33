/** The gateway's admin API: batch admission, idle and ready probes, GPU drains, versions, the event log and /metrics. */
import { describe, expect, it } from '@jest/globals';
import { allRoutable, complete, gatewayFor, startFakeEngine, until, useFakeFleet, type FakeEngine } from './fake-engine.js';

const f = useFakeFleet();
const fleet = f.fleet;

const post = (url: string, body?: unknown): Promise<Response> => fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: body === undefined ? '' : JSON.stringify(body) });
const status = async (url: string): Promise<number> => (await fetch(url)).status;
const BATCH = { 'x-priority': 'batch' };

describe('batch admission', () => {
  it('answers 429 to batch requests beyond the limit in flight, never to interactive ones, until the limit is lifted', async () => {
    const gw = await fleet(1);
    f.engines[0]?.set({ delayMs: 200 });
    const set = await post(`${gw.url}/admin/models/llama-3-8b/admission`, { batchInflight: 1, ttl: '30m' });
    expect([set.status, ((await set.json()) as { batchInflight: number }).batchInflight]).toEqual([200, 1]);
    const limited = await Promise.all([complete(gw.url, BATCH), complete(gw.url, BATCH), complete(gw.url), complete(gw.url)]);
    expect(limited.map((a) => a.status).sort()).toEqual([200, 200, 200, 429]);
    const lifted = await fetch(`${gw.url}/admin/models/llama-3-8b/admission`, { method: 'DELETE' });
    expect([lifted.status, await lifted.json()]).toEqual([200, { model: 'llama-3-8b', lifted: true }]);
    const free = await Promise.all([complete(gw.url, BATCH), complete(gw.url, BATCH)]);
    expect(free.map((a) => a.status)).toEqual([200, 200]);
    expect(((await (await fetch(`${gw.url}/admin/models/llama-3-8b/admission`, { method: 'DELETE' })).json()) as { lifted: boolean }).lifted).toBe(false);
  });

  it('lifts a limit by itself when its ttl runs out', async () => {
    const gw = await fleet(1);
    await post(`${gw.url}/admin/models/llama-3-8b/admission`, { batchInflight: 0, ttl: '300ms' });
    expect((await complete(gw.url, BATCH)).status).toBe(429);
    await until('the limit expired', () => gw.state.events.list().some((e) => e.kind === 'admission-lifted'), 2_000);
    expect((await complete(gw.url, BATCH)).status).toBe(200);
    expect(gw.state.events.list().find((e) => e.kind === 'admission-lifted')?.detail).toEqual({ reason: 'expired' });
  });

  it('refuses a limit that is not a whole number or a ttl that is not a duration, and an unknown model', async () => {
    const gw = await fleet(1);
    const codes = [
      (await post(`${gw.url}/admin/models/llama-3-8b/admission`, { batchInflight: -1 })).status,
      (await post(`${gw.url}/admin/models/llama-3-8b/admission`, { batchInflight: 2, ttl: 'soon' })).status,
      (await post(`${gw.url}/admin/models/nope/admission`, { batchInflight: 2 })).status,
    ];
    expect(codes).toEqual([400, 400, 404]);
  });
});

describe('idle and ready probes', () => {
  it('answers idle only when no client request is in flight on the replica or its GPU', async () => {
    const gw = await fleet(2);
    const [a] = f.engines as [FakeEngine, FakeEngine];
    a.set({ delayMs: 300 });
    const pending = complete(gw.url, { 'x-gateway-replica': a.address });
    await until('in flight', () => gw.state.replicas[0]?.inflight === 1);
    const busy = await fetch(`${gw.url}/admin/replicas/127.0.0.1/${a.port}/idle`);
    expect([busy.status, ((await busy.json()) as { inflight: number }).inflight]).toEqual([409, 1]);
    expect([await status(`${gw.url}/admin/gpus/127.0.0.1/0/idle`), await status(`${gw.url}/admin/gpus/gpu-2/1/idle`)]).toEqual([409, 200]);
    await pending;
    expect([await status(`${gw.url}/admin/replicas/127.0.0.1/${a.port}/idle`), await status(`${gw.url}/admin/gpus/127.0.0.1/0/idle`)]).toEqual([200, 200]);
  });

  it('answers ready only when health is 200 and a canary completion answered with tokens since it came back', async () => {
    const gw = await fleet(1);
    const [a] = f.engines as [FakeEngine];
    const ready = `${gw.url}/admin/replicas/127.0.0.1/${a.port}/ready`;
    expect(await status(ready)).toBe(200);
    a.set({ completion: 'empty' });
    await until('the canary failing', () => gw.state.replicas[0]?.canary === false);
    expect(await status(ready)).toBe(409);
    a.set({ completion: 'ok', health: 503 });
    await until('unready', () => gw.state.replicas[0]?.up === false);
    expect([await status(ready), await status(`${gw.url}/admin/gpus/gpu-1/0/ready`)]).toEqual([409, 409]);
    a.set({ health: 200 });
    await until('ready again', async () => (await status(ready)) === 200, 2_000);
    expect(gw.state.replicas[0]?.canaryAt).not.toBeNull();
  });
});

describe('a restart between two health checks', () => {
  it('checks health afresh when asked whether a replica is ready, so the canary from before a restart does not count', async () => {
    f.engines = [await startFakeEngine()];
    f.gateway = await gatewayFor(f.engines, { checkEveryMs: 60_000 });
    await allRoutable(f.gateway);
    const [a] = f.engines as [FakeEngine];
    const ready = `${f.gateway.url}/admin/replicas/127.0.0.1/${a.port}/ready`;
    await a.close();
    f.engines = [await startFakeEngine({ health: 503 }, a.port)];
    expect([await status(ready), f.gateway.state.replicas[0]?.canary]).toEqual([409, false]);
    f.engines[0]?.set({ health: 200 });
    await until('ready after a fresh canary', async () => (await status(ready)) === 200, 2_000);
  });

  it('takes a replica out of routing as soon as a request finds nothing listening there', async () => {
    f.engines = [await startFakeEngine(), await startFakeEngine()];
    f.gateway = await gatewayFor(f.engines, { checkEveryMs: 60_000 });
    await allRoutable(f.gateway);
    const [a, b] = f.engines as [FakeEngine, FakeEngine];
    await a.close();
    const answers = [await complete(f.gateway.url), await complete(f.gateway.url)];
    expect([answers.map((x) => [x.status, x.replica]), f.gateway.state.replicas[0]?.up]).toEqual([[[200, b.address], [200, b.address]], false]);
    expect(f.gateway.state.events.list().find((e) => e.kind === 'replica-unready')?.detail).toMatchObject({ seenBy: 'request' });
  });
});

describe('drains, versions and the event log', () => {
  it('drains and undrains every replica on a GPU, by IP or host name, and 404s an unknown one', async () => {
    const gw = await fleet(2);
    const drained = await post(`${gw.url}/admin/gpus/127.0.0.1/1/drain`);
    expect([drained.status, ((await drained.json()) as { replicas: unknown[] }).replicas]).toEqual([200, [{ replica: f.engines[1]?.address, drained: true }]]);
    expect(gw.state.replicas.map((r) => r.drained)).toEqual([false, true]);
    await post(`${gw.url}/admin/gpus/gpu-2/1/undrain`);
    expect(gw.state.replicas.map((r) => r.drained)).toEqual([false, false]);
    expect([(await post(`${gw.url}/admin/gpus/127.0.0.1/7/drain`)).status, (await post(`${gw.url}/admin/replicas/127.0.0.1/1/drain`)).status]).toEqual([404, 404]);
  });

  it('reads the version of a replica again when it becomes ready after a restart', async () => {
    const gw = await fleet(1);
    const [a] = f.engines as [FakeEngine];
    expect(gw.state.replicas[0]?.version).toBe('0.11.0');
    a.set({ health: 503, version: '0.10.2' });
    await until('unready', () => gw.state.replicas[0]?.up === false);
    a.set({ health: 200 });
    await until('the new version read', () => gw.state.replicas[0]?.version === '0.10.2');
    const replicas = (await (await fetch(`${gw.url}/admin/replicas`)).json()) as { version: string; up: boolean; replica: string }[];
    expect(replicas.map((r) => [r.replica, r.version, r.up])).toEqual([[a.address, '0.10.2', true]]);
  });

  it('records drains, readiness, fallbacks and admission in the order they happened, with millisecond timestamps', async () => {
    const gw = await fleet(1);
    const [a] = f.engines as [FakeEngine];
    await post(`${gw.url}/admin/replicas/127.0.0.1/${a.port}/drain`);
    await post(`${gw.url}/admin/replicas/127.0.0.1/${a.port}/drain`); // no change, no event
    await complete(gw.url);
    await post(`${gw.url}/admin/replicas/127.0.0.1/${a.port}/undrain`);
    await complete(gw.url);
    await post(`${gw.url}/admin/models/llama-3-8b/admission`, { batchInflight: 2 });
    const events = (await (await fetch(`${gw.url}/admin/events`)).json()) as { seq: number; at: string; kind: string }[];
    expect(events.map((e) => e.kind)).toEqual(['replica-ready', 'replica-version', 'drain', 'fallback-start', 'undrain', 'fallback-end', 'admission-set']);
    for (const e of events) expect(e.at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(events.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    const later = (await (await fetch(`${gw.url}/admin/events?after=5`)).json()) as { kind: string }[];
    expect(later.map((e) => e.kind)).toEqual(['fallback-end', 'admission-set']);
  });
});

describe('metrics', () => {
  it('exports every documented series with model, replica, host and GPU labels', async () => {
    const gw = await fleet(2);
    await complete(gw.url);
    await post(`${gw.url}/admin/models/llama-3-8b/admission`, { batchInflight: 3 });
    const text = await (await fetch(`${gw.url}/metrics`)).text();
    const [a] = f.engines as [FakeEngine, FakeEngine];
    const labels = `{model_name="llama-3-8b",replica="${a.address}",host="127.0.0.1",gpu="0"}`;
    for (const series of ['up', 'drained', 'breaker_open', 'inflight', 'canary_success']) expect(text).toContain(`llm_gateway_replica_${series}${labels}`);
    expect(text).toContain(`llm_gateway_replica_up${labels} 1`);
    expect(text).toContain(`llm_gateway_replica_canary_success${labels} 1`);
    expect(text).toContain(`llm_gateway_replica_info{model_name="llama-3-8b",replica="${a.address}",host="127.0.0.1",gpu="0",vllm_version="0.11.0"} 1`);
    expect(text).toContain('llm_gateway_requests_total{model_name="llama-3-8b",outcome="ok"} 1');
    expect(text).toContain('llm_gateway_requests_total{model_name="llama-3-8b",outcome="fallback"} 0');
    expect(text).toContain('llm_gateway_model_ready_replicas{model_name="llama-3-8b"} 2');
    expect(text).toContain('llm_gateway_model_admission_batch_inflight{model_name="llama-3-8b"} 3');
  });
});
