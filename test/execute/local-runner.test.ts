import { describe, it, expect } from '@jest/globals';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { CommandRequest } from '../../src/execute/command-runner.js';
import { createLocalRunner } from '../../src/execute/local-runner.js';
import { buildStepEnv } from '../../src/execute/step-env.js';
import type { ProcessRecord } from '../../src/history/run-store.js';
import { waitFor } from '../support/wait-for.js';
import { fixtureScript, processGone, readPids } from './processes.js';

const runner = createLocalRunner();
const baseEnv = { PATH: process.env.PATH ?? '/usr/bin:/bin' };

function tmpDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'remediator-runner-'));
}

function request(command: CommandRequest['command'], overrides: Partial<CommandRequest> = {}): CommandRequest {
  return {
    command,
    env: baseEnv,
    timeoutMs: 10_000,
    killGraceMs: 1000,
    maxOutputBytes: 65_536,
    signal: new AbortController().signal,
    ...overrides,
  };
}

describe('createLocalRunner', () => {
  it('kills a tree that ignores SIGTERM, leader and every child, within timeout plus grace plus one second', async () => {
    const pidFile = path.join(tmpDir(), 'pids');
    const started = Date.now();
    const result = await runner.run(
      request({ kind: 'run', argv: [fixtureScript('stubborn-tree.sh'), pidFile] }, { timeoutMs: 1000, killGraceMs: 1000 }),
    );
    const pids = readPids(pidFile);
    expect(pids.length).toBe(7);
    await waitFor(() => (pids.every(processGone) ? true : undefined), { description: 'every pid gone', timeoutMs: 3000 - (Date.now() - started), intervalMs: 20 });
    expect(Date.now() - started).toBeLessThan(3000);
    expect(result).toMatchObject({ ok: false, timedOut: true, stoppedBy: 'timeout', signal: 'SIGKILL', exitCode: null });
    expect(result.stdout).toBe('started\n');
  });

  it('kills the tree at once when the signal aborts, recording the abort reason', async () => {
    const pidFile = path.join(tmpDir(), 'pids');
    const abort = new AbortController();
    const spawned: ProcessRecord[] = [];
    const pending = runner.run(
      request(
        { kind: 'run', argv: [fixtureScript('stubborn-tree.sh'), pidFile] },
        { signal: abort.signal, killGraceMs: 300, onSpawn: (p) => void spawned.push(p) },
      ),
    );
    await waitFor(() => (fs.existsSync(pidFile) && readPids(pidFile).length === 7 ? true : undefined), { description: 'tree started' });
    abort.abort('canceled');
    const result = await pending;
    const pids = readPids(pidFile);
    await waitFor(() => (pids.every(processGone) ? true : undefined), { description: 'every pid gone', timeoutMs: 1000, intervalMs: 20 });
    expect(result).toMatchObject({ ok: false, timedOut: false, stoppedBy: 'canceled' });
    expect(spawned).toHaveLength(1);
    expect(spawned[0]?.pgid).toBe(pids[0]);
    expect(spawned[0]?.startTicks).toEqual(expect.any(Number));
  });

  it('keeps a chatty command running and keeps exactly maxOutputBytes of its output', async () => {
    const result = await runner.run(
      request({ kind: 'run', argv: [fixtureScript('chatty.sh'), String(10 * 1024 * 1024)] }, { maxOutputBytes: 4096 }),
    );
    expect(result).toMatchObject({ ok: true, exitCode: 0, stdoutTruncated: true, stderrTruncated: false, stderr: 'done\n' });
    expect(Buffer.byteLength(result.stdout)).toBe(4096);
    expect(result.stdout).toBe('y'.repeat(4096));
  });

  it('does not wait for a pipe held by a background child once the leader exits, and kills that child', async () => {
    const pidFile = path.join(tmpDir(), 'pids');
    const started = Date.now();
    const result = await runner.run(request({ kind: 'run', argv: [fixtureScript('leaky-grandchild.sh'), pidFile] }));
    expect(Date.now() - started).toBeLessThan(2000);
    expect(result).toMatchObject({ ok: true, exitCode: 0, stdout: 'leader done\n' });
    const [child] = readPids(pidFile);
    await waitFor(() => (processGone(child ?? 0) ? true : undefined), { description: 'background child gone', timeoutMs: 1000, intervalMs: 20 });
  });

  it('passes only the allow-listed environment: a secret of the service never reaches the step, PARAM_X does', async () => {
    process.env.REMEDIATOR_TEST_SECRET = 'hunter2-secret-value';
    process.env.LD_PRELOAD = '/nonexistent/evil.so';
    try {
      const env = buildStepEnv({ PARAM_X: 'value of x', RUN_ID: 'r1' }, [], process.env);
      const result = await runner.run(request({ kind: 'run', argv: [fixtureScript('print-env.sh')] }, { env }));
      expect(result.ok).toBe(true);
      expect(result.stdout).toContain('PARAM_X=value of x\n');
      expect(result.stdout).toContain('RUN_ID=r1\n');
      expect(result.stdout).not.toContain('hunter2-secret-value');
      expect(result.stdout).not.toContain('LD_PRELOAD');
    } finally {
      delete process.env.REMEDIATOR_TEST_SECRET;
      delete process.env.LD_PRELOAD;
    }
  });

  it('gives each hostile argv element to the program as exactly one literal argument', async () => {
    const dir = tmpDir();
    const canary = path.join(dir, 'CANARY');
    const out = path.join(dir, 'argv');
    const hostile = [
      `$(touch ${canary})`,
      `\`touch ${canary}\``,
      `; touch ${canary}`,
      `| touch ${canary}`,
      `a\ntouch ${canary}`,
      '--help',
      '-rf',
      'x'.repeat(10_240),
      '\\xff\\xfe\\u0000%ff',
      "it's \"quoted\" ${HOME} * ?",
      '',
    ];
    const result = await runner.run(request({ kind: 'run', argv: [fixtureScript('write-argv.sh'), out, ...hostile] }));
    expect(result.ok).toBe(true);
    const received = fs.readFileSync(out, 'utf8').split('\0').slice(0, -1);
    expect(received).toEqual(hostile);
    expect(fs.existsSync(canary)).toBe(false);
  });

  it('runs a script with bash, alert data arriving only through the environment', async () => {
    const result = await runner.run(
      request({ kind: 'script', script: 'set -euo pipefail\nprintf "%s|%s" "$0" "$PARAM_HOST"' }, { env: { ...baseEnv, PARAM_HOST: '$(id)' } }),
    );
    expect(result).toMatchObject({ ok: true, exitCode: 0, stdout: 'remediator-step|$(id)' });
  });

  it.each([
    ['a missing program', ['/nonexistent/program']],
    ['an argument holding NUL', ['echo', 'a\0b']],
    ['an empty argv', []],
  ])('answers %s with a SPAWN_FAILED result, not an exception', async (_name, argv) => {
    const result = await runner.run(request({ kind: 'run', argv }));
    expect(result.ok).toBe(false);
    expect(result.error?.code).toBe('SPAWN_FAILED');
    expect(result.exitCode).toBeNull();
  });

  it('reports a non-zero exit as a failed result with its code', async () => {
    const result = await runner.run(request({ kind: 'script', script: 'echo oops >&2; exit 3' }));
    expect(result).toMatchObject({ ok: false, exitCode: 3, signal: null, stoppedBy: null, stderr: 'oops\n', error: null });
  });

  it('does not start a command whose signal already aborted', async () => {
    const abort = new AbortController();
    abort.abort('shutdown');
    const dir = tmpDir();
    const result = await runner.run(request({ kind: 'run', argv: ['touch', path.join(dir, 'ran')] }, { signal: abort.signal }));
    expect(result).toMatchObject({ ok: false, stoppedBy: 'shutdown' });
    expect(fs.existsSync(path.join(dir, 'ran'))).toBe(false);
  });
});
