import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from '@jest/globals';
import { parseComputeApps, parseGpuQuery } from '../execute/capture/nvidia-smi.js';
import { gpuTable, isGpuEvidence } from './gpu-table.js';

/** The two query sections of the real busy H100 capture (fixture lines 7 and 5). */
function busyEvidence() {
  const lines = readFileSync(fileURLToPath(new URL('../../test/fixtures/gpu/nvidia-smi-busy.txt', import.meta.url)), 'utf8').split('\n');
  return { gpus: parseGpuQuery(`${lines[6]}\n`), processes: parseComputeApps(`${lines[4]}\n`) };
}

describe('gpuTable', () => {
  it('shows the H100 and the process holding its memory, named by GPU index', () => {
    const out = gpuTable(busyEvidence()).toString();
    expect(out).toContain('NVIDIA H100 80GB HBM3');
    expect(out).toContain('81559 MiB');
    expect(out).toMatch(/<td>431<\/td><td>python3<\/td><td>GPU 0<\/td><td>61958 MiB<\/td>/);
  });

  it('escapes names a compromised host could print', () => {
    const out = gpuTable({ gpus: [], processes: [{ pid: 1, name: '<script>alert(1)</script>', gpuUuid: '"><img src=x>', usedMiB: null }] }).toString();
    expect(out).not.toContain('<script>');
    expect(out).not.toContain('<img');
    expect(out).toContain('&lt;script&gt;');
    expect(out).toContain('no GPUs');
  });

  it.each([
    [{ gpus: [], processes: [] }, true],
    [{ gpus: [{}], processes: [] }, true],
    [{ gpus: 'x', processes: [] }, false],
    [{ body: 'x' }, false],
    [null, false],
    ['text', false],
  ])('knows a capture from other evidence: %j is %s', (evidence, expected) => {
    expect(isGpuEvidence(evidence)).toBe(expected);
  });
});
