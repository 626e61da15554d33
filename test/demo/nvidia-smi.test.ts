import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import fs from 'node:fs';
import path from 'node:path';
import type { GpuView } from '../../deploy/demo/fleet/api-types.js';
import { getState, startFleet, type FleetHandle } from '../../deploy/demo/fleet/fleet-client.js';
import { queryComputeApps, queryGpu } from '../../deploy/demo/host/nvidia-smi-csv.js';
import { defaultTable, listGpus } from '../../deploy/demo/host/nvidia-smi-table.js';
import { queryXml } from '../../deploy/demo/host/nvidia-smi-xml.js';
import { runCaptureGpu, type GpuEvidence } from '../../src/execute/capture/capture-gpu.js';
import { GPU_QUERY_FIELDS } from '../../src/execute/capture/nvidia-smi.js';
import { createLocalRunner } from '../../src/execute/local-runner.js';
import { makeTempDir, removeTempDir } from '../support/temp-dir.js';
import { ensureDemoBuild, HOST_BIN, onHost, REPO, writeFleet } from './demo-fleet.js';

const fixture = (name: string): string => fs.readFileSync(path.join(REPO, 'test', 'fixtures', 'gpu', name), 'utf8');

/** The lines under `## heading` of a capture, without the blank lines that close it. */
function section(text: string, heading: string): string {
  const lines = text.split('\n');
  const rest = lines.slice(lines.indexOf(`## ${heading}`) + 1);
  const end = rest.findIndex((l) => l.startsWith('## '));
  return `${(end < 0 ? rest : rest.slice(0, end)).join('\n').replace(/\n+$/, '')}\n`;
}

/** The GPU of the real captures, in the shape the supervisor serves. */
function h100(over: Partial<GpuView>): GpuView {
  return {
    host: 'gpu-1', index: 0, uuid: 'GPU-660d7a23-b045-31d7-4cdf-3688752bb7ba', name: 'NVIDIA H100 80GB HBM3', pciBusId: '00000000:00:06.0', driverVersion: '580.159.04', cudaVersion: '13.0',
    memoryTotalMiB: 81559, memoryReservedMiB: 480, memoryUsedMiB: 0, memoryFreeMiB: 81079, utilizationGpuPct: 0, utilizationMemoryPct: 0, temperatureC: 53, memoryTemperatureC: 56,
    powerDrawW: 120, powerLimitW: 700, smClockMHz: 345, memClockMHz: 2619, pstate: 'P0',
    ecc: { volatileDramUncorrectable: 0, aggregateDramUncorrectable: 0, remappedRowsUncorrectable: 0, remapPending: false },
    xid: 0, xidMessage: 'No Error', xidAt: null, xidHistory: [], resetRequired: false, processes: [], ...over,
  };
}
const busy = (over: Partial<GpuView> = {}): GpuView =>
  h100({ memoryUsedMiB: 61967, memoryFreeMiB: 19113, utilizationGpuPct: 4, temperatureC: 54, powerDrawW: 91, smClockMHz: 1980, processes: [{ pid: 431, name: 'python3', usedMiB: 61958, unit: 'x' }], ...over });
const tags = (xml: string): string[] => [...xml.matchAll(/<([a-z_A-Z0-9]+)[ >]/g)].map((m) => m[1] ?? '');

describe("nvidia-smi's output formats against the real H100 captures", () => {
  it('prints the default table column for column as the idle and busy captures', () => {
    expect(defaultTable([h100({})], new Date('2026-11-26T14:25:35Z'))).toBe(section(fixture('nvidia-smi-idle.txt'), 'nvidia-smi'));
    expect(defaultTable([busy()], new Date('2026-11-26T14:25:42Z'))).toBe(section(fixture('nvidia-smi-busy.txt'), 'nvidia-smi busy'));
    expect(listGpus([h100({})])).toBe(section(fixture('nvidia-smi-idle.txt'), 'nvidia-smi -L'));
  });

  it('prints --query-gpu and --query-compute-apps CSV with and without header and units as captured', () => {
    const fields = GPU_QUERY_FIELDS.join(',');
    expect(queryGpu([h100({ powerDrawW: 114.85 })], fields, { header: true, units: true })).toBe(section(fixture('nvidia-smi-idle.txt'), 'query-gpu csv header'));
    expect(queryGpu([h100({ powerDrawW: 112.4 })], fields, { header: false, units: false })).toBe(section(fixture('nvidia-smi-idle.txt'), 'query-gpu csv noheader,nounits'));
    expect(queryGpu([busy({ powerDrawW: 89.7 })], fields, { header: false, units: false })).toBe(section(fixture('nvidia-smi-busy.txt'), 'query-gpu busy noheader,nounits'));
    const apps = 'pid,process_name,used_gpu_memory,gpu_uuid';
    expect(queryComputeApps([busy()], apps, { header: true, units: true })).toBe(section(fixture('nvidia-smi-busy.txt'), 'query-compute-apps busy'));
    expect(queryComputeApps([busy()], apps, { header: false, units: false })).toBe(section(fixture('nvidia-smi-busy.txt'), 'query-compute-apps busy noheader,nounits'));
    expect(queryComputeApps([h100({})], apps, { header: true, units: true })).toBe(section(fixture('nvidia-smi-idle.txt'), 'query-compute-apps idle'));
  });

  it('prints -q -x with the element structure of the real busy report and this GPU\'s values', () => {
    const xml = queryXml([busy()], 1, path.join(REPO, 'deploy', 'demo', 'host', 'nvidia-smi-q.xml'));
    expect(tags(xml)).toEqual(tags(fixture('nvidia-smi-q-busy.xml')));
    expect(xml).toMatch(/<fb_memory_usage>\s*<total>81559 MiB<\/total>\s*<reserved>480 MiB<\/reserved>\s*<used>61967 MiB<\/used>\s*<free>19113 MiB<\/free>/);
    expect(xml).toMatch(/<process_info>[\s\S]*<pid>431<\/pid>[\s\S]*<used_memory>61958 MiB<\/used_memory>/);
  });
});

