import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { clearFaults, events, getState, gpuReset, injectFault, journal, startFleet, unitAction, type FleetHandle, type UnitView } from '../../deploy/demo/fleet/fleet-client.js';
import { makeTempDir, removeTempDir } from '../support/temp-dir.js';
import { sleep, waitFor } from '../support/wait-for.js';
import { ensureDemoBuild, onHost, writeFleet } from './demo-fleet.js';

let dir: string;
let fleet: FleetHandle;
let controlUrl: string;
let config: Awaited<ReturnType<typeof writeFleet>>['config'];
/** Stands in for the gateway: counts the completions a backlog's batch clients send it. */
let gateway: http.Server;
const batchRequests: string[] = [];
const MODEL = 'llama-3-8b';

const unit = async (host: string): Promise<UnitView> => (await getState(controlUrl)).units.find((u) => u.host === host) as UnitView;
const untilUnit = (host: string, what: string, ok: (u: UnitView) => boolean, timeoutMs = 10_000): Promise<UnitView> =>
  waitFor(async () => {
    const u = await unit(host);
    return ok(u) ? u : undefined;
  }, { description: `${host}: ${what}`, timeoutMs, intervalMs: 50 });
const engineUrl = (host: string): string => {
  const n = Number(host.slice(4));
  return `http://${config.hosts[n - 1]?.ip}:${config.models[0]?.replicas[n - 1]?.port}`;
};
const dcgm = async (host: string): Promise<string> => {
  const h = config.hosts.find((x) => x.name === host);
  return (await fetch(`http://${h?.ip}:${h?.dcgmPort}/metrics`)).text();
};
const journalText = async (host: string): Promise<string> => (await journal(controlUrl, host, `vllm@${MODEL}`)).map((e) => e.message).join('\n');
const generated = async (host: string): Promise<number> => Number(/^vllm:generation_tokens_total\{.*\} (\d+)$/m.exec(await (await fetch(`${engineUrl(host)}/metrics`)).text())?.[1]);
const running = async (host: string): Promise<number> => Number(/^vllm:num_requests_running\{.*\} (\d+)$/m.exec(await (await fetch(`${engineUrl(host)}/metrics`)).text())?.[1]);
const complete = (host: string, timeoutMs = 5000): Promise<Response> =>
  fetch(`${engineUrl(host)}/v1/completions`, { method: 'POST', body: JSON.stringify({ model: MODEL, prompt: 'hi', max_tokens: 4 }), signal: AbortSignal.timeout(timeoutMs) });
const ready = (host: string): Promise<UnitView> => untilUnit(host, 'loaded', (u) => u.state === 'active' && u.phase === 'ready');

beforeAll(async () => {
  await ensureDemoBuild();
  dir = makeTempDir('demo-faults');
  const written = await writeFleet(dir, { subnet: 22, hosts: 6, loadSeconds: 0.3, tokensPerSecond: 50 });
  ({ controlUrl, config } = written);
  gateway = http.createServer((req, res) => {
    if (req.method === 'POST' && req.url === '/v1/completions' && req.headers['x-priority'] === 'batch') batchRequests.push(String(req.headers['x-priority']));
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"choices":[{"text":"ok"}]}');
  });
  await new Promise<void>((resolve) => gateway.listen(0, '127.0.0.1', resolve));
  const address = gateway.address();
  const gatewayPort = typeof address === 'object' && address ? address.port : 0;
  fs.writeFileSync(written.file, JSON.stringify({ ...JSON.parse(fs.readFileSync(written.file, 'utf8')), gateway: { port: gatewayPort } }));
  fleet = await startFleet(written.file, { xidCountWindow: '1m', stopTimeout: '1s' });
}, 120_000);
afterEach(() => clearFaults(controlUrl));
afterAll(async () => {
  await fleet?.stop();
  await new Promise((resolve) => gateway?.close(resolve));
  removeTempDir(dir);
});

