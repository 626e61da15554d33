/**
 * The gateway and the load generator as the rehearsal runs them: compiled programs (npm run
 * build:demo) started on a fleet.json, and the config they read from it.
 */
import { afterEach, describe, expect, it } from '@jest/globals';
import { execa } from 'execa';
import fs from 'node:fs';
import path from 'node:path';
import { gatewayConfigFromFleet } from '../../deploy/demo/fleet/gateway-config.js';
import { gatewayEvents, gatewayReplicas, startGateway, type GatewayHandle } from '../../deploy/demo/fleet/gateway-client.js';
import { parseFleetConfig } from '../../deploy/demo/fleet/fleet-config.js';
import { defaultChildEnv } from '../support/child.js';
import { freePort } from '../support/free-port.js';
import { REPO_ROOT } from '../support/service.js';
import { makeTempDir } from '../support/temp-dir.js';
import { startFakeEngine, until, type FakeEngine } from './fake-engine.js';

let engine: FakeEngine | undefined;
let gateway: GatewayHandle | undefined;

afterEach(async () => {
  await gateway?.stop();
  await engine?.close();
  gateway = undefined;
  engine = undefined;
});

function fleetJson(enginePort: number, gatewayPort: number, gatewaySection: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    stateDir: '/tmp/unused',
    controlPort: 1,
    hosts: [{ name: 'gpu-1', ip: '127.0.0.1', dcgmPort: 2, gpus: 2 }],
    models: [{ name: 'llama-3-8b', version: '0.11.0', loadSeconds: 0, tokensPerSecond: 50, maxNumSeqs: 8, gpuMemoryUtilization: 0.9, replicas: [{ host: 'gpu-1', gpu: 1, port: enginePort }] }],
    gateway: { port: gatewayPort, checkEvery: '100ms', canaryEvery: '200ms', ttftTimeout: '1s', retries: 1, breaker: { failures: 2, openFor: '2s' }, ...gatewaySection },
  };
}

describe('the gateway config', () => {
  it('maps each replica to its host\'s IP and resolves Prometheus durations, with the README\'s defaults for what is left out', () => {
    const full = gatewayConfigFromFleet(parseFleetConfig(JSON.stringify(fleetJson(8000, 9000))));
    expect([full.settings, full.models.get('llama-3-8b')]).toEqual([
      { host: '127.0.0.1', port: 9000, checkEveryMs: 100, canaryEveryMs: 200, ttftTimeoutMs: 1000, retries: 1, breaker: { failures: 2, openForMs: 2000 } },
      [{ model: 'llama-3-8b', ip: '127.0.0.1', port: 8000, hostName: 'gpu-1', gpu: 1, maxNumSeqs: 8 }],
    ]);
    const fleet = fleetJson(8000, 9000);
    fleet.gateway = { port: 9000 };
    expect(gatewayConfigFromFleet(parseFleetConfig(JSON.stringify(fleet))).settings).toEqual({ host: '127.0.0.1', port: 9000, checkEveryMs: 500, canaryEveryMs: 1000, ttftTimeoutMs: 2000, retries: 2, breaker: { failures: 3, openForMs: 3000 } });
    expect(() => gatewayConfigFromFleet(parseFleetConfig(JSON.stringify(fleetJson(8000, 9000, { ttftTimeout: '2 seconds' }))))).toThrow(/gateway\.ttftTimeout/);
  });
});

describe('the gateway process', () => {
  it('starts on fleet.json, prints gateway ready, routes to the replica and stops on SIGTERM', async () => {
    engine = await startFakeEngine();
    const dir = makeTempDir('gateway-process');
    const file = path.join(dir, 'fleet.json');
    const port = await freePort();
    fs.writeFileSync(file, JSON.stringify(fleetJson(engine.port, port)));
    gateway = await startGateway(file);
    expect(gateway.url).toBe(`http://127.0.0.1:${port}`);
    expect(gateway.output()).toContain('gateway ready');
    await until('the replica up with a canary answered', async () => (await gatewayReplicas(gateway?.url ?? '')).every((r) => r.up && r.canary));
    const [replica] = await gatewayReplicas(gateway.url);
    expect([replica?.replica, replica?.host, replica?.gpu, replica?.version, replica?.breaker]).toEqual([engine.address, '127.0.0.1', 1, '0.11.0', 'closed']);

    const load = await execa('node', [path.join(REPO_ROOT, 'build/demo/deploy/demo/fleet/load.js'), '--gateway', gateway.url, '--model', 'llama-3-8b', '--rate', '20', '--seconds', '2'], { env: defaultChildEnv(), extendEnv: false, reject: false, timeout: 15_000 });
    expect(load.exitCode).toBe(0);
    const summary = JSON.parse(load.stdout) as Record<string, unknown>;
    expect(Object.keys(summary).sort()).toEqual(['failures', 'fallbacks', 'p50Ms', 'p99Ms', 'requests']);
    // 20/s for 2 s: about 40, never more than the schedule allows. Only requests answered before the stop count, and a
    // busy 2-core machine (the whole suite running) answered 2 of 10 in 0.5 s and under 5 of 40 in 2 s: the floor only
    // says that the load ran through the gateway and was answered.
    expect([Number(summary.requests) >= 1 && Number(summary.requests) <= 42, summary.failures, summary.fallbacks]).toEqual([true, 0, 0]);
    expect((await gatewayEvents(gateway.url)).map((e) => e.kind)).toEqual(['replica-ready', 'replica-version']);
    expect(gateway.output()).toContain('"kind":"replica-ready"');

    const handle = gateway;
    gateway = undefined;
    await handle.stop(2_000);
    await expect(fetch(`${handle.url}/health`)).rejects.toThrow();
  });

  it('exits with the config error and never prints gateway ready when fleet.json is wrong', async () => {
    const dir = makeTempDir('gateway-process');
    const file = path.join(dir, 'fleet.json');
    fs.writeFileSync(file, JSON.stringify(fleetJson(8000, 9000, { retries: -1 })));
    await expect(startGateway(file)).rejects.toThrow(/exited before it was ready[\s\S]*gateway\.retries/);
  });
});
