/** capture: gpu through the whole service: the parsed GPUs and processes are kept with the run as evidence. */

import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from '@jest/globals';
import { eventually, startInProcess, webhookBody, type InProcess } from './in-process.js';

let env: InProcess | null = null;
afterEach(async () => {
  await env?.close();
  env = null;
});

/** The sections of the real busy H100 capture that the two queries print (fixture lines 5 and 7). */
function busy(): { apps: string; gpu: string } {
  const lines = readFileSync(fileURLToPath(new URL('../fixtures/gpu/nvidia-smi-busy.txt', import.meta.url)), 'utf8').split('\n');
  return { apps: `${lines[4]}\n`, gpu: `${lines[6]}\n` };
}

/** A folder whose `nvidia-smi` is a real program answering as the H100 did (this machine has no GPU). */
function standInNvidiaSmi(body: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'remediator-nvsmi-'));
  writeFileSync(path.join(dir, 'gpu.csv'), busy().gpu);
  writeFileSync(path.join(dir, 'apps.csv'), busy().apps);
  writeFileSync(path.join(dir, 'nvidia-smi'), `#!/bin/bash\nhere="$(dirname "$0")"\n${body}\n`);
  chmodSync(path.join(dir, 'nvidia-smi'), 0o755);
  return dir;
}

const RUNBOOK = `name: evidence
faultClass: oom
description: GPU evidence
match:
  - alertname = "GPUMemoryNearFull"
params:
  host: { from: labels.instance, pattern: '[a-z0-9-]+' }
target: "{{ params.host }}"
tiers:
  - name: only
    steps:
      - name: gpus
        capture: gpu
`;

interface StepJson {
  state: string;
  stdout: string;
  error: { code: string } | null;
  evidence: { gpus: { name: string; memoryUsedMiB: number; memoryTotalMiB: number }[]; processes: { pid: number; name: string; usedMiB: number }[] } | null;
}

async function capture(pathDir: string): Promise<{ state: string; step: StepJson }> {
  env = await startInProcess({ 'e.yaml': RUNBOOK }, '', undefined, { ...process.env, PATH: `${pathDir}:/usr/bin:/bin` });
  const e = env;
  const res = await e.api('POST', '/api/v1/alerts', webhookBody([{ labels: { alertname: 'GPUMemoryNearFull', instance: 'gpu-node-1' } }]));
  const id = (res.json as { runs: string[] }).runs[0];
  const run = await eventually(async () => {
    const r = (await e.api('GET', `/api/v1/runs/${id}`)).json as { state: string; tiers: { steps: StepJson[] }[] };
    return ['pending', 'running'].includes(r.state) ? undefined : r;
  }, 20_000, 'the capture run');
  return { state: run.state, step: run.tiers[0]?.steps[0] as StepJson };
}

describe('capture: gpu', () => {
  it('keeps the parsed GPUs and the 60 GiB process with the run', async () => {
    const dir = standInNvidiaSmi('case "$1" in --query-gpu=*) cat "$here/gpu.csv" ;; --query-compute-apps=*) cat "$here/apps.csv" ;; *) exit 2 ;; esac');
    const { state, step } = await capture(dir);
    expect(state).toBe('succeeded');
    expect(step.evidence?.gpus).toEqual([expect.objectContaining({ name: 'NVIDIA H100 80GB HBM3', memoryTotalMiB: 81559 })]);
    expect(step.evidence?.processes).toEqual([expect.objectContaining({ pid: 431, name: 'python3', usedMiB: 61958 })]);
    expect(step.stdout).toContain('431');
  });

  it('fails the step clearly when nvidia-smi cannot talk to the driver', async () => {
    const dir = standInNvidiaSmi(`echo "NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver."; exit 9`);
    const { state, step } = await capture(dir);
    expect(state).toBe('failed');
    expect(step.error?.code).toBe('NVIDIA_SMI_FAILED');
    expect(step.evidence).toBeNull();
  });
});
