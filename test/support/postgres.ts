/**
 * A private PostgreSQL cluster for the tests: initdb and pg_ctl on a free loopback port, in a temporary folder, as the
 * `postgres` user when run as root (PostgreSQL refuses to run as root). Debian's `postgresql` package provides the
 * binaries under /usr/lib/postgresql/VERSION/bin; scripts/test.sh installs it when it is missing.
 *
 * This file is also jest's global setup (its default export), which jest loads outside its module mapping: so it
 * imports nothing relative.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import net from 'node:net';

/** The environment variable through which jest's global setup hands its cluster to the test files. */
export const SHARED_PG_ENV = 'REMEDIATOR_TEST_PG_URL';

/** Where a PostgreSQL program lives: PG_BIN, then the newest /usr/lib/postgresql/N/bin, then PATH. */
export function pgBinary(name: 'initdb' | 'pg_ctl'): string {
  const dirs: string[] = [];
  if (process.env.PG_BIN) dirs.push(process.env.PG_BIN);
  const root = '/usr/lib/postgresql';
  if (fs.existsSync(root)) {
    const versions = fs.readdirSync(root).filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(b) - Number(a));
    dirs.push(...versions.map((v) => path.join(root, v, 'bin')));
  }
  dirs.push(...(process.env.PATH ?? '').split(path.delimiter));
  for (const dir of dirs) {
    const full = path.join(dir, name);
    if (fs.existsSync(full)) return full;
  }
  throw new Error(`${name} not found in PG_BIN, /usr/lib/postgresql/*/bin or PATH; install Debian package postgresql (scripts/test.sh does)`);
}

const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;

/** Runs a PostgreSQL program as the user that owns the cluster. */
function asOwner(program: string, args: readonly string[]): void {
  const [file, argv] = isRoot ? ['runuser', ['-u', 'postgres', '--', program, ...args]] : [program, [...args]];
  const result = spawnSync(file, argv, { encoding: 'utf8', timeout: 60_000 });
  if (result.status !== 0) {
    throw new Error(`${path.basename(program)} ${args.join(' ')} failed (${result.status ?? result.signal}): ${result.stderr || result.stdout}`);
  }
}

/** A running private cluster. */
export interface PostgresCluster {
  readonly port: number;
  /** The URL of database `name` (default: the `postgres` database). */
  url(name?: string): string;
  /** Creates a fresh empty database and returns its URL. */
  createDatabase(prefix?: string): Promise<string>;
  /** Stops the server at once (clients see their connections refused), keeping its files. */
  stop(): void;
  /** Starts it again on the same port and files. */
  start(): void;
  /** The postmaster's pid while running, else null. */
  pid(): number | null;
  /** Stops it and removes its files. */
  destroy(): void;
}

/** A free loopback port (test/support/free-port.ts's, repeated: see the header). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/**
 * initdb + pg_ctl start on a free port; fsync off (the tests kill processes, not machines). synchronous_commit stays on:
 * with it off, a commit is acknowledged before its WAL is written, and `stop -m immediate` (a crash) loses it.
 */
export async function startPostgres(): Promise<PostgresCluster> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'remediator-pg-'));
  const data = path.join(dir, 'data');
  const socket = path.join(dir, 'socket');
  fs.mkdirSync(socket);
  if (isRoot) execFileSync('chown', ['-R', 'postgres:postgres', dir]);
  asOwner(pgBinary('initdb'), ['-D', data, '--auth=trust', '--username=postgres', '--encoding=UTF8', '--no-locale', '--no-sync']);
  const port = await freePort();
  const options = [
    `-p ${port}`,
    `-k ${socket}`,
    "-c listen_addresses='127.0.0.1'",
    '-c fsync=off',
    '-c full_page_writes=off',
    '-c max_connections=300',
  ].join(' ');
  const pgCtl = pgBinary('pg_ctl');
  const start = (): void => asOwner(pgCtl, ['-D', data, '-l', path.join(dir, 'server.log'), '-w', '-t', '60', '-o', options, 'start']);
  const stop = (): void => asOwner(pgCtl, ['-D', data, '-m', 'immediate', '-w', 'stop']);
  start();
  const url = (name = 'postgres'): string => `postgres://postgres@127.0.0.1:${port}/${name}`;
  const cluster: PostgresCluster = {
    port,
    url,
    createDatabase: (prefix) => createDatabase(url(), prefix),
    stop,
    start,
    pid() {
      try {
        const first = fs.readFileSync(path.join(data, 'postmaster.pid'), 'utf8').split('\n')[0];
        return first === undefined ? null : Number(first);
      } catch {
        return null;
      }
    },
    destroy() {
      try {
        if (cluster.pid() !== null) stop();
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    },
  };
  return cluster;
}

/** Creates an empty database on the cluster that adminURL points at; returns its URL. */
export async function createDatabase(adminURL: string, prefix = 't'): Promise<string> {
  const name = `${prefix}_${randomBytes(6).toString('hex')}`;
  const client = new pg.Client({ connectionString: adminURL });
  await client.connect();
  try {
    await client.query(`CREATE DATABASE ${name}`);
  } finally {
    await client.end();
  }
  const url = new URL(adminURL);
  url.pathname = `/${name}`;
  return url.toString();
}

/** Drops a database made by createDatabase, closing whatever connections are left on it. */
export async function dropDatabase(databaseURL: string): Promise<void> {
  const url = new URL(databaseURL);
  const name = url.pathname.slice(1);
  url.pathname = '/postgres';
  const client = new pg.Client({ connectionString: url.toString() });
  await client.connect();
  try {
    await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  } finally {
    await client.end();
  }
}

/** A fresh database on the cluster jest's global setup started (test/support/jest-global-setup.ts). */
export async function testDatabase(prefix?: string): Promise<string> {
  const shared = process.env[SHARED_PG_ENV];
  if (shared === undefined || shared === '') {
    throw new Error(`${SHARED_PG_ENV} is not set: run the tests through jest's global setup (npm test, or npx jest), which starts PostgreSQL`);
  }
  return createDatabase(shared, prefix);
}

declare global {
  // The teardown (test/support/jest-global-teardown.ts) runs in this same process and stops what the setup started.
  var remediatorTestPostgres: PostgresCluster | undefined;
}

/** Jest's global setup: one private cluster for the whole run, handed to the test files through SHARED_PG_ENV. */
export default async function globalSetup(): Promise<void> {
  if (process.env[SHARED_PG_ENV]) return;
  const cluster = await startPostgres();
  globalThis.remediatorTestPostgres = cluster;
  process.env[SHARED_PG_ENV] = cluster.url();
}
