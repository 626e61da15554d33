/** A private OpenSSH server for tests: own host keys, client key and known_hosts files, on a free loopback port. */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { findBinary } from './binaries.js';
import { startChild, type ChildHandle } from './child.js';
import { startOnFreePort } from './start-on-free-port.js';
import { makeTempDir, removeTempDir } from './temp-dir.js';
import { waitFor } from './wait-for.js';

const run = promisify(execFile);

/** A running sshd and the files a client needs to reach it. */
export interface TestSshd {
  readonly host: string;
  readonly port: number;
  /** The user sshd runs as, and the only one it lets in. */
  readonly user: string;
  readonly dir: string;
  /** The client key that authorized_keys accepts. */
  readonly privateKeyFile: string;
  /** A key that authorized_keys does not accept. */
  readonly unauthorizedKeyFile: string;
  /** `[127.0.0.1]:PORT ssh-ed25519 ...` only, though the server also has ECDSA and RSA keys. */
  readonly knownHostsFile: string;
  /** The same entry hashed with `ssh-keygen -H`. */
  readonly hashedKnownHostsFile: string;
  /** The host with a key it does not have. */
  readonly wrongKnownHostsFile: string;
  /** Another host only: this one is missing. */
  readonly otherHostKnownHostsFile: string;
  /** The host's ECDSA key only, which is not the type an SSH client asks for first. */
  readonly ecdsaKnownHostsFile: string;
  readonly child: ChildHandle;
  /** sshd's log (LogLevel VERBOSE) so far. */
  log(): string;
  /** How many TCP connections sshd has accepted so far. */
  connectionCount(): number;
  stop(): Promise<void>;
}

async function keygen(file: string, type: string): Promise<string> {
  await run('ssh-keygen', ['-q', '-t', type, '-N', '', '-C', `remediator-test-${type}`, '-f', file]);
  return fs.readFileSync(`${file}.pub`, 'utf8').trim().split(/\s+/).slice(0, 2).join(' ');
}

/** Options for startSshd: the default is one loopback address and the plain test config. */
export interface SshdOptions {
  /** Loopback addresses to listen on, all on the same port; the first is `host`. Default 127.0.0.1. */
  readonly listen?: readonly string[];
  /** Config text put after the rest (Match blocks, SetEnv), given the chosen port. */
  readonly extraConfig?: (port: number) => string;
}

function sshdConfig(dir: string, port: number, options: SshdOptions): string {
  return [
    `Port ${port}`,
    ...(options.listen ?? ['127.0.0.1']).map((a) => `ListenAddress ${a}`),
    ...['ed25519', 'ecdsa', 'rsa'].map((t) => `HostKey ${path.join(dir, `host_${t}`)}`),
    `AuthorizedKeysFile ${path.join(dir, 'authorized_keys')}`,
    `PidFile ${path.join(dir, 'sshd.pid')}`,
    'UsePAM no',
    'StrictModes no',
    'PasswordAuthentication no',
    'KbdInteractiveAuthentication no',
    'PubkeyAuthentication yes',
    'PermitRootLogin prohibit-password',
    'AllowAgentForwarding no',
    'MaxStartups 100',
    'LogLevel VERBOSE',
    options.extraConfig?.(port) ?? '',
    '',
  ].join('\n');
}

type KnownHostsFiles = Pick<
  TestSshd,
  'knownHostsFile' | 'hashedKnownHostsFile' | 'wrongKnownHostsFile' | 'otherHostKnownHostsFile' | 'ecdsaKnownHostsFile'
>;

