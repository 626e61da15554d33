import { describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { exportLines, killGroupCommand, pgidMarker, quoteSh, remoteInvocation, seconds } from './remote-command-line.js';
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
    expect(r.stderr).toMatch(new RegExp(`^${pgidMarker('n0nce')}\\d+\\n`, 'm'));
    expect(r.stderr.replace(/^remediator-pgid-n0nce:\d+\n/m, '')).toBe('oops\n');
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
    expect(() => killGroupCommand(pgid, 1000)).toThrow(RangeError);
  });

  it('signals only the given group, TERM first and KILL after the grace', () => {
    const text = killGroupCommand(4242, 1000);
    expect(text).toMatch(/^kill -s TERM -- -4242 .*kill -s 0 -- -4242 .*kill -s KILL -- -4242 /);
    expect(text).toContain('-lt 10 ]');
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
