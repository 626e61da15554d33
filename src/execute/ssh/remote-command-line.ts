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

/** The stderr line the remote shell writes, so the runner learns the process group to kill and how the step is contained. */
export function pgidMarker(nonce: string): string {
  return `remediator-pgid-${nonce}:`;
}

/** How the remote host contains a step: a transient systemd scope (system or user manager), or none (process group and tag sweep only). */
export type Containment = 'system' | 'user' | 'none';

/** The environment variable every process of a step inherits, so leftovers that left its process group can still be found. */
export const STEP_TAG = 'REMEDIATOR_STEP_TAG';

/** The transient scope unit a contained step runs in. */
export function scopeUnit(nonce: string): string {
  return `remediator-step-${checkedNonce(nonce)}.scope`;
}

function checkedNonce(nonce: string): string {
  // The nonce is spliced into shell text and unit names: only our own hex ever is.
  if (!/^[A-Za-z0-9]{1,32}$/.test(nonce)) throw new RangeError(`not a step nonce: ${nonce}`);
  return nonce;
}

/** What goes over the channel: the exec command string and, for a script, its stdin. */
export interface RemoteInvocation {
  readonly command: string;
  readonly stdin: string | null;
}

const SCOPE_FLAGS = '--scope --quiet --collect';

/** `systemd-run` for each containment, with the unit name; none for 'none'. */
function systemdRun(containment: Exclude<Containment, 'none'>, unit: string): string {
  return `systemd-run ${containment === 'user' ? '--user ' : ''}${SCOPE_FLAGS} --unit=${unit}`;
}

/**
 * Shell lines that signal everything a step left: its process group, its scope (when `scope`
 * is a containment word, or `"$c"` for the remote shell's own choice), and every process that
 * still carries the step's tag (setsid, double-forked and `set -m` children keep their
 * environment). The tag sweep repeats a few rounds to catch children forked while it ran.
 */
function signalLeftovers(signal: 'TERM' | 'KILL', nonce: string, pgid: string, scope: string, rounds: number): string[] {
  const unit = scopeUnit(nonce);
  const tagged = `grep -lzxF ${STEP_TAG}=${nonce} /proc/[0-9]*/environ 2>/dev/null | sed -n 's|^/proc/\\([0-9]*\\)/environ$|\\1|p'`;
  return [
    `kill -s ${signal} -- "-${pgid}" 2>/dev/null`,
    `case ${scope} in system) systemctl kill --signal=${signal} ${unit} >/dev/null 2>&1 ;; user) systemctl --user kill --signal=${signal} ${unit} >/dev/null 2>&1 ;; esac`,
    `i=0; while [ "$i" -lt ${rounds} ]; do t=$(${tagged}); [ -n "$t" ] || break; printf '%s\\n' "$t" | xargs kill -s ${signal} 2>/dev/null; i=$((i+1)); done`,
  ];
}

/**
 * Builds the remote invocation. The shell first asks whether the host can contain the step: a
 * booted systemd (`/run/systemd/system`) that starts a probe scope, through the system manager
 * as root or the user's manager otherwise. The step then runs under GNU timeout, in that scope
 * when there is one, with the step tag in its environment. timeout puts itself at the head of
 * a new process group (it calls setpgid when not `--foreground`); the shell reports that group
 * and the containment, waits, and then kills whatever the step left, so nothing outlives it and
 * no second session is needed for the clean-up, even when the connection is gone by then. Async lists get /dev/null as stdin, hence the
 * copy of the real stdin on fd 3 for `bash -s`.
 */
export function remoteInvocation(
  command: CommandSpec,
  env: Readonly<Record<string, string>>,
  timeoutMs: number,
  killGraceMs: number,
  nonce: string,
): RemoteInvocation {
  const unit = scopeUnit(nonce).replace(/\.scope$/, '');
  const probe = (c: 'system' | 'user'): string => `${systemdRun(c, `${unit}-probe`)} true </dev/null >/dev/null 2>&1 && c=${c}`;
  const limit = `timeout -k ${seconds(killGraceMs)}s ${seconds(timeoutMs)}s`;
  const exports = exportLines(env);
  const program = command.kind === 'script' ? 'bash -s' : command.argv.map(quoteSh).join(' ');
  const line = [
    'exec 3<&0',
    'c=none',
    'if [ -d /run/systemd/system ] && command -v systemd-run >/dev/null 2>&1; then',
    `if [ "$(id -u)" = 0 ]; then ${probe('system')}; else ${probe('user')}; fi`,
    'fi',
    ...(command.kind === 'script' ? [] : exports),
    // The scope prefix goes through "$@" so the program (alert data included) is written once, and
    // without word splitting, which not every login shell does.
    `case $c in system) set -- ${systemdRun('system', unit)} ;; user) set -- ${systemdRun('user', unit)} ;; *) set -- ;; esac`,
    `${STEP_TAG}=${nonce} "$@" ${limit} ${program} <&3 3<&- & p=$!`,
    'exec 3<&-',
    `printf '${pgidMarker(nonce)}%s:%s\\n' "$p" "$c" >&2`,
    // From here the shell writes nothing: a dropped connection (a crashed service) must not kill it
    // with SIGPIPE or SIGHUP before its clean-up, and bash's own "Killed" job notice is not the step's output.
    "trap '' HUP PIPE",
    'exec >/dev/null 2>&1',
    'wait "$p"; r=$?',
    ...signalLeftovers('KILL', nonce, '$p', '"$c"', 5),
    'exit "$r"',
  ].join('\n');
  if (command.kind === 'run') return { command: line, stdin: null };
  const text = command.script.endsWith('\n') ? command.script : `${command.script}\n`;
  return { command: line, stdin: `${exports.map((l) => `${l}\n`).join('')}${text}` };
}

function checkedPgid(pgid: number): string {
  // Only digits of a real group id ever reach a kill command; 0 and 1 would hit the caller or everything.
  if (!Number.isSafeInteger(pgid) || pgid <= 1) throw new RangeError(`not a process group id: ${pgid}`);
  return String(pgid);
}

/** TERM to the step's group, scope and tagged processes, then KILL after the grace (or once the group is gone). */
export function killGroupCommand(pgid: number, killGraceMs: number, nonce: string, containment: Containment): string {
  const g = checkedPgid(pgid);
  const rounds = Math.max(1, Math.ceil(killGraceMs / 100));
  return [
    ...signalLeftovers('TERM', nonce, g, containment, 1),
    `i=0; while [ "$i" -lt ${rounds} ]; do sleep 0.1; kill -s 0 -- -${g} 2>/dev/null || break; i=$((i+1)); done`,
    ...signalLeftovers('KILL', nonce, g, containment, 5),
    'exit 0',
  ].join('\n');
}