async function writeKnownHosts(dir: string, port: number, hostKey: string, ecdsaKey: string, listen: readonly string[]): Promise<KnownHostsFiles> {
  const name = `[127.0.0.1]:${port}`;
  const names = listen.map((a) => `[${a}]:${port}`);
  const files = {
    knownHostsFile: path.join(dir, 'known_hosts'),
    hashedKnownHostsFile: path.join(dir, 'known_hosts.hashed'),
    wrongKnownHostsFile: path.join(dir, 'known_hosts.wrong'),
    otherHostKnownHostsFile: path.join(dir, 'known_hosts.other'),
    ecdsaKnownHostsFile: path.join(dir, 'known_hosts.ecdsa'),
  };
  const wrongKey = await keygen(path.join(dir, 'wrong_host_ed25519'), 'ed25519');
  fs.writeFileSync(files.knownHostsFile, `# pinned by the test\n${names.map((n) => `${n} ${hostKey}\n`).join('')}`);
  fs.writeFileSync(files.hashedKnownHostsFile, `${name} ${hostKey}\n`);
  await run('ssh-keygen', ['-H', '-f', files.hashedKnownHostsFile]);
  fs.writeFileSync(files.wrongKnownHostsFile, `${name} ${wrongKey}\n`);
  fs.writeFileSync(files.ecdsaKnownHostsFile, `${name} ${ecdsaKey}\n`);
  fs.writeFileSync(files.otherHostKnownHostsFile, `[127.0.0.2]:${port} ${hostKey}\nother.example ${hostKey}\n`);
  return files;
}

function ensurePrivsepDir(): void {
  try {
    fs.mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  } catch {
    // Not ours to create (no root): sshd names the folder in its own error if it truly needs it.
  }
}

/** Starts sshd as the current user; the caller stops it (stopAll in afterAll also does). */
export async function startSshd(options: SshdOptions = {}): Promise<TestSshd> {
  const listen = options.listen ?? ['127.0.0.1'];
  const sshd = findBinary('SSHD', ['sshd'], 'openssh-server');
  const dir = makeTempDir('sshd');
  // sshd insists on its privilege separation folder even when it runs as an ordinary user.
  ensurePrivsepDir();
  const [ed25519Key, ecdsaKey] = await Promise.all(['ed25519', 'ecdsa', 'rsa'].map((t) => keygen(path.join(dir, `host_${t}`), t)));
  const privateKeyFile = path.join(dir, 'client_ed25519');
  fs.writeFileSync(path.join(dir, 'authorized_keys'), `${await keygen(privateKeyFile, 'ed25519')}\n`);
  const unauthorizedKeyFile = path.join(dir, 'stranger_ed25519');
  await keygen(unauthorizedKeyFile, 'ed25519');
  const { port, child } = await startOnFreePort(
    async (p) => {
      const config = path.join(dir, 'sshd_config');
      fs.writeFileSync(config, sshdConfig(dir, p, options));
      return startChild(sshd, ['-D', '-e', '-f', config], { name: 'sshd' });
    },
    async (p, c) => {
      await waitFor(() => (listen.every((a) => c.output().includes(`Server listening on ${a} port ${p}`)) ? true : undefined), {
        description: 'sshd listening',
        timeoutMs: 10_000,
        intervalMs: 20,
        abortIf: () => (c.exitStatus() ? 'sshd exited' : undefined),
        context: () => c.describe(),
      });
    },
  );
  const files = await writeKnownHosts(dir, port, ed25519Key ?? '', ecdsaKey ?? '', listen);
  return {
    host: listen[0] ?? '127.0.0.1',
    port,
    user: os.userInfo().username,
    dir,
    privateKeyFile,
    unauthorizedKeyFile,
    ...files,
    child,
    log: () => child.output(),
    connectionCount: () => child.output().match(/^Connection from \S+ port \d+ on /gm)?.length ?? 0,
    stop: async () => {
      await child.stop(2000);
      removeTempDir(dir);
    },
  };
}

/** A TCP server that accepts connections and never says a word: an SSH host that hangs before its banner. */
export async function startSilentTcpServer(): Promise<{ port: number; accepted(): number; stop(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  let accepted = 0;
  const server = net.createServer((socket) => {
    accepted += 1;
    sockets.add(socket);
    socket.on('error', () => undefined);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  return {
    port,
    accepted: () => accepted,
    stop: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