describe('each fault of the simulated fleet', () => {
  it('hung: /health stays 200, requests are admitted and held with no tokens even when the client leaves, until a restart', async () => {
    await injectFault(controlUrl, { kind: 'hung', host: 'gpu-1', model: MODEL });
    await sleep(250);
    expect((await fetch(`${engineUrl('gpu-1')}/health`)).status).toBe(200);
    const tokens = await generated('gpu-1');
    await expect(complete('gpu-1', 600)).rejects.toThrow();
    await sleep(400);
    expect(await running('gpu-1')).toBe(1);
    expect(await generated('gpu-1')).toBe(tokens);
    expect((await getState(controlUrl)).gpus.find((g) => g.host === 'gpu-1')?.utilizationGpuPct).toBe(100);
    const before = await unit('gpu-1');
    expect((await onHost('gpu-1', controlUrl, 'sudo', ['-n', 'systemctl', 'restart', `vllm@${MODEL}`])).code).toBe(0);
    const after = await ready('gpu-1');
    expect(after.pid).not.toBe(before.pid);
    expect((await complete('gpu-1')).status).toBe(200);
    expect((await getState(controlUrl)).faults).toEqual([expect.objectContaining({ kind: 'hung', spent: true })]);
  });

  it('hung with ignoreSigterm: a stop waits out the stop timeout, SIGKILLs the engine, and the restart still brings a new one', async () => {
    await injectFault(controlUrl, { kind: 'hung', host: 'gpu-1', model: MODEL, ignoreSigterm: true });
    await sleep(250);
    const before = await unit('gpu-1');
    const started = Date.now();
    expect(await unitAction(controlUrl, 'gpu-1', `vllm@${MODEL}`, 'restart')).toMatchObject({ ok: true, state: 'active' });
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
    const exit = (await events(controlUrl)).filter((e) => e.kind === 'unit-exit' && e.host === 'gpu-1').at(-1);
    expect(exit?.detail).toMatchObject({ pid: before.pid, code: null, signal: 'SIGKILL', during: 'stop' });
    const text = await journalText('gpu-1');
    expect(text).toContain("vllm@llama-3-8b.service: State 'stop-sigterm' timed out. Killing.");
    expect(text).toContain('vllm@llama-3-8b.service: Main process exited, code=killed, status=9/KILL');
    expect(text).toContain("vllm@llama-3-8b.service: Failed with result 'timeout'.");
    await ready('gpu-1');
  });

  it('oom: memory ramps to full, the engine dies with the CUDA OOM text, and every start does so again until the env file says 0.85 or less', async () => {
    await injectFault(controlUrl, { kind: 'oom', host: 'gpu-2', model: MODEL, recurring: true, rampSeconds: 1 });
    const full = await waitFor(async () => {
      const used = Number(/^DCGM_FI_DEV_FB_USED\{.*\} (\d+)$/m.exec(await dcgm('gpu-2'))?.[1]);
      return used / 81079 > 0.97 ? used : undefined;
    }, { description: 'FB_USED above 97%', timeoutMs: 5000, intervalMs: 50 });
    expect(full).toBeLessThanOrEqual(80398);
    const failed = await untilUnit('gpu-2', 'failed', (u) => u.state === 'failed');
    expect(failed.execMain).toMatchObject({ code: 'exited', status: 1 });
    const text = await journalText('gpu-2');
    expect(text).toContain('torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB. GPU 0 has a total capacity of 79.18 GiB of which 681.00 MiB is free. Including non-PyTorch memory, this process has 78.50 GiB memory in use.');
    expect(text).toContain('vllm.v1.engine.exceptions.EngineDeadError: EngineCore encountered an issue. See stack trace (above) for the root cause.');
    expect(text).toContain("vllm@llama-3-8b.service: Failed with result 'exit-code'.");
    expect((await getState(controlUrl)).gpus.find((g) => g.host === 'gpu-2')?.memoryUsedMiB).toBe(0);

    await unitAction(controlUrl, 'gpu-2', `vllm@${MODEL}`, 'start');
    await untilUnit('gpu-2', 'failed again', (u) => u.state === 'failed' && u.starts === 2);
    const envDir = path.join(dir, 'state', 'hosts', 'gpu-2', 'etc', 'vllm');
    const lower = await onHost('gpu-2', controlUrl, 'sudo', ['-n', 'vllm-env', 'set', MODEL, 'GPU_MEMORY_UTILIZATION=0.80'], { VLLM_ENV_DIR: envDir });
    expect(lower.code).toBe(0);
    await unitAction(controlUrl, 'gpu-2', `vllm@${MODEL}`, 'start');
    await ready('gpu-2');
    await sleep(1600);
    expect(await unit('gpu-2')).toMatchObject({ state: 'active', memoryMiB: 65247 });
  });

  it('down with failStarts: the engine exits, and every start exits again within a second until the fault is cleared', async () => {
    await injectFault(controlUrl, { kind: 'down', host: 'gpu-3', model: MODEL, failStarts: true });
    await untilUnit('gpu-3', 'failed', (u) => u.state === 'failed');
    expect(await journalText('gpu-3')).toContain('Fatal Python error: Segmentation fault');
    const started = Date.now();
    expect(await unitAction(controlUrl, 'gpu-3', `vllm@${MODEL}`, 'start')).toMatchObject({ ok: true, state: 'active' });
    await untilUnit('gpu-3', 'failed again', (u) => u.state === 'failed' && u.starts === 2, 3000);
    // Within a second each, with a generous margin for a loaded machine (two starts and the polling between them).
    expect(Date.now() - started).toBeLessThan(4000);
    expect(await journalText('gpu-3')).toContain("RuntimeError: Engine core initialization failed. See root cause above. Failed core proc(s): {'EngineCore_DP0': 1}");
    await clearFaults(controlUrl);
    await unitAction(controlUrl, 'gpu-3', `vllm@${MODEL}`, 'start');
    await ready('gpu-3');
    await sleep(800);
    expect((await unit('gpu-3')).state).toBe('active');
  });

  it('crash-loop: every start serves for the given time after loading, then exits', async () => {
    await injectFault(controlUrl, { kind: 'crash-loop', host: 'gpu-4', model: MODEL, serveSeconds: 0.5 });
    await untilUnit('gpu-4', 'failed', (u) => u.state === 'failed');
    const seq = (await events(controlUrl)).at(-1)?.seq ?? 0;
    await unitAction(controlUrl, 'gpu-4', `vllm@${MODEL}`, 'start');
    await untilUnit('gpu-4', 'failed after serving', (u) => u.state === 'failed' && u.starts === 2);
    const mine = (await events(controlUrl, seq)).filter((e) => e.host === 'gpu-4');
    expect(mine.map((e) => e.kind)).toEqual(['unit-start', 'unit-ready', 'unit-exit']);
    const served = Date.parse(mine[2]?.at ?? '') - Date.parse(mine[1]?.at ?? '');
    expect(served).toBeGreaterThanOrEqual(400);
    expect(served).toBeLessThan(1500);
    expect(await journalText('gpu-4')).toContain('torch.AcceleratorError: CUDA error: an illegal memory access was encountered');
  });

  it('a hardware Xid (79) sets DCGM_FI_DEV_XID_ERRORS, kills the engine, fails starts, and a reset that cannot fix it fails', async () => {
    await injectFault(controlUrl, { kind: 'xid', host: 'gpu-5', gpu: 0, code: 79, resetFixes: false });
    const metrics = await dcgm('gpu-5');
    expect(metrics).toMatch(/^DCGM_FI_DEV_XID_ERRORS\{gpu="0",.*,err_code="79",err_msg="GPU has fallen off the bus"\} 79$/m);
    expect(metrics).toMatch(/^DCGM_EXP_XID_ERRORS_COUNT\{gpu="0",.*,xid="79"\} 1$/m);
    await untilUnit('gpu-5', 'failed', (u) => u.state === 'failed');
    const kernel = await onHost('gpu-5', controlUrl, 'sudo', ['-n', 'dmesg', '--ctime']);
    expect(kernel.stdout).toMatch(/^\[\w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4}\] NVRM: Xid \(PCI:0000:00:06\): 79, pid=\d+, name=VLLM::EngineCor, GPU has fallen off the bus$/m);
    await unitAction(controlUrl, 'gpu-5', `vllm@${MODEL}`, 'start');
    await untilUnit('gpu-5', 'failed to start', (u) => u.state === 'failed' && u.starts === 2, 3000);
    expect(await gpuReset(controlUrl, 'gpu-5', 0)).toMatchObject({ ok: false, exitCode: 255, message: expect.stringContaining('Unable to reset GPU 00000000:00:06.0') });
    expect((await getState(controlUrl)).gpus.find((g) => g.host === 'gpu-5')).toMatchObject({ xid: 79, resetRequired: true });
    await clearFaults(controlUrl);
    expect((await getState(controlUrl)).gpus.find((g) => g.host === 'gpu-5')).toMatchObject({ xid: 0, resetRequired: false });
    await unitAction(controlUrl, 'gpu-5', `vllm@${MODEL}`, 'start');
    await ready('gpu-5');
  });

  it('an ECC Xid (48) that a reset fixes: ECC counts show, the reset clears the Xid, and the engine starts again', async () => {
    await injectFault(controlUrl, { kind: 'xid', host: 'gpu-5', gpu: 0, code: 48, resetFixes: true });
    await untilUnit('gpu-5', 'failed', (u) => u.state === 'failed');
    const ecc = await onHost('gpu-5', controlUrl, 'nvidia-smi', ['-q', '-i', '0', '-d', 'ECC']);
    expect(ecc.stdout).toMatch(/ {8}Volatile\n(.*\n){4} {12}DRAM Uncorrectable {12}: 1\n/);
    expect(await gpuReset(controlUrl, 'gpu-5', 0)).toEqual({ ok: true, exitCode: 0, message: 'GPU 00000000:00:06.0 was successfully reset.\nAll done.' });
    expect(await dcgm('gpu-5')).toMatch(/^DCGM_FI_DEV_XID_ERRORS\{gpu="0",.*,err_code="0",err_msg="No Error"\} 0$/m);
    expect((await events(controlUrl)).filter((e) => e.kind === 'gpu-reset').at(-1)).toMatchObject({ host: 'gpu-5', detail: { gpu: 0 } });
    await unitAction(controlUrl, 'gpu-5', `vllm@${MODEL}`, 'start');
    await ready('gpu-5');
  });

  it('an application Xid (13) kills the engine only: it starts again without a reset', async () => {
    await injectFault(controlUrl, { kind: 'xid', host: 'gpu-6', gpu: 0, code: 13 });
    await untilUnit('gpu-6', 'failed', (u) => u.state === 'failed');
    await unitAction(controlUrl, 'gpu-6', `vllm@${MODEL}`, 'start');
    await ready('gpu-6');
    expect((await getState(controlUrl)).gpus.find((g) => g.host === 'gpu-6')).toMatchObject({ xid: 13, xidMessage: 'Graphics Engine Exception', resetRequired: false });
  });

  it('version-skew writes VLLM_VERSION into the replica\'s env file and restarts it on that version', async () => {
    const before = await unit('gpu-6');
    await injectFault(controlUrl, { kind: 'version-skew', host: 'gpu-6', model: MODEL, version: '0.10.2' });
    const envFile = path.join(dir, 'state', 'hosts', 'gpu-6', 'etc', 'vllm', `${MODEL}.env`);
    expect(fs.readFileSync(envFile, 'utf8')).toMatch(/^VLLM_VERSION=0\.10\.2$/m);
    const after = await ready('gpu-6');
    expect(after.pid).not.toBe(before.pid);
    expect(await (await fetch(`${engineUrl('gpu-6')}/version`)).json()).toEqual({ version: '0.10.2' });
    expect(await (await fetch(`${engineUrl('gpu-1')}/version`)).json()).toEqual({ version: '0.11.0' });
  });

  it('backlog sends batch traffic through the gateway until cleared; a bad fault is refused with the reason', async () => {
    await injectFault(controlUrl, { kind: 'backlog', model: MODEL, rate: 50, seconds: 60 });
    expect((await getState(controlUrl)).faults).toEqual([expect.objectContaining({ kind: 'backlog', model: MODEL, rate: 50, seconds: 60 })]);
    await waitFor(() => (batchRequests.length >= 10 ? true : undefined), { description: '10 batch requests at the gateway', timeoutMs: 5_000 });
    await expect(injectFault(controlUrl, { kind: 'hung', host: 'gpu-1', model: MODEL, forever: true })).rejects.toThrow(/answered 400: .*forever/);
    await expect(injectFault(controlUrl, { kind: 'backlog', model: 'nope', rate: 1, seconds: 1 })).rejects.toThrow(/answered 404/);
    await expect(injectFault(controlUrl, { kind: 'down', host: 'gpu-9', model: MODEL })).rejects.toThrow(/answered 404: .*unknown host gpu-9/);
    expect(await clearFaults(controlUrl)).toEqual({ cleared: 1 });
    expect((await events(controlUrl)).filter((e) => e.kind === 'fault-cleared').at(-1)?.detail).toMatchObject({ kind: 'backlog' });
    await sleep(300);
    const afterClear = batchRequests.length;
    await sleep(500);
    expect(batchRequests.length).toBe(afterClear);
  });
});
