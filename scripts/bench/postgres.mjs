/**
 * A private PostgreSQL cluster for the benchmarks, as test/support/postgres.ts makes one for the tests: initdb and
 * `pg_ctl start -w` on a free loopback port, its socket in its own folder, as the `postgres` user when run as root
 * (PostgreSQL refuses to run as root). Unlike the tests' cluster, fsync and synchronous_commit stay ON (the server's
 * defaults): every acknowledged delivery is on disk, so the figures are those of a real deployment's durability.
 * (`initdb --no-sync` only skips flushing initdb's own template files once; it changes nothing the server does.)
 *
 * Binaries: PG_BIN, then the newest /usr/lib/postgresql/N/bin, then PATH. destroy() stops the server with
 * `pg_ctl -m fast stop` and removes its folder; it is also run when the process exits or is interrupted first.
 */

import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { freePort } from './lib.mjs';

/** Where a PostgreSQL program lives, or null when it is nowhere to be found. */
export function pgBinary(name) {
  const dirs = [];
  if (process.env.PG_BIN) dirs.push(process.env.PG_BIN);
  const root = '/usr/lib/postgresql';
  if (fs.existsSync(root)) {
    const versions = fs.readdirSync(root).filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(b) - Number(a));
    dirs.push(...versions.map((v) => path.join(root, v, 'bin')));
  }
  dirs.push(...(process.env.PATH ?? '').split(path.delimiter).filter(Boolean));
  for (const dir of dirs) {
    const full = path.join(dir, name);
    if (fs.existsSync(full)) return full;
  }
  return null;
}

const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;

/** Runs a PostgreSQL program as the user that owns the cluster; throws with its output when it fails. */
function asOwner(program, args) {
  const [file, argv] = isRoot ? ['runuser', ['-u', 'postgres', '--', program, ...args]] : [program, args];
  const r = spawnSync(file, argv, { encoding: 'utf8', timeout: 60_000 });
  if (r.status !== 0) throw new Error(`${path.basename(program)} ${args.join(' ')} failed (${r.status ?? r.signal}): ${r.stderr || r.stdout}`);
  return r.stdout;
}

/** Every cluster this process started and has not destroyed yet: stopped on exit, whatever the way out. */
const live = new Set();
let hooked = false;

function hookExit() {
  if (hooked) return;
  hooked = true;
  process.once('exit', () => {
    for (const cluster of live) cluster.destroy();
  });
  for (const signal of ['SIGINT', 'SIGTERM']) {
    process.once(signal, () => {
      for (const cluster of live) cluster.destroy();
      process.exit(130);
    });
  }
}

/**
 * Starts a private cluster; resolves to { port, version, url(db), createDatabase(prefix), destroy() }.
 * Throws when no PostgreSQL binaries are found (the caller reports that the PostgreSQL half was not run).
 */
export async function startPostgres() {
  const initdb = pgBinary('initdb');
  const pgCtl = pgBinary('pg_ctl');
  if (initdb === null || pgCtl === null) throw new Error('initdb/pg_ctl not found in PG_BIN, /usr/lib/postgresql/*/bin or PATH (Debian package postgresql)');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'remediator-bench-pg-'));
  const data = path.join(dir, 'data');
  const socket = path.join(dir, 'socket');
  let started = false;
  const stop = () => {
    if (!started) return;
    started = false;
    try {
      asOwner(pgCtl, ['-D', data, '-m', 'fast', '-w', '-t', '30', 'stop']);
    } catch {
      // Already gone, or it would not stop in time: immediate mode as the last word, so no postmaster outlives us.
      spawnSync(isRoot ? 'runuser' : pgCtl, isRoot ? ['-u', 'postgres', '--', pgCtl, '-D', data, '-m', 'immediate', 'stop'] : ['-D', data, '-m', 'immediate', 'stop']);
    }
  };
  const cluster = {
    port: 0,
    version: '',
    url: (name = 'postgres') => `postgres://postgres@127.0.0.1:${cluster.port}/${name}`,
    /** A fresh empty database; resolves to its URL. */
    async createDatabase(prefix = 'bench') {
      const name = `${prefix}_${randomBytes(4).toString('hex')}`;
      const client = new pg.Client({ connectionString: cluster.url() });
      await client.connect();
      try {
        await client.query(`CREATE DATABASE ${name}`);
      } finally {
        await client.end();
      }
      return cluster.url(name);
    },
    /** Stops the server (fast mode) and removes its folder; safe to call twice. */
    destroy() {
      live.delete(cluster);
      try {
        stop();
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    },
  };
  live.add(cluster);
  hookExit();
  try {
    fs.mkdirSync(socket);
    if (isRoot) execFileSync('chown', ['-R', 'postgres:postgres', dir]);
    asOwner(initdb, ['-D', data, '--auth=trust', '--username=postgres', '--encoding=UTF8', '--no-locale', '--no-sync']);
    cluster.port = await freePort();
    // fsync and synchronous_commit are left at their defaults (on): see the header.
    const options = [`-p ${cluster.port}`, `-k ${socket}`, "-c listen_addresses='127.0.0.1'", '-c max_connections=100'].join(' ');
    started = true;
    asOwner(pgCtl, ['-D', data, '-l', path.join(dir, 'server.log'), '-w', '-t', '60', '-o', options, 'start']);
    const client = new pg.Client({ connectionString: cluster.url() });
    await client.connect();
    try {
      const settings = await client.query("SELECT current_setting('server_version') AS v, current_setting('fsync') AS f, current_setting('synchronous_commit') AS s");
      const { v, f, s } = settings.rows[0];
      cluster.version = `PostgreSQL ${v}, fsync ${f}, synchronous_commit ${s}`;
    } finally {
      await client.end();
    }
  } catch (err) {
    cluster.destroy();
    throw err;
  }
  return cluster;
}
