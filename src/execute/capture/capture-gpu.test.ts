import { describe, it, expect, afterAll } from '@jest/globals';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ProcessRecord } from '../../history/run-store.js';
import { createLocalRunner } from '../local-runner.js';
import { runCaptureGpu, type CaptureGpuOptions, type GpuEvidence } from './capture-gpu.js';
import { APPS_QUERY_ARGV, GPU_QUERY_ARGV } from './nvidia-smi.js';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'remediator-capture-'));
  dirs.push(dir);
  return dir;
}

/** The busy H100 capture: test/fixtures/gpu/nvidia-smi-busy.txt, its noheader,nounits sections (lines 5 and 7). */
function busyOutputs(): { gpu: string; apps: string } {
  const file = fileURLToPath(new URL('../../../test/fixtures/gpu/nvidia-smi-busy.txt', import.meta.url));
  const lines = fs.readFileSync(file, 'utf8').split('\n');
  expect(lines[3]).toBe('## query-compute-apps busy noheader,nounits');
  expect(lines[5]).toBe('## query-gpu busy noheader,nounits');
  return { apps: `${lines[4]}\n`, gpu: `${lines[6]}\n` };
}

/**
 * A directory holding an executable `nvidia-smi`: a real child process standing in for the
 * binary (this machine has no GPU). It records its argv, one argument a line, then runs `body`.
 */
function fakeNvidiaSmi(body: string, files: Record<string, string> = {}): { dir: string; argvLog: string } {
  const dir = tempDir();
  for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), text);
  const argvLog = path.join(dir, 'argv.log');
  const script = `#!/bin/bash\nhere="$(dirname "$0")"\nprintf '%s\\n' "$@" --- >> "$here/argv.log"\n${body}\n`;
  fs.writeFileSync(path.join(dir, 'nvidia-smi'), script, { mode: 0o755 });
  return { dir, argvLog };
}

function options(pathDirs: string, overrides: Partial<CaptureGpuOptions> = {}): CaptureGpuOptions {
  return {
    runner: createLocalRunner(),
    env: { PATH: `${pathDirs}:/usr/bin:/bin` },
    timeoutMs: 10_000,
    killGraceMs: 500,
    maxOutputBytes: 65_536,
    signal: new AbortController().signal,
    ...overrides,
  };
}

const ANSWER_BY_QUERY = `case "$1" in
  --query-gpu=*) cat "$here/gpu.csv" ;;
  --query-compute-apps=*) cat "$here/apps.csv" ;;
  *) echo "unexpected arguments: $*" >&2; exit 2 ;;
esac`;

