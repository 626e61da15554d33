/** PID-namespace containment: each step runs as the init of its own PID namespace, which takes every process in it along when it ends. */

import { accessSync, constants } from 'node:fs';
import path from 'node:path';
import { execaSync } from 'execa';
import { toError } from '../../core/errors.js';
import { signalGroup } from '../proc-stat.js';
import type { CommandLine, Containment } from './containment.js';

/**
 * --kill-child: unshare's child (the step, init of the namespace) gets SIGKILL when unshare dies, so killing the recorded
 * group (unshare leads it) empties the namespace, after a crash too. No --mount-proc: a private mount namespace would
 * hide the mounts a step makes from the host.
 */
const PID_FLAGS = ['--pid', '--fork', '--kill-child'];
/** Without CAP_SYS_ADMIN a user namespace grants it inside; the step then sees itself as root there, and only there. */
const USER_FLAGS = ['--user', '--map-root-user'];
export const SYSTEM_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** Probes the host: a PID-namespace containment when `unshare` can make one (first plainly, then inside a user namespace); otherwise why not. */
export function detectPidNamespaceContainment(): Containment | string {
  const unshare = findExecutable('unshare', SYSTEM_PATH);
  if (unshare === null) return 'unshare is not installed';
  const reasons: string[] = [];
  for (const flags of [PID_FLAGS, [...USER_FLAGS, ...PID_FLAGS]]) {
    try {
      const probe = execaSync(unshare, [...flags, '--', 'true'], { reject: false, env: { PATH: SYSTEM_PATH }, extendEnv: false, stdin: 'ignore', timeout: 5000 });
      if (probe.exitCode === 0) return pidNamespace(unshare, flags);
      reasons.push(`${flags.join(' ')}: ${String(probe.stderr).trim() || `exit ${String(probe.exitCode)}`}`);
    } catch (thrown) {
      reasons.push(toError(thrown).message);
    }
  }
  return reasons.join('; ');
}

function pidNamespace(unshare: string, flags: readonly string[]): Containment {
  return {
    kind: 'pid-namespace',
    detail: `${unshare} ${flags.join(' ')}`,
    open: async () => ({
      cgroup: null,
      wrap: (line: CommandLine, env?: Readonly<Record<string, string | undefined>>) => ({ file: unshare, args: [...flags, '--', resolveProgram(line.file, env?.PATH), ...line.args] }),
      spawnInside: (spawn) => spawn(),
      signal: (pgid, signal) => void signalGroup(pgid, signal),
      release: (pgid) => {
        signalGroup(pgid, 'SIGKILL');
        return Promise.resolve();
      },
    }),
  };
}

/**
 * The program's path, found as execvp would with the step's PATH, so that a missing program is a spawn failure
 * (ENOENT) as without the wrapper, not unshare's exit 127.
 */
export function resolveProgram(file: string, pathEnv: string | undefined): string {
  const found = file.includes('/') ? (executable(file) ? file : null) : findExecutable(file, pathEnv ?? '');
  if (found === null) throw Object.assign(new Error(`spawn ${file} ENOENT`), { code: 'ENOENT' });
  return found;
}

export function findExecutable(name: string, searchPath: string): string | null {
  for (const dir of searchPath.split(':')) {
    if (dir === '') continue;
    const candidate = path.join(dir, name);
    if (executable(candidate)) return candidate;
  }
  return null;
}

function executable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}
