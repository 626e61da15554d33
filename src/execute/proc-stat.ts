/** Process-group helpers over /proc and kill(2), shared by the local runner and the reclaim sweep. */

import { readFileSync } from 'node:fs';

/** Parses field 22 (starttime) of a /proc/PID/stat line; the comm field may hold spaces and parentheses, so fields are counted after the last ')'. */
export function parseStartTicks(stat: string): number | null {
  const close = stat.lastIndexOf(')');
  if (close < 0) return null;
  // After ')' the first field is number 3 (state), so field 22 is the 20th.
  const field = stat.slice(close + 1).trim().split(/\s+/)[19];
  if (field === undefined || !/^\d+$/.test(field)) return null;
  const ticks = Number(field);
  return Number.isSafeInteger(ticks) ? ticks : null;
}

/** The start time of a live process in clock ticks since boot, or null when /proc has no such process. */
export function readStartTicks(pid: number): number | null {
  try {
    return parseStartTicks(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return null;
  }
}

/** Sends a signal to a whole process group; false when the group no longer exists. */
export function signalGroup(pgid: number, signal: NodeJS.Signals | 0): boolean {
  if (!Number.isInteger(pgid) || pgid <= 1) return false;
  try {
    process.kill(-pgid, signal);
    return true;
  } catch (thrown) {
    // ESRCH: the group is gone, which is what we want; EPERM: not ours to signal.
    if ((thrown as NodeJS.ErrnoException).code === 'ESRCH') return false;
    if ((thrown as NodeJS.ErrnoException).code === 'EPERM') return false;
    throw thrown;
  }
}

/** True while any process of the group is alive (zombies included, until they are reaped). */
export function groupAlive(pgid: number): boolean {
  return signalGroup(pgid, 0);
}
