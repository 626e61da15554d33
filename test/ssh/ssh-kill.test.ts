import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import fs from 'node:fs';
import path from 'node:path';
import type { ProcessRecord } from '../../src/history/run-store.js';
import { stopAll } from '../support/child.js';
import { startSshd, type TestSshd } from '../support/sshd.js';
import { makeTempDir } from '../support/temp-dir.js';
import { waitFor } from '../support/wait-for.js';
import { fixtureScript, processGone, readPids } from '../execute/processes.js';
import { closeAllRunners, runnersFor, sshRequest } from './ssh-harness.js';

let sshd: TestSshd;
let dir: string;

beforeAll(async () => {
  sshd = await startSshd();
  dir = makeTempDir('ssh-kill');
});

afterAll(async () => {
  await closeAllRunners();
  await stopAll();
});

/** The process group of a live pid, from /proc/PID/stat field 5. */
function pgidOf(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]);
}

/** Waits until every pid is gone, failing at the deadline (epoch ms). */
async function allGoneBy(pids: readonly number[], deadline: number): Promise<void> {
  await waitFor(() => (pids.every(processGone) ? true : undefined), {
    description: `every remote pid gone (${pids.join(', ')})`,
    timeoutMs: Math.max(0, deadline - Date.now()),
    intervalMs: 20,
    context: () => `alive: ${pids.filter((p) => !processGone(p)).join(', ')}`,
  });
}

describe('remote commands that ignore SIGTERM', () => {
  it('are gone, with every child, within timeout + grace + 2 s after the step times out', async () => {
    const pidFile = path.join(dir, 'timeout.pids');
    const runner = runnersFor(sshd).runnerFor({ host: sshd.host });
    const started = Date.now();
    const result = await runner.run(
      sshRequest({ kind: 'run', argv: [fixtureScript('stubborn-tree.sh'), pidFile] }, { timeoutMs: 1000, killGraceMs: 1000 }),
    );
    const pids = readPids(pidFile);
    expect(pids).toHaveLength(7);
    await allGoneBy(pids, started + 1000 + 1000 + 2000);
    expect(result).toMatchObject({ ok: false, timedOut: true, stoppedBy: 'timeout', stdout: 'started\n', error: null });
  });

  it('are gone, with every child, within grace + 2 s after a cancel, and the remote group is reported first', async () => {
    const pidFile = path.join(dir, 'cancel.pids');
    const spawned: ProcessRecord[] = [];
    const abort = new AbortController();
    const runner = runnersFor(sshd).runnerFor({ host: sshd.host });
    const pending = runner.run(
      sshRequest(
        { kind: 'run', argv: [fixtureScript('stubborn-tree.sh'), pidFile] },
        { timeoutMs: 60_000, killGraceMs: 1000, signal: abort.signal, onSpawn: (p) => void spawned.push(p) },
      ),
    );
    await waitFor(() => (fs.existsSync(pidFile) && readPids(pidFile).length === 7 ? true : undefined), { description: 'tree started' });
    const pids = readPids(pidFile);
    const group = pgidOf(pids[0] ?? 0);
    abort.abort('canceled');
    const canceledAt = Date.now();
    const result = await pending;
    await allGoneBy(pids, canceledAt + 1000 + 2000);
    expect(result).toMatchObject({ ok: false, timedOut: false, stoppedBy: 'canceled', host: `${sshd.user}@127.0.0.1:${sshd.port}` });
    expect(spawned).toEqual([{ host: `${sshd.user}@127.0.0.1:${sshd.port}`, pgid: group, startTicks: null }]);
    expect(pids.every((p) => p !== group)).toBe(true);
  });

  it('stops a script step the same way when the service shuts down', async () => {
    const pidFile = path.join(dir, 'script.pids');
    const abort = new AbortController();
    const runner = runnersFor(sshd).runnerFor({ host: sshd.host });
    const pending = runner.run(
      sshRequest(
        { kind: 'script', script: `exec "$STUBBORN" "$PIDS"` },
        { env: { STUBBORN: fixtureScript('stubborn-tree.sh'), PIDS: pidFile }, timeoutMs: 60_000, killGraceMs: 500, signal: abort.signal },
      ),
    );
    await waitFor(() => (fs.existsSync(pidFile) && readPids(pidFile).length === 7 ? true : undefined), { description: 'tree started' });
    const pids = readPids(pidFile);
    abort.abort('shutdown');
    const stoppedAt = Date.now();
    const result = await pending;
    await allGoneBy(pids, stoppedAt + 500 + 2000);
    expect(result).toMatchObject({ ok: false, timedOut: false, stoppedBy: 'shutdown' });
  });
});
