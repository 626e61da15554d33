/** Shared pieces for the SSH runner tests: runners aimed at the test sshd, and step requests. */
import type { Config } from '../../src/config/config.js';
import type { CommandRequest } from '../../src/execute/command-runner.js';
import { createSshRunners, type SshRunners } from '../../src/execute/ssh/ssh-runner.js';
import { createLogger } from '../../src/observability/logger.js';
import type { TestSshd } from '../support/sshd.js';

/** The config's ssh section for the test sshd, with overrides; loopback is a special address, so it is listed explicitly. */
export function sshConfig(sshd: TestSshd, overrides: Partial<Config['ssh']> = {}): Config['ssh'] {
  return {
    user: sshd.user,
    port: sshd.port,
    privateKeyFile: sshd.privateKeyFile,
    knownHostsFile: sshd.knownHostsFile,
    connectTimeoutMs: 5000,
    allowHosts: ['127.0.0.0/8'],
    ...overrides,
  };
}

const opened: SshRunners[] = [];

/** SSH runners for the test sshd; closeAllRunners() in afterAll closes them. */
export function runnersFor(sshd: TestSshd, overrides: Partial<Config['ssh']> = {}, idleMs?: number): SshRunners {
  const runners = createSshRunners({ ssh: sshConfig(sshd, overrides), logger: createLogger({ level: 'silent' }), idleMs });
  opened.push(runners);
  return runners;
}

/** Closes every runner set made by runnersFor. */
export async function closeAllRunners(): Promise<void> {
  await Promise.all(opened.splice(0).map((r) => r.close()));
}

/** A step request with test defaults. */
export function sshRequest(command: CommandRequest['command'], overrides: Partial<CommandRequest> = {}): CommandRequest {
  return {
    command,
    env: { PATH: '/usr/bin:/bin' },
    timeoutMs: 20_000,
    killGraceMs: 1000,
    maxOutputBytes: 65_536,
    signal: new AbortController().signal,
    ...overrides,
  };
}
