import { describe, it, expect, afterEach } from '@jest/globals';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { readStartTicks, signalGroup } from '../../src/execute/proc-stat.js';
import { startSweeper, sweepOnce } from '../../src/execute/sweep.js';
import { waitFor } from '../support/wait-for.js';
import { cmd, insertAndClaim, OWNER, openStore } from './executor-harness.js';
import { fixtureScript, processGone, readPids } from './processes.js';

const cleanup: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

/** A run whose step left a stubborn process tree and whose lease has expired. */
async function abandonedRun(recordTicks: (ticks: number) => number | null) {
  const { store, dir } = await openStore();
  cleanup.push(() => store.close());
  const pidFile = path.join(dir, 'pids');
  const child = spawn(fixtureScript('stubborn-tree.sh'), [pidFile], { detached: true, stdio: 'ignore' });
  const pgid = child.pid ?? 0;
  cleanup.push(() => void signalGroup(pgid, 'SIGKILL'));
  await waitFor(() => (fs.existsSync(pidFile) && readPids(pidFile).length === 7 ? true : undefined), { description: 'tree started' });
  const claimed = await insertAndClaim(store, [{ name: 't', steps: [cmd('hang', ['x'])], onFailure: [] }], 1);
  const key = { tierIndex: 0, phase: 'steps' as const, stepIndex: 0 };
  await store.startStep(claimed.runId, claimed.fence, { ...key, name: 'hang', kind: 'run', argv: ['x'], host: null });
  await store.recordProcess(claimed.runId, claimed.fence, key, { pgid, startTicks: recordTicks(readStartTicks(pgid) ?? 0) });
  await new Promise((r) => setTimeout(r, 10));
  return { store, pidFile, claimed, pgid };
}

describe('sweepOnce', () => {
  it('kills what is left of an expired run and releases its lease so a worker resumes it', async () => {
    const { store, pidFile, claimed } = await abandonedRun((t) => t);
    const released = await sweepOnce({ store, owner: OWNER, includeOtherOwners: false, killGraceMs: 1000 });
    expect(released).toEqual([claimed.runId]);
    await waitFor(() => (readPids(pidFile).every(processGone) ? true : undefined), { description: 'tree gone', timeoutMs: 1000, intervalMs: 20 });
    const candidates = await store.transact((tx) => tx.claimCandidates(10));
    expect(candidates).toEqual([expect.objectContaining({ runId: claimed.runId, resumed: true })]);
  });

  it('does not kill a group whose leader pid now belongs to a process started at another time', async () => {
    const { store, pgid } = await abandonedRun((t) => t + 1);
    await sweepOnce({ store, owner: OWNER, includeOtherOwners: false, killGraceMs: 200 });
    expect(processGone(pgid)).toBe(false);
  });

  it('leaves runs whose lease is still held alone', async () => {
    const { store } = await openStore();
    cleanup.push(() => store.close());
    await insertAndClaim(store, [{ name: 't', steps: [], onFailure: [] }], 60_000);
    expect(await sweepOnce({ store, owner: OWNER, includeOtherOwners: false, killGraceMs: 100 })).toEqual([]);
    expect(await sweepOnce({ store, owner: 'a-new-process', includeOtherOwners: true, killGraceMs: 100 })).toHaveLength(1);
  });
});

describe('startSweeper', () => {
  it('sweeps every interval until stopped', async () => {
    const { store, claimed } = await abandonedRun((t) => t);
    const sweeper = startSweeper({ store, owner: OWNER, killGraceMs: 500, intervalMs: 50 });
    await waitFor(async () => ((await store.transact((tx) => tx.claimCandidates(10))).length === 1 ? true : undefined), {
      description: 'lease released',
      timeoutMs: 3000,
    });
    await sweeper.stop();
    expect((await store.getRun(claimed.runId))?.state).toBe('running');
  });
});