describe('runCaptureGpu with the local runner and a stand-in nvidia-smi', () => {
  it('runs both queries with the exact argv and keeps the busy GPU and its 61958 MiB process as evidence', async () => {
    const { dir, argvLog } = fakeNvidiaSmi(ANSWER_BY_QUERY, { 'gpu.csv': busyOutputs().gpu, 'apps.csv': busyOutputs().apps });
    const spawned: ProcessRecord[] = [];
    const result = await runCaptureGpu(options(dir, { onSpawn: (p) => void spawned.push(p) }));
    expect(result).toMatchObject({ ok: true, exitCode: 0, error: null, stoppedBy: null, timedOut: false });
    const evidence = result.evidence as GpuEvidence;
    expect(evidence.gpus).toEqual([expect.objectContaining({ index: 0, name: 'NVIDIA H100 80GB HBM3', memoryUsedMiB: 61967, memoryTotalMiB: 81559 })]);
    expect(evidence.processes).toEqual([{ pid: 431, name: 'python3', gpuUuid: 'GPU-660d7a23-b045-31d7-4cdf-3688752bb7ba', usedMiB: 61958 }]);
    expect(result.stdout).toBe(
      'GPU 0 NVIDIA H100 80GB HBM3 GPU-660d7a23-b045-31d7-4cdf-3688752bb7ba: memory 61967/81559 MiB used, utilization 4%, 54 C, power 89.7/700 W, P0, uncorrected ECC 0\n' +
        'pid 431 python3 on GPU 0: 61958 MiB\n',
    );
    expect(fs.readFileSync(argvLog, 'utf8')).toBe(`${[...GPU_QUERY_ARGV.slice(1), '---', ...APPS_QUERY_ARGV.slice(1), '---'].join('\n')}\n`);
    expect(spawned).toHaveLength(2);
  });

  it('reports an idle GPU and no compute processes when the process query prints nothing', async () => {
    const gpu = busyOutputs().gpu.replace('61967, 19113, 4', '0, 81079, 0');
    const { dir } = fakeNvidiaSmi(ANSWER_BY_QUERY, { 'gpu.csv': gpu, 'apps.csv': '' });
    const result = await runCaptureGpu(options(dir));
    expect(result.ok).toBe(true);
    expect((result.evidence as GpuEvidence).processes).toEqual([]);
    expect(result.stdout).toMatch(/memory 0\/81559 MiB used.*\nno compute processes\n$/);
  });

  it('fails as NVIDIA_SMI_MISSING when nvidia-smi is not on PATH', async () => {
    const empty = tempDir();
    const result = await runCaptureGpu(options(empty, { env: { PATH: empty } }));
    expect(result.ok).toBe(false);
    expect(result.error?.code).toBe('NVIDIA_SMI_MISSING');
    expect(result.error?.message).toMatch(/nvidia-smi is not installed or not on PATH.*ENOENT/);
  });

  it('fails as NVIDIA_SMI_MISSING when a remote shell answers 127, command not found', async () => {
    const { dir } = fakeNvidiaSmi('echo "bash: line 1: nvidia-smi: command not found" >&2; exit 127');
    const result = await runCaptureGpu(options(dir));
    expect(result).toMatchObject({ ok: false, exitCode: 127, error: { code: 'NVIDIA_SMI_MISSING' } });
    expect(result.error?.message).toContain('nvidia-smi: command not found');
  });

  it('fails as NVIDIA_SMI_FAILED with the driver message when nvidia-smi exits 9', async () => {
    const driver = "NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver. Make sure that the latest NVIDIA driver is installed and running.";
    const { dir, argvLog } = fakeNvidiaSmi(`echo "${driver}"; echo "driver gone" >&2; exit 9`);
    const result = await runCaptureGpu(options(dir));
    expect(result).toMatchObject({ ok: false, exitCode: 9, error: { code: 'NVIDIA_SMI_FAILED' } });
    expect(result.error?.message).toBe('nvidia-smi exited with code 9: driver gone');
    expect(result.stdout).toBe(`${driver}\n`);
    expect(result.stderr).toBe('driver gone\n');
    // The first query failed, so the second never ran.
    expect(fs.readFileSync(argvLog, 'utf8').split('---').length).toBe(2);
  });

  it('names the driver message from stdout when stderr is empty', async () => {
    const { dir } = fakeNvidiaSmi(`echo "NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver."; exit 9`);
    const result = await runCaptureGpu(options(dir));
    expect(result.error).toEqual({
      code: 'NVIDIA_SMI_FAILED',
      message: "nvidia-smi exited with code 9: NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver.",
    });
  });

  it('fails as NVIDIA_SMI_UNPARSEABLE, keeping the raw output, when the output is not the CSV asked for', async () => {
    const { dir } = fakeNvidiaSmi(ANSWER_BY_QUERY, { 'gpu.csv': busyOutputs().gpu, 'apps.csv': '431, python3\n' });
    const result = await runCaptureGpu(options(dir));
    expect(result).toMatchObject({ ok: false, exitCode: 0, stdout: '431, python3\n', error: { code: 'NVIDIA_SMI_UNPARSEABLE' } });
    expect(result.error?.message).toBe('nvidia-smi query-compute-apps output did not parse: line 1: 2 columns, expected pid, process_name, used_memory[, gpu_uuid]');
  });

  it('stops a hung nvidia-smi at the step timeout and records it as timed out', async () => {
    const { dir } = fakeNvidiaSmi('exec sleep 30');
    const started = Date.now();
    const result = await runCaptureGpu(options(dir, { timeoutMs: 300, killGraceMs: 200 }));
    expect(result).toMatchObject({ ok: false, timedOut: true, stoppedBy: 'timeout', error: null });
    expect(Date.now() - started).toBeLessThan(3000);
  });

  it('stops at once when the step is canceled, recording the cause', async () => {
    const { dir } = fakeNvidiaSmi('exec sleep 30');
    const abort = new AbortController();
    setTimeout(() => abort.abort('canceled'), 200);
    const result = await runCaptureGpu(options(dir, { signal: abort.signal }));
    expect(result).toMatchObject({ ok: false, timedOut: false, stoppedBy: 'canceled' });
  });
});
