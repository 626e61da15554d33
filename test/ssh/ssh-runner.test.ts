import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import fs from 'node:fs';
import { stopAll } from '../support/child.js';
import { startSilentTcpServer, startSshd, type TestSshd } from '../support/sshd.js';
import { sleep, waitFor } from '../support/wait-for.js';
import { closeAllRunners, runnersFor, sshRequest } from './ssh-harness.js';

let sshd: TestSshd;

beforeAll(async () => {
  sshd = await startSshd();
});

afterAll(async () => {
  await closeAllRunners();
  await stopAll();
});

/** The sshd log lines written for the connections made while `act` ran, once sshd has logged their end. */
async function sshdLogDuring(act: () => Promise<void>): Promise<string> {
  const before = sshd.log().length;
  await act();
  return waitFor(
    () => {
      const slice = sshd.log().slice(before);
      return /^Connection from /m.test(slice) && /(Disconnected from|Connection closed by) /.test(slice) ? slice : undefined;
    },
    { description: 'sshd to log the end of the connection', timeoutMs: 5000, intervalMs: 20, context: () => sshd.log() },
  );
}

describe('createSshRunners against a real sshd', () => {
  it('records the exit code, stdout and stderr of a run step, and names the host', async () => {
    const runner = runnersFor(sshd).runnerFor({ host: sshd.host });
    const result = await runner.run(sshRequest({ kind: 'run', argv: ['sh', '-c', 'echo out; echo err >&2; exit 3', 'ignored'] }));
    expect(result).toMatchObject({
      ok: false,
      exitCode: 3,
      signal: null,
      timedOut: false,
      stoppedBy: null,
      stdout: 'out\n',
      stderr: 'err\n',
      error: null,
      host: `${sshd.user}@127.0.0.1:${sshd.port}`,
    });
  });

  it('sends a script on stdin to bash -s with its variables exported and quoted', async () => {
    const runner = runnersFor(sshd).runnerFor({ host: sshd.host, port: sshd.port, user: sshd.user });
    const script = 'set -eu\nprintf "%s|" "$PARAM_MODEL" "$RUN_ID"\necho warn >&2\n[ -z "${PATH_FROM_SERVICE:-}" ]';
    const result = await runner.run(
      sshRequest({ kind: 'script', script }, { env: { PARAM_MODEL: "llama 3's $(x)", RUN_ID: 'r-1', PATH: '/nowhere', HOME: '/nowhere' } }),
    );
    expect(result).toMatchObject({ ok: true, exitCode: 0, stdout: "llama 3's $(x)|r-1|", stderr: 'warn\n', error: null });
  });

  it('fills user and port from the config when the step leaves them unset', async () => {
    const runner = runnersFor(sshd).runnerFor({ host: sshd.host });
    const result = await runner.run(sshRequest({ kind: 'run', argv: ['id', '-un'] }));
    expect(result.stdout).toBe(`${sshd.user}\n`);
  });

  it.each([
    ['plain', () => sshd.knownHostsFile, () => `[127.0.0.1]:${sshd.port} ssh-ed25519 `],
    ['hashed', () => sshd.hashedKnownHostsFile, () => '|1|'],
    ['ECDSA-only', () => sshd.ecdsaKnownHostsFile, () => `[127.0.0.1]:${sshd.port} ecdsa-sha2-nistp256 `],
  ])('accepts the host through a %s known_hosts entry', async (_kind, file, marker) => {
    expect(fs.readFileSync(file(), 'utf8')).toContain(marker());
    const runner = runnersFor(sshd, { knownHostsFile: file() }).runnerFor({ host: sshd.host });
    const result = await runner.run(sshRequest({ kind: 'run', argv: ['echo', 'pinned'] }));
    expect(result).toMatchObject({ ok: true, stdout: 'pinned\n', error: null });
  });

  it('refuses a host whose key differs from knownHostsFile before any authentication', async () => {
    // The client key here is not authorized: had authentication been tried, the error would be SSH_AUTH_FAILED.
    const runner = runnersFor(sshd, { knownHostsFile: sshd.wrongKnownHostsFile, privateKeyFile: sshd.unauthorizedKeyFile }).runnerFor({
      host: sshd.host,
    });
    let result: Awaited<ReturnType<typeof runner.run>> | undefined;
    const log = await sshdLogDuring(async () => {
      result = await runner.run(sshRequest({ kind: 'run', argv: ['touch', `${sshd.dir}/must-not-exist`] }));
    });
    expect(result?.error?.code).toBe('SSH_HOST_KEY_MISMATCH');
    expect(result?.error?.message).toMatch(/host key of 127\.0\.0\.1:\d+ differs from knownHostsFile/);
    expect(result?.error?.message).toContain(sshd.wrongKnownHostsFile);
    expect(result?.error?.message).toMatch(/ssh-ed25519 SHA256:[A-Za-z0-9+/]{43}/);
    expect(result).toMatchObject({ ok: false, exitCode: null, host: `${sshd.user}@127.0.0.1:${sshd.port}` });
    expect(log).toMatch(/\[preauth\]/);
    expect(log).not.toMatch(/publickey|Accepted key|authenticating user/);
    expect(fs.existsSync(`${sshd.dir}/must-not-exist`)).toBe(false);
  });

  it('refuses a host missing from knownHostsFile before any authentication', async () => {
    const runner = runnersFor(sshd, { knownHostsFile: sshd.otherHostKnownHostsFile, privateKeyFile: sshd.unauthorizedKeyFile }).runnerFor({
      host: sshd.host,
    });
    let result: Awaited<ReturnType<typeof runner.run>> | undefined;
    const log = await sshdLogDuring(async () => {
      result = await runner.run(sshRequest({ kind: 'run', argv: ['true'] }));
    });
    expect(result?.error?.code).toBe('SSH_HOST_UNKNOWN');
    expect(result?.error?.message).toContain(`is missing from knownHostsFile ${sshd.otherHostKnownHostsFile}`);
    expect(result?.error?.message).toContain(`[127.0.0.1]:${sshd.port}`);
    expect(log).not.toMatch(/publickey|Accepted key|authenticating user/);
  });

  it('shows, as a control, that an authentication attempt does appear in the log the host-key tests read', async () => {
    const runner = runnersFor(sshd, { privateKeyFile: sshd.unauthorizedKeyFile }).runnerFor({ host: sshd.host });
    let result: Awaited<ReturnType<typeof runner.run>> | undefined;
    const log = await sshdLogDuring(async () => {
      result = await runner.run(sshRequest({ kind: 'run', argv: ['true'] }));
    });
    expect(result?.error?.code).toBe('SSH_AUTH_FAILED');
    expect(log).toMatch(/Failed publickey/);
  });

  it.each([
    ['knownHostsFile', { knownHostsFile: null }, 'SSH_NOT_CONFIGURED'],
    ['privateKeyFile', { privateKeyFile: null }, 'SSH_NOT_CONFIGURED'],
    ['knownHostsFile', { knownHostsFile: '/nonexistent/known_hosts' }, 'SSH_CONFIG_ERROR'],
    ['privateKeyFile', { privateKeyFile: '/nonexistent/id_ed25519' }, 'SSH_CONFIG_ERROR'],
  ])('fails every ssh step with a clear error naming %s when it is %j', async (name, overrides, code) => {
    const connections = sshd.connectionCount();
    const runner = runnersFor(sshd, overrides).runnerFor({ host: sshd.host });
    const result = await runner.run(sshRequest({ kind: 'run', argv: ['true'] }));
    expect(result.error).toEqual({ code, message: expect.stringContaining(name) });
    expect(sshd.connectionCount()).toBe(connections);
  });

  it('fails a step whose privateKeyFile is not a key it can read, naming the file and never its text, without connecting', async () => {
    const connections = sshd.connectionCount();
    const notAKey = `${sshd.dir}/not-a-key`;
    fs.writeFileSync(notAKey, 'hunter22 is not a key\n');
    const runner = runnersFor(sshd, { privateKeyFile: notAKey }).runnerFor({ host: sshd.host });
    const result = await runner.run(sshRequest({ kind: 'run', argv: ['true'] }));
    expect(result.error).toEqual({ code: 'SSH_CONFIG_ERROR', message: expect.stringContaining(`ssh.privateKeyFile ${notAKey}`) });
    expect(JSON.stringify(result)).not.toContain('hunter22');
    await sleep(100);
    expect(sshd.connectionCount()).toBe(connections);
  });

  it.each([
    [['10.0.0.0/8', '*.example.internal'], 'SSH_HOST_NOT_ALLOWED'],
    [['127.0.0.0/8'], null],
    [['127.0.0.1'], null],
    [['0.0.0.0/0'], null],
  ])('applies ssh.allowHosts %j before connecting', async (allowHosts, code) => {
    const connections = sshd.connectionCount();
    const runner = runnersFor(sshd, { allowHosts }).runnerFor({ host: sshd.host });
    const result = await runner.run(sshRequest({ kind: 'run', argv: ['true'] }));
    expect(result.error?.code ?? null).toBe(code);
    if (code !== null) {
      expect(result.error?.message).toContain('not in ssh.allowHosts');
      await sleep(100);
      expect(sshd.connectionCount()).toBe(connections);
    }
  });

  it.each([
    ['the address', () => sshd.host, 'address 127.0.0.1 is a loopback address'],
    ['a name for it', () => 'localhost', 'localhost resolves to'],
  ])('refuses a loopback host through %s on the default empty ssh.allowHosts, though knownHostsFile pins it, and sends nothing', async (_how, host, message) => {
    const connections = sshd.connectionCount();
    const runner = runnersFor(sshd, { allowHosts: [] }).runnerFor({ host: host() });
    const result = await runner.run(sshRequest({ kind: 'run', argv: ['touch', `${sshd.dir}/must-not-exist-special`] }));
    expect(result).toMatchObject({ ok: false, exitCode: null, error: { code: 'SSH_HOST_NOT_ALLOWED' } });
    expect(result.error?.message).toContain(message);
    expect(result.error?.message).toContain('only an IP or CIDR entry can allow it');
    await sleep(100);
    expect(sshd.connectionCount()).toBe(connections);
    expect(fs.existsSync(`${sshd.dir}/must-not-exist-special`)).toBe(false);
  });

  it('fails within connectTimeout against a host that accepts TCP but never speaks SSH', async () => {
    const silent = await startSilentTcpServer();
    try {
      const runner = runnersFor(sshd, { port: silent.port, connectTimeoutMs: 1500 }).runnerFor({ host: '127.0.0.1' });
      const started = Date.now();
      const result = await runner.run(sshRequest({ kind: 'run', argv: ['true'] }));
      const elapsed = Date.now() - started;
      expect(silent.accepted()).toBe(1);
      expect(result.error?.code).toBe('SSH_CONNECT_TIMEOUT');
      expect(result.error?.message).toContain('1500 ms');
      expect(elapsed).toBeGreaterThanOrEqual(1400);
      expect(elapsed).toBeLessThan(1500 + 1000);
    } finally {
      await silent.stop();
    }
  });

  it('keeps exactly maxOutputBytes of a chatty command and reads on to its end', async () => {
    const runner = runnersFor(sshd).runnerFor({ host: sshd.host });
    const chatty = 'head -c 5000000 /dev/zero | tr "\\0" y; echo done >&2';
    const result = await runner.run(sshRequest({ kind: 'run', argv: ['sh', '-c', chatty] }, { maxOutputBytes: 4096 }));
    expect(result).toMatchObject({ ok: true, exitCode: 0, stdoutTruncated: true, stderrTruncated: false, stderr: 'done\n' });
    expect(result.stdout).toBe('y'.repeat(4096));
  });
});

