/** Opens one SSH connection: the host key is checked against knownHostsFile before any credential is sent. */

import { readFile } from 'node:fs/promises';
import { NodeSSH, type Config as NodeSshConfig, type SSHExecCommandOptions } from 'node-ssh';
import { toError } from '../../core/errors.js';
import {
  entriesFor,
  fingerprintSha256,
  hostKeyMatches,
  keyBlobType,
  knownHostsName,
  parseKnownHosts,
  type HostKeyVerdict,
  type KnownHostEntry,
} from './known-hosts.js';

/** Who to log in as, where; `host` is the name known_hosts is searched for, `address` where the socket goes. */
export interface SshDestination {
  readonly host: string;
  readonly address: string;
  readonly port: number;
  readonly user: string;
}

/** The connection node-ssh holds (ssh2's Client), for events and for opening a step's channel. */
export type SshConnection = NonNullable<NodeSSH['connection']>;

/** An exec channel (ssh2's ClientChannel), as node-ssh hands it out. */
export type SshChannel = Parameters<NonNullable<SSHExecCommandOptions['onChannel']>>[0];

/** A host key signature algorithm name, as ssh2 spells it. */
type HostKeyAlgorithm = Extract<NonNullable<NonNullable<NodeSshConfig['algorithms']>['serverHostKey']>, readonly unknown[]>[number];

/** The files and limits a connection needs. */
export interface SshConnectOptions {
  readonly knownHostsFile: string;
  readonly privateKeyFile: string;
  readonly connectTimeoutMs: number;
}

/** A step-level failure: a stable code and a message for the run record. */
export interface SshFailure {
  readonly code: string;
  readonly message: string;
}

/** A live connection, or why there is none. */
export type ConnectResult =
  | { readonly ok: true; readonly ssh: NodeSSH; readonly connection: SshConnection }
  | { readonly ok: false; readonly error: SshFailure };

/** Key types ssh2 can verify, and the signature algorithms that prove each. */
const HOST_KEY_ALGORITHMS: Readonly<Record<string, readonly HostKeyAlgorithm[]>> = {
  'ssh-ed25519': ['ssh-ed25519'],
  'ecdsa-sha2-nistp256': ['ecdsa-sha2-nistp256'],
  'ecdsa-sha2-nistp384': ['ecdsa-sha2-nistp384'],
  'ecdsa-sha2-nistp521': ['ecdsa-sha2-nistp521'],
  'ssh-rsa': ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'],
};

/** Asks only for the key types pinned for the host, so a host with several keys presents one we can check. */
function pinnedAlgorithms(pinned: readonly KnownHostEntry[]): HostKeyAlgorithm[] {
  return [...new Set(pinned.flatMap((e) => HOST_KEY_ALGORITHMS[e.keyType] ?? []))];
}

async function readInput(file: string, what: string): Promise<Buffer | SshFailure> {
  try {
    return await readFile(file);
  } catch (thrown) {
    const code = (thrown as NodeJS.ErrnoException).code ?? toError(thrown).message;
    return { code: 'SSH_CONFIG_ERROR', message: `cannot read ${what} ${file}: ${code}` };
  }
}

function verdictFailure(verdict: HostKeyVerdict, dest: SshDestination, file: string, key: Buffer): SshFailure {
  const where = `${dest.host}:${dest.port}`;
  const presented = `${keyBlobType(key) ?? 'unknown-type'} ${fingerprintSha256(key)}`;
  const name = knownHostsName(dest.host, dest.port);
  if (verdict === 'revoked') {
    return { code: 'SSH_HOST_KEY_REVOKED', message: `host key of ${where} (${presented}) is marked @revoked in knownHostsFile ${file}` };
  }
  if (verdict === 'unknown') {
    return {
      code: 'SSH_HOST_UNKNOWN',
      message: `host ${where} is missing from knownHostsFile ${file} (looked up as ${name}); it presented ${presented}; refused before authentication`,
    };
  }
  return {
    code: 'SSH_HOST_KEY_MISMATCH',
    message: `host key of ${where} differs from knownHostsFile ${file}: it presented ${presented}, which is not a key pinned for ${name}; refused before authentication`,
  };
}

