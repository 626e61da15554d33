/** Opens one SSH connection: the host key is checked against knownHostsFile before any credential is sent. */

import { readFile } from 'node:fs/promises';
import { Client, type ConnectConfig, type ServerHostKeyAlgorithm } from 'ssh2';
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

export type ConnectResult = { readonly ok: true; readonly client: Client } | { readonly ok: false; readonly error: SshFailure };

/** Key types ssh2 can verify, and the signature algorithms that prove each. */
const HOST_KEY_ALGORITHMS: Readonly<Record<string, readonly ServerHostKeyAlgorithm[]>> = {
  'ssh-ed25519': ['ssh-ed25519'],
  'ecdsa-sha2-nistp256': ['ecdsa-sha2-nistp256'],
  'ecdsa-sha2-nistp384': ['ecdsa-sha2-nistp384'],
  'ecdsa-sha2-nistp521': ['ecdsa-sha2-nistp521'],
  'ssh-rsa': ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'],
};

/** Asks only for the key types pinned for the host, so a host with several keys presents one we can check. */
function pinnedAlgorithms(pinned: readonly KnownHostEntry[]): ServerHostKeyAlgorithm[] {
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

function errorFailure(err: Error & { level?: string }, dest: SshDestination, options: SshConnectOptions, restricted: boolean): SshFailure {
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
  return { code: 'SSH_ERROR', message: `ssh to ${where}: ${err.message}` };
}

/** Connects and authenticates; never throws, and never sends a credential to a host whose key is not pinned. */
export async function connectSsh(dest: SshDestination, options: SshConnectOptions): Promise<ConnectResult> {
  const knownText = await readInput(options.knownHostsFile, 'knownHostsFile');
  if (!Buffer.isBuffer(knownText)) return { ok: false, error: knownText };
  const privateKey = await readInput(options.privateKeyFile, 'ssh.privateKeyFile');
  if (!Buffer.isBuffer(privateKey)) return { ok: false, error: privateKey };
  const { entries } = parseKnownHosts(knownText.toString('utf8'));
  const algorithms = pinnedAlgorithms(entriesFor(entries, dest.host, dest.port).filter((e) => !e.revoked));

  let refused: SshFailure | null = null;
  const config: ConnectConfig = {
    host: dest.address,
    port: dest.port,
    username: dest.user,
    privateKey,
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
  const client = new Client();
  return new Promise<ConnectResult>((resolve) => {
    let settled = false;
    const settle = (result: ConnectResult): void => {
      if (settled) return;
      settled = true;
      if (!result.ok) client.end();
      resolve(result);
    };
    // Kept for the connection's whole life: a late socket error must never be an unhandled 'error' event.
    client.on('error', (err: Error & { level?: string }) =>
      settle({ ok: false, error: refused ?? errorFailure(err, dest, options, algorithms.length > 0) }),
    );
    client.once('close', () => settle({ ok: false, error: refused ?? { code: 'SSH_ERROR', message: `ssh to ${dest.host}:${dest.port}: connection closed during handshake` } }));
    client.once('ready', () => settle({ ok: true, client }));
    try {
      client.connect(config);
    } catch (thrown) {
      // ssh2 throws synchronously for a key it cannot parse (or one with a passphrase); the message never holds the key.
      settle({ ok: false, error: { code: 'SSH_CONFIG_ERROR', message: `ssh.privateKeyFile ${options.privateKeyFile}: ${toError(thrown).message}` } });
    }
  });
}
