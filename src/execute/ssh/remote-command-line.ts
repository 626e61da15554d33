/** The text sent to a remote shell: one command string, every value single-quoted, never spliced in raw. */

import type { CommandSpec } from '../command-runner.js';

/** Quotes a value as one word for a POSIX shell: single quotes, and `'` written as `'\''`. */
export function quoteSh(value: string): string {
  return `'${value.replaceAll("'", `'\\''`)}'`;
}

/** A duration for GNU timeout and sleep: seconds with a decimal point, digits only, never 0 (which would mean "no limit"). */
export function seconds(ms: number): string {
  const whole = Math.max(1, Math.ceil(ms));
  return `${whole / 1000}`;
}

/** Names a shell can export; anything else is dropped rather than spliced into the command. */
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** The service's own PATH and HOME describe this machine, not the remote one, so they are not sent. */
const LOCAL_ONLY = new Set(['PATH', 'HOME']);

/** `export NAME='value'` lines for the variables that go to the remote side. */
export function exportLines(env: Readonly<Record<string, string>>): string[] {
  return Object.keys(env)
    .filter((name) => ENV_NAME.test(name) && !LOCAL_ONLY.has(name))
    .map((name) => `export ${name}=${quoteSh(env[name] ?? '')}`);
}

/** The stderr line the remote shell writes, so the runner learns the process group to kill. */
export function pgidMarker(nonce: string): string {
  return `remediator-pgid-${nonce}:`;
}

/** What goes over the channel: the exec command string and, for a script, its stdin. */
export interface RemoteInvocation {
  readonly command: string;
  readonly stdin: string | null;
}

/**
 * Builds the remote invocation. The login shell starts GNU timeout in the background, which
 * puts itself at the head of a new process group (it calls setpgid when not `--foreground`);
 * the shell reports that group, waits, and then kills whatever the step left in it, so nothing
 * outlives the step and no second session is needed for the clean-up. Async lists get
 * /dev/null as stdin, hence the copy of the real stdin on fd 3 for `bash -s`.
 */
export function remoteInvocation(
  command: CommandSpec,
  env: Readonly<Record<string, string>>,
  timeoutMs: number,
  killGraceMs: number,
  nonce: string,
): RemoteInvocation {
  const limit = `timeout -k ${seconds(killGraceMs)}s ${seconds(timeoutMs)}s`;
  const exports = exportLines(env);
  const program = command.kind === 'script' ? 'bash -s' : command.argv.map(quoteSh).join(' ');
  const line = [
    'exec 3<&0',
    ...(command.kind === 'script' ? [] : exports),
    `${limit} ${program} <&3 3<&- & p=$!`,
    'exec 3<&-',
    `printf '${pgidMarker(nonce)}%s\\n' "$p" >&2`,
    'wait "$p"; r=$?',
    'kill -s KILL -- "-$p" 2>/dev/null',
    'exit "$r"',
  ].join('; ');
  if (command.kind === 'run') return { command: line, stdin: null };
  const text = command.script.endsWith('\n') ? command.script : `${command.script}\n`;
  return { command: line, stdin: `${exports.map((l) => `${l}\n`).join('')}${text}` };
}

function checkedPgid(pgid: number): string {
  // Only digits of a real group id ever reach a kill command; 0 and 1 would hit the caller or everything.
  if (!Number.isSafeInteger(pgid) || pgid <= 1) throw new RangeError(`not a process group id: ${pgid}`);
  return String(pgid);
}

/** TERM to the whole group, then KILL after the grace unless the group is already gone. */
export function killGroupCommand(pgid: number, killGraceMs: number): string {
  const g = checkedPgid(pgid);
  const rounds = Math.max(1, Math.ceil(killGraceMs / 100));
  return [
    `kill -s TERM -- -${g} 2>/dev/null || exit 0`,
    `i=0; while [ "$i" -lt ${rounds} ]; do sleep 0.1; kill -s 0 -- -${g} 2>/dev/null || exit 0; i=$((i+1)); done`,
    `kill -s KILL -- -${g} 2>/dev/null; exit 0`,
  ].join('; ');
}
