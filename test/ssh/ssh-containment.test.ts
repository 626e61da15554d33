/**
 * Remote containment where the host has no booted systemd (the test sshd's host has none): what a
 * step starts outside its process group (setsid, `set -m`, double fork) still dies with the step,
 * found by the tag in its environment; only a process that also clears its environment escapes.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import fs from 'node:fs';
import path from 'node:path';
import { stopAll } from '../support/child.js';
import { startSshd, type TestSshd } from '../support/sshd.js';
import { makeTempDir } from '../support/temp-dir.js';
import { waitFor } from '../support/wait-for.js';
import { processGone, readPids } from '../execute/processes.js';
import { closeAllRunners, runnersFor, sshRequest } from './ssh-harness.js';

let sshd: TestSshd;
let dir: string;
const strays: number[] = [];

beforeAll(async () => {
  sshd = await startSshd();
  dir = makeTempDir('ssh-contain');
});

afterAll(async () => {
  for (const pid of strays) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Already gone, as it should be.
    }
  }
  await closeAllRunners();
  await stopAll();
});

/** A script that leaves three processes outside its own group, writes their pids, then (unless told to end) waits. */
function escaping(pidFile: string, then: 'exit' | 'hang'): string {
  return [
    `setsid sh -c 'echo $$ >> ${pidFile}; exec sleep 3611' >/dev/null 2>&1 &`,
    `bash -c 'set -m; sleep 3614 >/dev/null 2>&1 & echo $! >> ${pidFile}'`,
    `sh -c 'sleep 3615 >/dev/null 2>&1 & echo $! >> ${pidFile}' &`,
    `while [ "$(wc -l < ${pidFile})" -lt 3 ]; do sleep 0.05; done`,
    then === 'hang' ? 'trap "" TERM; sleep 300' : 'exit 0',
  ].join('\n');
}

/** Waits until every pid is gone, failing at the deadline (epoch ms). */
async function allGoneBy(pids: readonly number[], deadline: number): Promise<void> {
  strays.push(...pids);
  await waitFor(() => (pids.every(processGone) ? true : undefined), {
    description: `every escaped remote pid gone (${pids.join(', ')})`,
    timeoutMs: Math.max(0, deadline - Date.now()),
    intervalMs: 20,
    context: () => `alive: ${pids.filter((p) => !processGone(p)).join(', ')}`,
  });
}

/** The session id of a live pid, from /proc/PID/stat field 6. */
function sessionOf(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[3]);
}

describe('remote steps on a host without systemd', () => {
  it('leave nothing behind when they end on their own, though their children left the process group', async () => {
    const pidFile = path.join(dir, 'exit.pids');
    const runner = runnersFor(sshd).runnerFor({ host: sshd.host });
    const result = await runner.run(sshRequest({ kind: 'script', script: escaping(pidFile, 'exit') }, { killGraceMs: 500 }));
    expect(result).toMatchObject({ ok: true, exitCode: 0, error: null });
    const pids = readPids(pidFile);
    expect(pids).toHaveLength(3);
    await allGoneBy(pids, Date.now() + 3000);
  });

  it('leave nothing behind after their timeout', async () => {
    const pidFile = path.join(dir, 'timeout.pids');
    const runner = runnersFor(sshd).runnerFor({ host: sshd.host });
    const started = Date.now();
    const result = await runner.run(sshRequest({ kind: 'script', script: escaping(pidFile, 'hang') }, { timeoutMs: 1500, killGraceMs: 500 }));
    expect(result).toMatchObject({ ok: false, timedOut: true, stoppedBy: 'timeout' });
    const pids = readPids(pidFile);
    expect(pids).toHaveLength(3);
    await allGoneBy(pids, started + 1500 + 500 + 3000);
  });

  it('leave nothing behind after a cancel, including children in sessions of their own', async () => {
    const pidFile = path.join(dir, 'cancel.pids');
    const abort = new AbortController();
    const runner = runnersFor(sshd).runnerFor({ host: sshd.host });
    const pending = runner.run(
      sshRequest({ kind: 'run', argv: ['bash', '-c', escaping(pidFile, 'hang')] }, { timeoutMs: 60_000, killGraceMs: 500, signal: abort.signal }),
    );
    let pids: number[] = [];
    try {
      await waitFor(() => (fs.existsSync(pidFile) && readPids(pidFile).length === 3 ? true : undefined), { description: 'escapees started' });
      pids = readPids(pidFile);
      // The setsid child really is in a session of its own, out of reach of a process-group kill.
      expect(pids.filter((p) => sessionOf(p) === p)).toHaveLength(1);
    } finally {
      abort.abort('canceled');
    }
    const canceledAt = Date.now();
    const result = await pending;
    expect(result).toMatchObject({ ok: false, stoppedBy: 'canceled' });
    await allGoneBy(pids, canceledAt + 500 + 3000);
  });

  it('leave nothing behind by their timeout when the connection is gone (a crashed service): the remote shell cleans up alone', async () => {
    const pidFile = path.join(dir, 'dropped.pids');
    const runner = runnersFor(sshd).runnerFor({ host: sshd.host });
    const started = Date.now();
    const pending = runner.run(sshRequest({ kind: 'script', script: escaping(pidFile, 'hang') }, { timeoutMs: 3000, killGraceMs: 500 }));
    await waitFor(() => (fs.existsSync(pidFile) && readPids(pidFile).length === 3 ? true : undefined), { description: 'escapees started' });
    const pids = readPids(pidFile);
    expect(killSshdSessions(sshd.child.pid)).toBeGreaterThan(0);
    const result = await pending;
    expect(result.ok).toBe(false);
    await allGoneBy(pids, started + 3000 + 500 + 3000);
  });

  it('cannot reach a child that both leaves the group and clears its environment, as the README says', async () => {
    const pidFile = path.join(dir, 'cleared.pids');
    const runner = runnersFor(sshd).runnerFor({ host: sshd.host });
    // The step ends only once the child has exec'd sleep with its empty environment, so no sweep can catch it half-way.
    const script = [
      `env -i setsid sleep 3616 >/dev/null 2>&1 & echo $! > ${pidFile}`,
      'while [ "$(cat /proc/$!/comm)" != sleep ]; do sleep 0.05; done',
      'exit 0',
    ].join('\n');
    const result = await runner.run(sshRequest({ kind: 'script', script }, { killGraceMs: 500 }));
    expect(result.ok).toBe(true);
    const [pid = 0] = readPids(pidFile);
    strays.push(pid);
    // The step's own clean-up has run by the time its result arrives; give the kernel a moment anyway.
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(processGone(pid)).toBe(false);
  });
});

/** SIGKILLs sshd's per-connection processes, as a dropped link or a kill -9 of the client ends the connection; returns how many. */
function killSshdSessions(sshdPid: number): number {
  let killed = 0;
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) !== sshdPid) continue;
      process.kill(Number(entry), 'SIGKILL');
      killed += 1;
    } catch {
      // The process ended while we looked.
    }
  }
  return killed;
}
