import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CommandRunner } from '../../src/execute/command-runner.js';
import { stopAll } from '../support/child.js';
import { startSshd, type TestSshd } from '../support/sshd.js';
import { makeTempDir } from '../support/temp-dir.js';
import { hostileValues } from './hostile-values.js';
import { closeAllRunners, runnersFor, sshRequest } from './ssh-harness.js';

const RECORD_ARGV = fileURLToPath(new URL('../fixtures/ssh/record-argv.sh', import.meta.url));
/** Steps in flight at once: enough to keep two pooled connections busy. */
const PARALLEL = 6;
/** A few hundred SSH sessions: each starts the remote user's shell, which can take a while on a loaded machine. */
const STEPS_TIMEOUT_MS = 240_000;

let sshd: TestSshd;
let dir: string;
let canary: string;
let values: string[];

beforeAll(async () => {
  sshd = await startSshd();
  dir = makeTempDir('ssh-hostile');
  canary = path.join(dir, 'CANARY');
  values = hostileValues(canary);
});

afterAll(async () => {
  await closeAllRunners();
  await stopAll();
});

/** Runs one step per value, PARALLEL at a time; returns the indexes whose check failed, with what was seen. */
async function forEachValue(check: (value: string, index: number) => Promise<string | null>): Promise<string[]> {
  const failures: string[] = [];
  let next = 0;
  const lane = async (): Promise<void> => {
    for (let i = next++; i < values.length; i = next++) {
      const problem = await check(values[i] ?? '', i);
      if (problem !== null) failures.push(`#${i} ${JSON.stringify(values[i]?.slice(0, 80))}: ${problem}`);
    }
  };
  await Promise.all(Array.from({ length: PARALLEL }, lane));
  return failures;
}

function runnerFor(): CommandRunner {
  return runnersFor(sshd).runnerFor({ host: sshd.host });
}

describe('hostile values over SSH', () => {
  it('generates at least 200 distinct values, each free of NUL', () => {
    expect(values.length).toBeGreaterThanOrEqual(200);
    expect(values.some((v) => v.includes('\0'))).toBe(false);
  });

  it('reach a remote run step each as exactly one literal argument, and as its PARAM_V', async () => {
    const runner = runnerFor();
    const failures = await forEachValue(async (value, i) => {
      const out = path.join(dir, `run-${i}`);
      const result = await runner.run(sshRequest({ kind: 'run', argv: [RECORD_ARGV, out, value] }, { env: { PARAM_V: value } }));
      if (!result.ok) return `step failed: ${JSON.stringify(result.error ?? result.stderr)}`;
      if (!fs.readFileSync(out).equals(Buffer.from(`${value}\0`))) return `argv was ${JSON.stringify(fs.readFileSync(out, 'latin1').slice(0, 80))}`;
      if (!fs.readFileSync(`${out}.env`).equals(Buffer.from(value))) return 'PARAM_V differs';
      return null;
    });
    expect(failures).toEqual([]);
    expect(fs.existsSync(canary)).toBe(false);
  }, STEPS_TIMEOUT_MS);

  it('reach a remote script step through its environment unchanged', async () => {
    const runner = runnerFor();
    const script = 'printf "%s" "$PARAM_V" > "$PARAM_OUT"\n"$RECORD" "$PARAM_OUT.argv" "$PARAM_V"\n';
    const failures = await forEachValue(async (value, i) => {
      const out = path.join(dir, `script-${i}`);
      const env = { PARAM_V: value, PARAM_OUT: out, RECORD: RECORD_ARGV };
      const result = await runner.run(sshRequest({ kind: 'script', script }, { env }));
      if (!result.ok) return `step failed: ${JSON.stringify(result.error ?? result.stderr)}`;
      if (!fs.readFileSync(out).equals(Buffer.from(value))) return `PARAM_V was ${JSON.stringify(fs.readFileSync(out, 'latin1').slice(0, 80))}`;
      if (!fs.readFileSync(`${out}.argv`).equals(Buffer.from(`${value}\0`))) return 'argv differs';
      return null;
    });
    expect(failures).toEqual([]);
    expect(fs.existsSync(canary)).toBe(false);
  }, STEPS_TIMEOUT_MS);

  it('would notice a canary: a substitution handed to sh -c on purpose does run (control)', async () => {
    const runner = runnerFor();
    const control = path.join(dir, 'CONTROL');
    const result = await runner.run(sshRequest({ kind: 'run', argv: ['sh', '-c', `echo $(touch ${control})`] }));
    expect(result.ok).toBe(true);
    expect(fs.existsSync(control)).toBe(true);
    expect(fs.existsSync(canary)).toBe(false);
  });
});
