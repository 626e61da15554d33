import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { makeTempDir, removeTempDir } from '../support/temp-dir.js';
import { HOST_HELPERS } from './demo-fleet.js';

const SCRIPT = path.join(HOST_HELPERS, 'vllm-env');
const ORIGINAL = '# vllm@llama-3-8b\nVLLM_VERSION=0.11.0\nGPU_MEMORY_UTILIZATION="0.9"\nMAX_NUM_SEQS=8\nCUDA_VISIBLE_DEVICES=0\nHOST=127.0.0.1\nPORT=8000\n';

let dir: string;
const file = (name = 'llama-3-8b.env'): string => path.join(dir, name);
const run = (...args: string[]): { code: number | null; stdout: string; stderr: string } => {
  const r = spawnSync(SCRIPT, args, { env: { PATH: '/usr/bin:/bin', VLLM_ENV_DIR: dir }, encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
};

beforeEach(() => {
  dir = makeTempDir('vllm-env');
  fs.writeFileSync(file(), ORIGINAL, { mode: 0o640 });
});
afterEach(() => removeTempDir(dir));

describe('deploy/host/vllm-env', () => {
  it('sets keys in place, appends new ones, keeps the previous file as .bak with its mode, and prints what changed', () => {
    const r = run('set', 'llama-3-8b', 'GPU_MEMORY_UTILIZATION=0.80', 'ENFORCE_EAGER=1', 'MAX_NUM_SEQS=8');
    expect(r.code).toBe(0);
    expect(r.stdout.split('\n').slice(0, 3)).toEqual(['llama-3-8b: GPU_MEMORY_UTILIZATION 0.9 -> 0.80', 'llama-3-8b: ENFORCE_EAGER (unset) -> 1', 'llama-3-8b: MAX_NUM_SEQS unchanged (8)']);
    expect(fs.readFileSync(file(), 'utf8')).toBe(ORIGINAL.replace('GPU_MEMORY_UTILIZATION="0.9"', 'GPU_MEMORY_UTILIZATION=0.80') + 'ENFORCE_EAGER=1\n');
    expect(fs.readFileSync(file('llama-3-8b.env.bak'), 'utf8')).toBe(ORIGINAL);
    expect(fs.statSync(file()).mode & 0o777).toBe(0o640);
    expect(fs.readdirSync(dir).filter((f) => !f.endsWith('.lock')).sort()).toEqual(['llama-3-8b.env', 'llama-3-8b.env.bak']);
  });

  it('gets a value without its quotes, and exits 1 for a key that is not set or a model with no file', () => {
    expect(run('get', 'llama-3-8b', 'GPU_MEMORY_UTILIZATION')).toEqual({ code: 0, stdout: '0.9\n', stderr: '' });
    expect(run('get', 'llama-3-8b', 'PORT').stdout).toBe('8000\n');
    expect(run('get', 'llama-3-8b', 'MAX_MODEL_LEN')).toMatchObject({ code: 1, stderr: expect.stringContaining('MAX_MODEL_LEN is not set') });
    expect(run('get', 'mistral-7b', 'VLLM_VERSION')).toMatchObject({ code: 1, stderr: expect.stringContaining('no env file') });
  });

  it('refuses bad model names, unknown keys and bad values with exit 2, touching nothing', () => {
    const cases: string[][] = [
      ['set', '../etc/passwd', 'VLLM_VERSION=0.11.0'],
      ['set', 'llama-3-8b', 'HOST=0.0.0.0'],
      ['set', 'llama-3-8b', 'GPU_MEMORY_UTILIZATION=1.5'],
      ['set', 'llama-3-8b', 'GPU_MEMORY_UTILIZATION=0.0'],
      ['set', 'llama-3-8b', 'MAX_NUM_SEQS=0'],
      ['set', 'llama-3-8b', 'VLLM_VERSION=0.11.0; reboot'],
      ['set', 'llama-3-8b', 'CUDA_VISIBLE_DEVICES=0,x'],
      ['set', 'llama-3-8b', 'ENFORCE_EAGER=yes'],
      ['set', 'llama-3-8b', 'MAX_NUM_SEQS=4', 'MAX_NUM_SEQS=8'],
      ['set', 'llama-3-8b', 'GPU_MEMORY_UTILIZATION=0.8', 'nonsense'],
      ['frobnicate', 'llama-3-8b'],
      ['set', 'llama-3-8b'],
    ];
    for (const args of cases) expect([args.join(' '), run(...args).code]).toEqual([args.join(' '), 2]);
    expect(fs.readFileSync(file(), 'utf8')).toBe(ORIGINAL);
    expect(fs.existsSync(file('llama-3-8b.env.bak'))).toBe(false);
  });

  it('writes nothing when nothing changes, and never creates an env file', () => {
    expect(run('set', 'llama-3-8b', 'VLLM_VERSION=0.11.0')).toMatchObject({ code: 0, stdout: 'llama-3-8b: VLLM_VERSION unchanged (0.11.0)\n' });
    expect(fs.existsSync(file('llama-3-8b.env.bak'))).toBe(false);
    expect(run('set', 'mistral-7b', 'VLLM_VERSION=0.11.0')).toMatchObject({ code: 1, stderr: expect.stringContaining('no env file') });
    expect(fs.existsSync(file('mistral-7b.env'))).toBe(false);
  });

  it('restores the .bak of the last change once, then has nothing left to restore', () => {
    expect(run('set', 'llama-3-8b', 'VLLM_VERSION=0.10.2').code).toBe(0);
    const restored = run('restore', 'llama-3-8b');
    expect(restored.code).toBe(0);
    expect(restored.stdout).toContain('llama-3-8b: VLLM_VERSION 0.10.2 -> 0.11.0');
    expect(fs.readFileSync(file(), 'utf8')).toBe(ORIGINAL);
    expect(fs.statSync(file()).mode & 0o777).toBe(0o640);
    expect(run('restore', 'llama-3-8b')).toMatchObject({ code: 1, stderr: expect.stringContaining('no backup') });
  });
});
