import { describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { exportLines, killGroupCommand, pgidMarker, quoteSh, remoteInvocation, scopeUnit, seconds, STEP_TAG } from './remote-command-line.js';
import type { CommandSpec } from '../command-runner.js';

/** sshd hands the command to the user's login shell as `-c`; both shells a Linux host is likely to have are tried. */
const SHELLS = ['sh', 'bash'] as const;

/** An empty HOME: bash takes a socket on stdin (as Node gives it) for sshd and would read the real ~/.bashrc. */
const HOME = fs.mkdtempSync(path.join(os.tmpdir(), 'remediator-home-'));

function viaShell(shell: string, command: string, stdin = ''): { stdout: string; stderr: string; status: number | null } {
  const env = { PATH: '/usr/local/bin:/usr/bin:/bin', HOME };
  const r = spawnSync(shell, ['-c', command], { input: stdin, encoding: 'utf8', env });
  return { stdout: r.stdout, stderr: r.stderr, status: r.status };
}

function invoke(shell: string, command: CommandSpec, env: Record<string, string> = {}, timeoutMs = 10_000) {
  const inv = remoteInvocation(command, env, timeoutMs, 500, 'n0nce');
  return viaShell(shell, inv.command, inv.stdin ?? '');
}

describe('quoteSh', () => {
  it.each(SHELLS.flatMap((shell) => ["it's", "'", "''", '\\', '$(id)', '`id`', '"$HOME"', '\n', '-n', '*', '', 'a b'].map((v) => [shell, v])))(
    'makes %s read %j back as exactly one word',
    (shell, value) => {
      expect(viaShell(shell, `printf '%s\\0' ${quoteSh(value)}`).stdout).toBe(`${value}\0`);
    },
  );
});

describe('remoteInvocation', () => {
  it.each(SHELLS)('runs argv literally under %s, reports the process group on stderr and passes the exit code on', (shell) => {
    const r = invoke(shell, { kind: 'run', argv: ['sh', '-c', 'printf "%s|" "$@"; echo oops >&2; exit 3', 'x', "a'b", '$(id)'] });
    expect(r.stdout).toBe("a'b|$(id)|");
    // This machine has no booted systemd, so the shell reports the fallback containment.
    expect(r.stderr).toMatch(new RegExp(`^${pgidMarker('n0nce')}\\d+:none\\n`, 'm'));
    expect(r.stderr.replace(/^remediator-pgid-n0nce:\d+:none\n/m, '')).toBe('oops\n');
    expect(r.status).toBe(3);
  });

  it.each(SHELLS)('gives a script to bash -s on stdin under %s, after its exported variables', (shell) => {
    const r = invoke(shell, { kind: 'script', script: 'printf "%s|" "$PARAM_A"\ncat\nthe rest of stdin' }, { PARAM_A: "x'$(id)" });
    // `cat` reads the script's own remaining text: that is how `bash -s` works, and it shows the text came on stdin.
    expect(r.stdout).toBe(`x'$(id)|the rest of stdin\n`);
    expect(r.status).toBe(0);
  });

  it.each(SHELLS)('answers 124 under %s when GNU timeout ends the command', (shell) => {
    const started = Date.now();
    const r = invoke(shell, { kind: 'run', argv: ['sleep', '5'] }, {}, 300);
    expect(r.status).toBe(124);
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it.each(SHELLS)('kills under %s what the command left in its group once it exits', async (shell) => {
    const r = invoke(shell, { kind: 'run', argv: ['sh', '-c', 'sleep 100 >/dev/null 2>&1 & echo $!'] });
    const pid = Number(r.stdout.trim());
    expect(pid).toBeGreaterThan(1);
    // SIGKILL was sent before the shell exited; on a busy machine the kernel may take a moment to finish the process.
    for (let i = 0; i < 100 && !gone(pid); i += 1) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(gone(pid)).toBe(true);
  });

  it.each(SHELLS)('kills under %s what the command started in a new session (setsid, set -m), by its tag', async (shell) => {
    const leave = 'setsid sleep 101 >/dev/null 2>&1 & echo $!; bash -c "set -m; sleep 102 >/dev/null 2>&1 & echo \\$!"';
    const r = invoke(shell, { kind: 'run', argv: ['sh', '-c', leave] });
    const pids = r.stdout.trim().split('\n').map(Number);
    expect(pids).toHaveLength(2);
    for (let i = 0; i < 100 && !pids.every(gone); i += 1) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(pids.filter((p) => !gone(p))).toEqual([]);
  });

  it('contains the step in a systemd scope where the host has one, and tags it either way', () => {
    const { command } = remoteInvocation({ kind: 'run', argv: ['true'] }, {}, 1000, 500, 'n0nce');
    expect(command).toContain('if [ -d /run/systemd/system ] && command -v systemd-run');
    expect(command).toContain('systemd-run --scope --quiet --collect --unit=remediator-step-n0nce-probe true');
    expect(command).toContain('systemd-run --user --scope --quiet --collect --unit=remediator-step-n0nce-probe true');
    expect(command).toContain('system) set -- systemd-run --scope --quiet --collect --unit=remediator-step-n0nce ;;');
    expect(command).toContain('user) set -- systemd-run --user --scope --quiet --collect --unit=remediator-step-n0nce ;;');
    expect(command).toContain(`${STEP_TAG}=n0nce "$@" timeout -k 0.5s 1s 'true' <&3`);
    expect(command).toContain(`systemctl --user kill --signal=KILL ${scopeUnit('n0nce')}`);
  });

  it('refuses a nonce that is not plain letters and digits', () => {
    expect(() => remoteInvocation({ kind: 'run', argv: ['true'] }, {}, 1000, 500, 'a;b')).toThrow(RangeError);
  });
});

/** True when the pid no longer runs (a zombie waiting for a reaper that is not ours counts as gone). */
function gone(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return true;
  }
}

describe('exportLines', () => {
  it('exports alert data, quoted, and never the service PATH or HOME nor a name a shell cannot hold', () => {
    expect(exportLines({ PARAM_X: "a'b", PATH: '/x', HOME: '/y', 'BAD-NAME': 'v', 'X;id': 'v', LANG: 'C' })).toEqual([
      `export PARAM_X='a'\\''b'`,
      `export LANG='C'`,
    ]);
  });
});

describe('killGroupCommand', () => {
  it.each([0, 1, -5, 1.5, Number.NaN, 2 ** 60])('refuses %p as a process group', (pgid) => {
    expect(() => killGroupCommand(pgid, 1000, 'n0nce', 'none')).toThrow(RangeError);
  });

  it('signals only the given group, its tag and its scope, TERM first and KILL after the grace', () => {
    const text = killGroupCommand(4242, 1000, 'n0nce', 'user');
    expect(text).toMatch(/^kill -s TERM -- "-4242" .*kill -s 0 -- -4242 .*kill -s KILL -- "-4242" /s);
    expect(text).toContain('-lt 10 ]');
    expect(text).toContain(`grep -lzxF ${STEP_TAG}=n0nce /proc/[0-9]*/environ`);
    expect(text).toMatch(/case user in .*systemctl --user kill --signal=TERM remediator-step-n0nce\.scope.*systemctl --user kill --signal=KILL remediator-step-n0nce\.scope/s);
  });

  it.each(SHELLS)('kills under %s a tagged process that left its group, and nothing untagged', async (shell) => {
    const tagged = spawnSync('sh', ['-c', `${STEP_TAG}=n0nce setsid sleep 103 >/dev/null 2>&1 & echo $!`], { encoding: 'utf8' });
    const untagged = spawnSync('sh', ['-c', `${STEP_TAG}=other setsid sleep 104 >/dev/null 2>&1 & echo $!`], { encoding: 'utf8' });
    const [t, u] = [Number(tagged.stdout.trim()), Number(untagged.stdout.trim())];
    try {
      // The group 999999 does not exist: only the tag can find the sleep.
      expect(viaShell(shell, killGroupCommand(999_999, 200, 'n0nce', 'none')).status).toBe(0);
      for (let i = 0; i < 100 && !gone(t); i += 1) await new Promise((resolve) => setTimeout(resolve, 20));
      expect(gone(t)).toBe(true);
      expect(gone(u)).toBe(false);
    } finally {
      for (const pid of [t, u]) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // Already gone.
        }
      }
    }
  });
});

describe('seconds', () => {
  it.each([
    [1500, '1.5'],
    [60_000, '60'],
    [0, '0.001'],
    [1, '0.001'],
    [0.2, '0.001'],
  ])('writes %p ms as %p', (ms, text) => {
    expect(seconds(ms)).toBe(text);
  });
});
