import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import fs from 'node:fs';
import path from 'node:path';
import { events, getState, startFleet, type FleetHandle, type UnitView } from '../../deploy/demo/fleet/fleet-client.js';
import { makeTempDir, removeTempDir } from '../support/temp-dir.js';
import { waitFor } from '../support/wait-for.js';
import { ensureDemoBuild, onHost, writeFleet } from './demo-fleet.js';

let dir: string;
let fleet: FleetHandle;
let controlUrl: string;
let envDir: (host: string) => string;

const unitOf = async (host: string): Promise<UnitView> => {
  const unit = (await getState(controlUrl)).units.find((u) => u.host === host);
  if (!unit) throw new Error(`no unit on ${host}`);
  return unit;
};
const sh = (host: string, command: string, ...args: string[]): ReturnType<typeof onHost> => onHost(host, controlUrl, command, args, { VLLM_ENV_DIR: envDir(host) });

beforeAll(async () => {
  await ensureDemoBuild();
  dir = makeTempDir('demo-supervisor');
  const written = await writeFleet(dir, { subnet: 21, hosts: 2 });
  controlUrl = written.controlUrl;
  envDir = (host) => path.join(dir, 'state', 'hosts', host, 'etc', 'vllm');
  fleet = await startFleet(written.file);
}, 120_000);

afterAll(async () => {
  await fleet?.stop();
  removeTempDir(dir);
});