describe('the SSH connection pool', () => {
  it('runs two steps to one host over a single TCP connection', async () => {
    const runner = runnersFor(sshd).runnerFor({ host: sshd.host });
    const before = sshd.connectionCount();
    const first = await runner.run(sshRequest({ kind: 'run', argv: ['echo', 'one'] }));
    const second = await runner.run(sshRequest({ kind: 'script', script: 'echo two' }));
    expect([first.stdout, second.stdout]).toEqual(['one\n', 'two\n']);
    expect(sshd.connectionCount() - before).toBe(1);
  });

  it('closes an idle connection and opens a new one for the next step', async () => {
    const runner = runnersFor(sshd, {}, 200).runnerFor({ host: sshd.host });
    const before = sshd.connectionCount();
    await runner.run(sshRequest({ kind: 'run', argv: ['true'] }));
    // Well past the 200 ms idle period: the pool has dropped the connection by now.
    await sleep(1000);
    const result = await runner.run(sshRequest({ kind: 'run', argv: ['true'] }));
    expect(result.ok).toBe(true);
    expect(sshd.connectionCount() - before).toBe(2);
  });

  it('replaces a connection that broke between steps', async () => {
    const runner = runnersFor(sshd).runnerFor({ host: sshd.host });
    const first = await runner.run(sshRequest({ kind: 'run', argv: ['true'] }));
    expect(first.ok).toBe(true);
    const killed = killSshdSessions(sshd.child.pid);
    expect(killed).toBeGreaterThan(0);
    const second = await runner.run(sshRequest({ kind: 'run', argv: ['echo', 'again'] }));
    expect(second).toMatchObject({ ok: true, stdout: 'again\n' });
  });
});

/** SIGKILLs sshd's per-connection children, as a dropped link would end them; returns how many. */
function killSshdSessions(sshdPid: number): number {
  let killed = 0;
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid !== sshdPid) continue;
      process.kill(Number(entry), 'SIGKILL');
      killed += 1;
    } catch {
      // The process ended while we looked.
    }
  }
  return killed;
}
