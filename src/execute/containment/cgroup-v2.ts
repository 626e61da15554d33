/** cgroup v2 containment: each step attempt in its own cgroup below the service's, killed whole through `cgroup.kill`. */

import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { mkdir, readFile, rmdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { execaSync } from 'execa';
import { toError } from '../../core/errors.js';
import { abortableDelay } from '../abortable-delay.js';
import { signalGroup } from '../proc-stat.js';
import type { CommandLine, Containment, StepContainer } from './containment.js';
import { findExecutable, resolveProgram, SYSTEM_PATH } from './pid-namespace.js';

/** The folder below the service's own cgroup that holds the step cgroups. */
const PARENT_NAME = 'remediator';
/** A step cgroup's name: the service's pid and a random id, so no two services or steps ever share one. */
const STEP_NAME = /^step-\d+-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const EMPTY_POLL_MS = 20;
/** How long release() waits for a killed cgroup to empty before leaving it for the sweep. */
const RELEASE_WAIT_MS = 2000;

/** A cgroup2 mount from /proc/self/mountinfo: the hierarchy path it shows (root) and where it is mounted. */
export interface Cgroup2Mount {
  readonly root: string;
  readonly mountPoint: string;
}

/** The cgroup2 mounts listed in a /proc/PID/mountinfo text (fields: id parent dev root mountpoint opts [tags] - fstype ...). */
export function parseCgroup2Mounts(mountinfo: string): Cgroup2Mount[] {
  const mounts: Cgroup2Mount[] = [];
  for (const line of mountinfo.split('\n')) {
    const [left, right] = line.split(' - ');
    if (left === undefined || right === undefined || right.split(' ')[0] !== 'cgroup2') continue;
    const fields = left.split(' ');
    const root = fields[3];
    const mountPoint = fields[4];
    if (root !== undefined && mountPoint !== undefined) mounts.push({ root: unescapeMountField(root), mountPoint: unescapeMountField(mountPoint) });
  }
  return mounts;
}

/** The unified-hierarchy path in a /proc/PID/cgroup text (its `0::` line), or null when the process has none. */
export function parseUnifiedCgroup(procCgroup: string): string | null {
  const line = procCgroup.split('\n').find((l) => l.startsWith('0::'));
  return line === undefined ? null : line.slice(3);
}

/** The folder of a hierarchy path under the first mount that shows it, or null when no mount does. */
export function cgroupFolder(mounts: readonly Cgroup2Mount[], cgroupPath: string): string | null {
  for (const mount of mounts) {
    const root = mount.root.replace(/\/+$/, '');
    if (cgroupPath !== root && !cgroupPath.startsWith(`${root}/`)) continue;
    // No trailing slash (the root's path is '/'), so that folders compare as strings.
    return path.join(mount.mountPoint, cgroupPath.slice(root.length)).replace(/(.)\/+$/, '$1');
  }
  return null;
}

/** The folder of this process' own cgroup, read afresh (something may have moved us), or null without cgroup v2. */
export function ownCgroupFolder(): string | null {
  const own = parseUnifiedCgroup(readFileSync('/proc/self/cgroup', 'utf8'));
  return own === null ? null : cgroupFolder(parseCgroup2Mounts(readFileSync('/proc/self/mountinfo', 'utf8')), own);
}

/** Probes the host: a cgroup v2 containment when a step cgroup can be made, entered, killed and removed; otherwise why not. */
export function detectCgroupContainment(): Containment | string {
  try {
    const own = ownCgroupFolder();
    if (own === null) return 'no cgroup v2 hierarchy holds this process';
    const parent = path.join(own, PARENT_NAME);
    mkdirSync(parent, { recursive: true });
    const sh = findExecutable('sh', SYSTEM_PATH);
    if (sh === null) return 'no sh to enter a step cgroup with';
    const probe = newStepFolder(parent);
    try {
      if (!existsSync(path.join(probe, 'cgroup.kill'))) return 'cgroup.kill is missing (kernel older than 5.14)';
      const entered = execaSync(sh, [...enterArgs(probe, undefined), 'cat', '/proc/self/cgroup'], { reject: false, env: { PATH: SYSTEM_PATH }, extendEnv: false, stdin: 'ignore', timeout: 5000 });
      if (entered.exitCode !== 0 || path.basename(parseUnifiedCgroup(String(entered.stdout)) ?? '') !== path.basename(probe)) {
        return `a child cannot enter a step cgroup: ${String(entered.stderr).trim() || `exit ${String(entered.exitCode)}`}`;
      }
    } finally {
      rmdirSync(probe);
    }
    removeEmptyOrphans(parent);
    return { kind: 'cgroup', detail: parent, open: () => openStepCgroup(parent, sh) };
  } catch (thrown) {
    return toError(thrown).message;
  }
}

/** True for a folder that is a step cgroup of ours and exists: the only kind the sweep may kill by a path read from the store. */
export function isStepCgroup(folder: string): boolean {
  return path.isAbsolute(folder) && STEP_NAME.test(path.basename(folder)) && path.basename(path.dirname(folder)) === PARENT_NAME
    && existsSync(path.join(folder, 'cgroup.kill'));
}

/** Kills every process of a step cgroup, waits up to waitMs for it to empty and removes it; false when it is not one of ours or is gone. */
export async function killStepCgroup(folder: string, waitMs: number): Promise<boolean> {
  if (!isStepCgroup(folder) || holdsThisProcess(folder)) return false;
  // Off the event loop: cgroup writes and removals wait on the kernel's cgroup lock, for milliseconds when steps start at once.
  try {
    await writeFile(path.join(folder, 'cgroup.kill'), '1');
  } catch {
    // Removed between the check and the write: nothing is left to kill.
    return false;
  }
  const deadline = Date.now() + waitMs;
  while ((await populated(folder)) && Date.now() < deadline) await abortableDelay(EMPTY_POLL_MS);
  try {
    await rmdir(folder);
  } catch {
    // Still emptying (or already gone); a leftover empty cgroup costs nothing.
  }
  return true;
}

/**
 * Removes the empty step cgroups of services that are gone (a kill -9 between a step's end and its rmdir). A populated
 * one is left alone: the store's sweep kills it if its run recorded it, and its creator's pid may mean nothing here.
 */
function removeEmptyOrphans(parent: string): void {
  for (const name of readdirSync(parent)) {
    const creator = STEP_NAME.test(name) ? Number(name.split('-')[1]) : null;
    if (creator === null || creator === process.pid || pidAlive(creator)) continue;
    try {
      // rmdir(2) refuses a populated cgroup, so only empty ones go.
      rmdirSync(path.join(parent, name));
    } catch {
      // Still populated, or removed by another service starting now.
    }
  }
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (thrown) {
    return (thrown as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function openStepCgroup(parent: string, sh: string): Promise<StepContainer> {
  const folder = path.join(parent, stepName());
  await mkdir(folder);
  return {
    cgroup: folder,
    wrap: (line: CommandLine, env?: Readonly<Record<string, string | undefined>>) => ({
      file: sh,
      args: [...enterArgs(folder, env?.PWD), resolveProgram(line.file, env?.PATH), ...line.args],
    }),
    spawnInside: (spawn) => spawn(),
    signal(pgid, signal) {
      signalGroup(pgid, signal);
      if (signal === 'SIGKILL') {
        if (!holdsThisProcess(folder)) writeQuietly(path.join(folder, 'cgroup.kill'), '1');
        return;
      }
      // TERM reaches what left the group too (setsid daemons), so each gets its chance to clean up before the KILL.
      for (const pid of members(folder)) {
        try {
          process.kill(pid, signal);
        } catch {
          // Gone already.
        }
      }
    },
    async release(pgid) {
      signalGroup(pgid, 'SIGKILL');
      await killStepCgroup(folder, RELEASE_WAIT_MS);
    },
  };
}

function stepName(): string {
  return `step-${process.pid}-${randomUUID()}`;
}

function newStepFolder(parent: string): string {
  const folder = path.join(parent, stepName());
  mkdirSync(folder);
  return folder;
}

/**
 * The child enters the step cgroup itself, then becomes the step: `sh -c SCRIPT FOLDER PROGRAM ARGS...` writes 0 (the
 * writer) to the cgroup's cgroup.procs and execs the program with its arguments, so nothing the step starts is ever outside
 * the cgroup. Node cannot spawn into a cgroup (no clone3 CLONE_INTO_CGROUP), and moving this service in and out around each
 * spawn migrates every thread of it twice (milliseconds of the event loop per step). The script is a constant: the step's
 * argv reaches sh as positional parameters, expanded by "$@" and never parsed. A move that fails ends the child with 125
 * before the program runs. sh exports PWD of its own accord: the step's environment gets it back as it was given (unset,
 * or the given value), so it is exactly the environment the step was given.
 */
const ENTER_SCRIPT = 'echo 0 > "$0/cgroup.procs" || exit 125; if [ "$1" = set ]; then PWD=$2; export PWD; else unset PWD; fi; shift 2; exec "$@"';

function enterArgs(folder: string, pwd: string | undefined): string[] {
  return ['-c', ENTER_SCRIPT, folder, pwd === undefined ? 'unset' : 'set', pwd ?? ''];
}

/** Never kill a cgroup that holds the service itself (a failed move back would leave it there). */
function holdsThisProcess(folder: string): boolean {
  const own = ownCgroupFolder();
  return own !== null && (own === folder || own.startsWith(`${folder}/`));
}

function members(folder: string): number[] {
  try {
    return readFileSync(path.join(folder, 'cgroup.procs'), 'utf8').split('\n').filter((l) => l !== '').map(Number);
  } catch {
    return [];
  }
}

async function populated(folder: string): Promise<boolean> {
  try {
    return /^populated 1$/m.test(await readFile(path.join(folder, 'cgroup.events'), 'utf8'));
  } catch {
    return false;
  }
}

function writeQuietly(file: string, text: string): void {
  try {
    writeFileSync(file, text);
  } catch {
    // The cgroup is gone, and with it everything it held.
  }
}

/** mountinfo escapes space, tab, newline and backslash as octal. */
function unescapeMountField(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_m, octal: string) => String.fromCharCode(parseInt(octal, 8)));
}