function errorFailure(err: Error & { level?: string; code?: unknown }, dest: SshDestination, options: SshConnectOptions, restricted: boolean): SshFailure {
  const where = `${dest.host}:${dest.port}`;
  if (err.level === 'client-timeout') {
    return { code: 'SSH_CONNECT_TIMEOUT', message: `no SSH session with ${where} within ${options.connectTimeoutMs} ms (connect timeout)` };
  }
  if (err.level === 'client-authentication') {
    return { code: 'SSH_AUTH_FAILED', message: `authentication as ${dest.user} on ${where} failed with ssh.privateKeyFile` };
  }
  if (restricted && /no matching.*host key/i.test(err.message)) {
    return {
      code: 'SSH_HOST_KEY_MISMATCH',
      message: `host key of ${where} differs from knownHostsFile ${options.knownHostsFile}: it offers none of the key types pinned for it`,
    };
  }
  if (err.level === undefined && /private ?key|passphrase/i.test(err.message)) {
    // ssh2 refuses a key it cannot parse (or one with a passphrase) before any socket; the message never holds the key.
    return { code: 'SSH_CONFIG_ERROR', message: `ssh.privateKeyFile ${options.privateKeyFile}: ${err.message}` };
  }
  if (err.name === 'SSHError' && err.code === 'ETIMEDOUT') {
    // node-ssh's word for a connection that closed before it was ready.
    return { code: 'SSH_ERROR', message: `ssh to ${where}: connection closed during handshake` };
  }
  return { code: 'SSH_ERROR', message: `ssh to ${where}: ${err.message}` };
}

/**
 * Connects and authenticates through node-ssh; never throws, and never sends a credential to a
 * host whose key is not pinned: node-ssh hands the config to ssh2's Client.connect as it is, so
 * `hostVerifier` and the pinned `serverHostKey` algorithms decide before authentication starts.
 */
export async function connectSsh(dest: SshDestination, options: SshConnectOptions): Promise<ConnectResult> {
  const knownText = await readInput(options.knownHostsFile, 'knownHostsFile');
  if (!Buffer.isBuffer(knownText)) return { ok: false, error: knownText };
  const privateKey = await readInput(options.privateKeyFile, 'ssh.privateKeyFile');
  if (!Buffer.isBuffer(privateKey)) return { ok: false, error: privateKey };
  const { entries } = parseKnownHosts(knownText.toString('utf8'));
  const algorithms = pinnedAlgorithms(entriesFor(entries, dest.host, dest.port).filter((e) => !e.revoked));

  let refused: SshFailure | null = null;
  const config: NodeSshConfig = {
    host: dest.address,
    port: dest.port,
    username: dest.user,
    // node-ssh insists on a string; OpenSSH key files are ASCII.
    privateKey: privateKey.toString('utf8'),
    readyTimeout: options.connectTimeoutMs,
    agentForward: false,
    tryKeyboard: false,
    keepaliveInterval: 15_000,
    keepaliveCountMax: 3,
    hostVerifier: (key: Buffer): boolean => {
      const verdict = hostKeyMatches(entries, dest.host, dest.port, key);
      if (verdict !== 'match') refused = verdictFailure(verdict, dest, options.knownHostsFile, key);
      return verdict === 'match';
    },
    ...(algorithms.length > 0 ? { algorithms: { serverHostKey: algorithms } } : {}),
  };
  const ssh = new NodeSSH();
  try {
    await ssh.connect(config);
  } catch (thrown) {
    ssh.dispose();
    return { ok: false, error: refused ?? errorFailure(toError(thrown), dest, options, algorithms.length > 0) };
  }
  const connection = ssh.connection;
  if (connection === null) return { ok: false, error: { code: 'SSH_ERROR', message: `ssh to ${dest.host}:${dest.port}: connection closed as it opened` } };
  // node-ssh drops its own 'error' listener once ready; a late socket error must never be an unhandled 'error' event.
  connection.on('error', () => undefined);
  return { ok: true, ssh, connection };
}
