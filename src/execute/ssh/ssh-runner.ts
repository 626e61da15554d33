/** SSH CommandRunners over node-ssh: pinned host keys, allow-listed hosts, pooled connections, one result shape with the local runner. */

import os from 'node:os';
import type { Config } from '../../config/config.js';
import type { StepResult } from '../../core/run.js';
import type { SshSettings } from '../../core/runbook.js';
import { stopCauseOf, type CommandRequest, type CommandRunner } from '../command-runner.js';
import { notRunResult } from '../local-runner.js';
import type { Logger } from '../../observability/logger.js';
import { createHostCheck, type AllowedHost } from './allowed-host.js';
import { execRemote } from './remote-exec.js';
import { connectSsh, type SshDestination } from './ssh-connect.js';
import { createSshPool, type Acquired, type SshPool } from './ssh-pool.js';

/** What the SSH runners need: the config's `ssh` section and a logger. */
export interface SshRunnersOptions {
  readonly ssh: Config['ssh'];
  readonly logger: Logger;
  /** How long an unused connection stays open (default 10 s). */
  readonly idleMs?: number;
}

/** Runners per destination over one shared connection pool. */
export interface SshRunners {
  /** The runner for a step's merged SSH settings; config defaults fill user and port. */
  runnerFor(settings: SshSettings<string>): CommandRunner;
  /** Closes every pooled connection (steps still running keep theirs until they end). */
  close(): Promise<void>;
}

const DEFAULT_IDLE_MS = 10_000;

interface Context {
  readonly ssh: Config['ssh'];
  readonly logger: Logger;
  readonly pool: SshPool;
  readonly hostCheck: (host: string) => Promise<AllowedHost>;
}

/** Builds the SSH runners; nothing connects until a step runs. */
export function createSshRunners(options: SshRunnersOptions): SshRunners {
  const ctx: Context = {
    ssh: options.ssh,
    logger: options.logger.child({ component: 'ssh' }),
    pool: createSshPool(options.idleMs ?? DEFAULT_IDLE_MS),
    hostCheck: createHostCheck(options.ssh.allowHosts),
  };
  return {
    runnerFor: (settings) => ({ run: (request) => runOverSsh(ctx, settings, request) }),
    close: () => ctx.pool.close(),
  };
}

/** Acquires a connection unless the step is stopped first; a connection that arrives late goes back to the pool. */
async function acquireUnlessAborted(pending: Promise<Acquired>, signal: AbortSignal): Promise<Acquired | null> {
  let onAbort: () => void = () => undefined;
  const aborted = new Promise<null>((resolve) => {
    onAbort = () => resolve(null);
    signal.addEventListener('abort', onAbort, { once: true });
  });
  const got = await Promise.race([pending, aborted]);
  signal.removeEventListener('abort', onAbort);
  if (got === null) void pending.then((late) => late.ok && late.lease.release());
  return got;
}

async function runOverSsh(ctx: Context, settings: SshSettings<string>, request: CommandRequest): Promise<StepResult> {
  const startedAt = Date.now();
  const user = settings.user ?? ctx.ssh.user ?? os.userInfo().username;
  const port = settings.port ?? ctx.ssh.port;
  const label = `${user}@${settings.host}:${port}`;
  const withHost = (result: StepResult): StepResult => ({ ...result, host: label });
  const fail = (code: string, message: string): StepResult => {
    ctx.logger.warn({ host: label, code }, 'ssh step failed');
    return withHost(notRunResult(startedAt, { code, message }));
  };
  if (request.signal.aborted) return withHost(notRunResult(startedAt, null, stopCauseOf(request.signal)));
  const { knownHostsFile, privateKeyFile } = ctx.ssh;
  if (knownHostsFile === null) return fail('SSH_NOT_CONFIGURED', 'ssh steps need ssh.knownHostsFile in the config: host keys are always checked');
  if (privateKeyFile === null) return fail('SSH_NOT_CONFIGURED', 'ssh steps need ssh.privateKeyFile in the config');
  const allowed = await ctx.hostCheck(settings.host);
  if (!allowed.ok) return fail(allowed.code, allowed.message);
  const dest: SshDestination = { host: settings.host, address: allowed.address, port, user };
  const connect = () => connectSsh(dest, { knownHostsFile, privateKeyFile, connectTimeoutMs: ctx.ssh.connectTimeoutMs });
  for (let attempt = 0; attempt < 2; attempt += 1) {
    const got = await acquireUnlessAborted(ctx.pool.acquire(label, connect), request.signal);
    if (got === null) return withHost(notRunResult(startedAt, null, stopCauseOf(request.signal)));
    if (!got.ok) return fail(got.error.code, got.error.message);
    const target = { ssh: got.lease.ssh, connection: got.lease.connection, host: label, openTimeoutMs: ctx.ssh.connectTimeoutMs };
    const result = await execRemote(target, request, startedAt);
    if (!('openFailed' in result)) {
      got.lease.release();
      return withHost(result);
    }
    got.lease.discard();
    // A pooled connection may have gone stale while idle; one fresh connection is worth a try.
    if (!got.lease.reused) return fail('SSH_ERROR', `cannot open a session on ${label}: ${result.openFailed.message}`);
  }
  return fail('SSH_ERROR', `cannot open a session on ${label}`);
}