describe('the nvidia-smi stand-in on a running fleet', () => {
  let dir: string;
  let fleet: FleetHandle;
  let controlUrl: string;
  const smi = (...args: string[]): ReturnType<typeof onHost> => onHost('gpu-1', controlUrl, 'nvidia-smi', args);

  beforeAll(async () => {
    await ensureDemoBuild();
    dir = makeTempDir('demo-nvidia-smi');
    const written = await writeFleet(dir, { subnet: 23, hosts: 1 });
    controlUrl = written.controlUrl;
    fleet = await startFleet(written.file);
  }, 120_000);
  afterAll(async () => {
    await fleet?.stop();
    removeTempDir(dir);
  });

  it("is parsed by remediator's own capture: gpu step, which finds the engine and its memory", async () => {
    const engine = (await getState(controlUrl)).units[0];
    const result = await runCaptureGpu({
      runner: createLocalRunner(),
      env: { PATH: `${HOST_BIN}:/usr/bin:/bin`, FLEET_HOST: 'gpu-1', FLEET_CONTROL_URL: controlUrl },
      timeoutMs: 20_000,
      killGraceMs: 500,
      maxOutputBytes: 65_536,
      signal: new AbortController().signal,
    });
    expect(result).toMatchObject({ ok: true, error: null });
    const evidence = result.evidence as GpuEvidence;
    expect(evidence.gpus).toEqual([expect.objectContaining({ index: 0, name: 'NVIDIA H100 80GB HBM3', pciBusId: '00000000:00:06.0', memoryUsedMiB: 73412, memoryTotalMiB: 81559, memoryFreeMiB: 7667, pstate: 'P0', eccUncorrected: 0 })]);
    expect(evidence.processes).toEqual([{ pid: engine?.pid, name: 'VLLM::EngineCore', gpuUuid: evidence.gpus[0]?.uuid, usedMiB: 73403 }]);
  });

  it('prints only the ECC, page retirement and row remapper sections for -q -i 0 -d ECC,PAGE_RETIREMENT,ROW_REMAPPER', async () => {
    const { code, stdout } = await smi('-q', '-i', '0', '-d', 'ECC,PAGE_RETIREMENT,ROW_REMAPPER');
    expect(code).toBe(0);
    expect(stdout).toMatch(/^\n==============NVSMI LOG==============\n\nTimestamp {33}: \w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4}\nDriver Version {28}: 580\.159\.04\n/);
    expect(stdout).toContain('GPU 00000000:00:06.0\n    ECC Mode\n        Current                           : Enabled\n');
    expect(stdout).toContain('            DRAM Uncorrectable            : 0\n');
    expect(stdout).toContain('    Retired Pages\n');
    expect(stdout).toContain('    Remapped Rows\n        Correctable Error                 : 0\n');
    expect(stdout).not.toContain('FB Memory Usage');
    expect(await smi('-i', '7', '-L')).toMatchObject({ code: 6, stdout: 'No devices were found\n' });
  });

  it('resets a GPU only as root and only once no engine holds it, with nvidia-smi\'s messages', async () => {
    expect(await smi('--gpu-reset', '-i', '0')).toMatchObject({ code: 4, stdout: 'Unable to reset GPU 00000000:00:06.0: Insufficient Permissions\n' });
    const busyReset = await onHost('gpu-1', controlUrl, 'sudo', ['-n', 'nvidia-smi', '--gpu-reset', '-i', '0']);
    expect(busyReset.code).toBe(255);
    expect(busyReset.stdout).toMatch(/^The following GPUs could not be reset:\n {2}GPU 00000000:00:06\.0: In use by another client\n\n1 device is currently being used by one or more other processes/);
    expect((await onHost('gpu-1', controlUrl, 'sudo', ['-n', 'systemctl', 'stop', 'vllm@llama-3-8b'])).code).toBe(0);
    expect((await smi('--query-compute-apps=pid', '--format=csv,noheader', '-i', '0')).stdout).toBe('');
    const reset = await onHost('gpu-1', controlUrl, 'sudo', ['-n', 'nvidia-smi', '-r', '-i', '0']);
    expect(reset).toMatchObject({ code: 0, stdout: 'GPU 00000000:00:06.0 was successfully reset.\nAll done.\n' });
    expect((await onHost('gpu-1', controlUrl, 'sudo', ['-n', 'systemctl', 'start', 'vllm@llama-3-8b'])).code).toBe(0);
  });
});