describe('the fleet supervisor and the host stand-ins', () => {
  it('starts every unit, says fleet ready once all engines loaded, and writes each env file from fleet.json', async () => {
    const state = await getState(controlUrl);
    expect(state.ready).toBe(true);
    expect(state.units.map((u) => [u.host, u.unit, u.state, u.phase])).toEqual([
      ['gpu-1', 'vllm@llama-3-8b', 'active', 'ready'],
      ['gpu-2', 'vllm@llama-3-8b', 'active', 'ready'],
    ]);
    const env = fs.readFileSync(path.join(envDir('gpu-1'), 'llama-3-8b.env'), 'utf8');
    expect(env).toMatch(/^VLLM_VERSION=0\.11\.0$/m);
    expect(env).toMatch(/^GPU_MEMORY_UTILIZATION=0\.9$/m);
    expect(env).toMatch(/^CUDA_VISIBLE_DEVICES=0$/m);
    expect(env).toMatch(/^HOST=127\.0\.21\.1$/m);
    expect(fleet.output()).toContain('"msg":"fleet ready"');
    // A loaded engine holds 0.9 × 81559 MiB on its GPU.
    expect(state.gpus.find((g) => g.host === 'gpu-1')?.processes).toEqual([expect.objectContaining({ pid: state.units[0]?.pid, usedMiB: 73403, unit: 'vllm@llama-3-8b' })]);
  });

  it('restarts a unit through sudo and systemctl: a new engine, and stop, exit and start in the event log in that order', async () => {
    const before = await unitOf('gpu-1');
    const seq = (await events(controlUrl)).at(-1)?.seq ?? 0;
    const run = await sh('gpu-1', 'sudo', '-n', 'systemctl', 'restart', 'vllm@llama-3-8b');
    expect(run).toMatchObject({ code: 0, stderr: '' });
    const after = await unitOf('gpu-1');
    expect(after.state).toBe('active');
    expect(after.pid).not.toBe(before.pid);
    const kinds = (await events(controlUrl, seq)).filter((e) => e.host === 'gpu-1').map((e) => e.kind);
    expect(kinds.slice(0, 3)).toEqual(['unit-stop', 'unit-exit', 'unit-start']);
    const exit = (await events(controlUrl, seq)).find((e) => e.kind === 'unit-exit');
    expect(exit?.detail).toMatchObject({ pid: before.pid, code: 0, during: 'stop' });
    expect(exit?.at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    const show = await sh('gpu-1', 'systemctl', 'show', '-p', 'MainPID', '--value', 'vllm@llama-3-8b');
    expect(show.stdout).toBe(`${after.pid}\n`);
  });

  it('answers as systemctl does: no root without sudo, 5 for an unknown unit, 3 from is-active for a stopped one', async () => {
    const denied = await sh('gpu-2', 'systemctl', 'stop', 'vllm@llama-3-8b');
    expect(denied.code).toBe(1);
    expect(denied.stderr).toContain('Failed to stop vllm@llama-3-8b.service: Interactive authentication required.');
    const unknown = await sh('gpu-2', 'sudo', '-n', 'systemctl', 'start', 'vllm@nope');
    expect(unknown).toMatchObject({ code: 5, stderr: 'Failed to start vllm@nope.service: Unit vllm@nope.service not found.\n' });
    expect((await sh('gpu-2', 'systemctl', 'status', 'vllm@nope')).code).toBe(4);
    expect(await sh('gpu-2', 'sudo', '-n', 'systemctl', 'stop', 'vllm@*')).toMatchObject({ code: 0 });
    expect(await sh('gpu-2', 'systemctl', 'is-active', 'vllm@llama-3-8b')).toMatchObject({ code: 3, stdout: 'inactive\n' });
    expect(await sh('gpu-2', 'systemctl', 'is-active', '--quiet', 'vllm@llama-3-8b')).toMatchObject({ code: 3, stdout: '' });
    const status = await sh('gpu-2', 'systemctl', 'status', '--no-pager', '--lines=3', 'vllm@llama-3-8b');
    expect(status.code).toBe(3);
    expect(status.stdout).toMatch(/^○ vllm@llama-3-8b\.service - vLLM OpenAI server for llama-3-8b\n.*\n {5}Active: inactive \(dead\) since \w{3} \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC; /);
    expect(status.stdout).toMatch(/gpu-2 systemd\[1\]: Stopped vllm@llama-3-8b\.service - vLLM OpenAI server for llama-3-8b\.\n$/);
    expect(await sh('gpu-2', 'sudo', '-n', 'systemctl', 'start', 'vllm@*')).toMatchObject({ code: 0 });
    expect(await sh('gpu-2', 'systemctl', 'is-active', 'vllm@llama-3-8b')).toMatchObject({ code: 0, stdout: 'active\n' });
  });

  it("prints the unit's journal with journalctl: the engine's banner and systemd's own lines, in short-iso", async () => {
    await waitFor(async () => ((await unitOf('gpu-2')).phase === 'ready' ? true : undefined), { description: 'gpu-2 loaded', timeoutMs: 10_000 });
    const { code, stdout } = await sh('gpu-2', 'journalctl', '-u', 'vllm@llama-3-8b', '--no-pager', '-n', '40', '--output=short-iso');
    expect(code).toBe(0);
    const lines = stdout.trimEnd().split('\n');
    expect(lines.length).toBeLessThanOrEqual(40);
    expect(lines.every((l) => /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00 gpu-2 (vllm|systemd)\[\d+\]: /.test(l))).toBe(true);
    expect(stdout).toContain('systemd[1]: Started vllm@llama-3-8b.service - vLLM OpenAI server for llama-3-8b.');
    expect(stdout).toMatch(/vllm\[\d+\]: \(APIServer pid=\d+\) INFO \d\d-\d\d \d\d:\d\d:\d\d \[api_server\.py:\d+\] vLLM API server version 0\.11\.0/);
    expect(stdout).toContain('Application startup complete.');
    expect((await sh('gpu-2', 'journalctl', '-u', 'vllm@nope', '--no-pager')).stdout).toBe('-- No entries --\n');
  });

  it('applies an env file change made with vllm-env at the next start, and records what changed', async () => {
    const set = await sh('gpu-2', 'sudo', '-n', 'vllm-env', 'set', 'llama-3-8b', 'VLLM_VERSION=0.10.2', 'MAX_NUM_SEQS=2');
    expect(set).toMatchObject({ code: 0 });
    expect(set.stdout).toContain('llama-3-8b: VLLM_VERSION 0.11.0 -> 0.10.2');
    expect((await unitOf('gpu-2')).flags?.version).toBe('0.11.0');
    expect((await sh('gpu-2', 'sudo', '-n', 'systemctl', 'restart', 'vllm@llama-3-8b')).code).toBe(0);
    const unit = await unitOf('gpu-2');
    expect(unit.flags).toMatchObject({ version: '0.10.2', maxNumSeqs: '2' });
    const changed = (await events(controlUrl)).filter((e) => e.kind === 'env-changed').at(-1);
    expect(changed?.detail).toMatchObject({ changes: { VLLM_VERSION: { from: '0.11.0', to: '0.10.2' }, MAX_NUM_SEQS: { from: '4', to: '2' } } });
    const host = (await getState(controlUrl)).hosts.find((h) => h.name === 'gpu-2');
    await waitFor(async () => (await fetch(`http://${host?.ip}:${unit.flags?.port}/version`).then((r) => r.json() as Promise<{ version: string }>)).version === '0.10.2' || undefined, { description: 'the new version answering', timeoutMs: 5000 });
  });

  it("serves dcgm-exporter's /metrics per host with the GPU's labels and the engine's memory", async () => {
    const state = await getState(controlUrl);
    const host = state.hosts.find((h) => h.name === 'gpu-1');
    const text = await (await fetch(`http://${host?.ip}:${host?.dcgmPort}/metrics`)).text();
    const gpu = state.gpus.find((g) => g.host === 'gpu-1');
    const labels = `gpu="0",UUID="${gpu?.uuid}",pci_bus_id="00000000:00:06.0",device="nvidia0",modelName="NVIDIA H100 80GB HBM3",Hostname="gpu-1",DCGM_FI_DRIVER_VERSION="580.159.04"`;
    expect(text).toContain(`DCGM_FI_DEV_FB_USED{${labels}} 73412`);
    expect(text).toContain(`DCGM_FI_DEV_FB_FREE{${labels}} 7667`);
    expect(text).toContain(`DCGM_FI_DEV_XID_ERRORS{${labels},err_code="0",err_msg="No Error"} 0`);
    expect(text).toMatch(/^DCGM_FI_DEV_GPU_UTIL\{gpu="0",.*\} \d+$/m);
  });
});
