/** Shared pieces of the benchmarks: the service as a child process, a keep-alive HTTP client, statistics and the result rows. */

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root, found from this file's location. */
export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The bearer token every role of a benchmark service accepts. */
export const TOKEN = 'bench-token-0123456789';

/** A fresh temporary folder for one benchmark. */
export function tempDir(name) {
  return fs.mkdtempSync(path.join(os.tmpdir(), `remediator-bench-${name}-`));
}

/** Removes a folder made by tempDir, ignoring what is already gone. */
export function removeDir(dir) {
  fs.rmSync(dir, { recursive: true, force: true });
}

/** Asks the kernel for a free loopback port by listening on port 0 and closing again. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(address.port));
    });
  });
}

/** The value at quantile q (0..1) of an unsorted list, nearest rank. */
export function quantile(values, q) {
  if (values.length === 0) return NaN;
  const sorted = Float64Array.from(values).sort();
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[rank];
}

/** p50, p90, p99, max and count of a list of milliseconds. */
export function summary(values) {
  return { n: values.length, p50: quantile(values, 0.5), p90: quantile(values, 0.9), p99: quantile(values, 0.99), max: quantile(values, 1) };
}

/** Formats milliseconds for the tables. */
export function ms(v) {
  return Number.isFinite(v) ? `${v.toFixed(v < 10 ? 2 : 1)} ms` : 'n/a';
}

/** A result row: what was measured, against which target, and whether it met it (null when not measured). */
export function result(target, measured, goal, met, note = '') {
  return { target, measured, goal, met, note };
}

/** Milliseconds from an arbitrary origin, sub-millisecond resolution. */
export function nowMs() {
  return Number(process.hrtime.bigint()) / 1e6;
}

/** Sleeps. */
export function delay(msecs) {
  return new Promise((resolve) => setTimeout(resolve, msecs));
}

/** A keep-alive HTTP client for one base URL; request() resolves to { status, text }. */
export function httpClient(baseUrl, maxSockets = 8) {
  const agent = new http.Agent({ keepAlive: true, maxSockets });
  const url = new URL(baseUrl);
  const request = (method, urlPath, body) =>
    new Promise((resolve, reject) => {
      const payload = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
      const headers = { authorization: `Bearer ${TOKEN}` };
      if (payload !== undefined) {
        headers['content-type'] = 'application/json';
        headers['content-length'] = Buffer.byteLength(payload);
      }
      const req = http.request({ agent, host: url.hostname, port: url.port, method, path: urlPath, headers }, (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end(payload);
    });
  return { request, close: () => agent.destroy() };
}

/**
 * Writes a config file (the given extra YAML appended) and runbooks into dir; returns the config path and port.
 * storePath is a SQLite file, or a whole postgres:// URL (used as the store URL as it is).
 */
export async function writeService(dir, runbooks, extraConfig = '', storePath = './data/remediator.db') {
  fs.mkdirSync(path.join(dir, 'runbooks'), { recursive: true });
  for (const [name, text] of Object.entries(runbooks)) fs.writeFileSync(path.join(dir, 'runbooks', name), text);
  fs.writeFileSync(path.join(dir, 'token'), TOKEN);
  const port = await freePort();
  const text = [
    `listen: 127.0.0.1:${port}`,
    `publicURL: http://127.0.0.1:${port}`,
    'runbooks: ./runbooks',
    `store: { url: ${JSON.stringify(/^postgres(ql)?:\/\//.test(storePath) ? storePath : `sqlite:${storePath}`)} }`,
    'auth:',
    '  webhook: { bearerTokenFile: token }',
    '  operate: { bearerTokenFile: token }',
    '  read: { bearerTokenFile: token }',
    extraConfig,
  ].join('\n');
  const configPath = path.join(dir, 'remediator.yaml');
  fs.writeFileSync(configPath, text);
  return { configPath, port };
}

/** Starts bare-express.mjs (the throughput baseline) in its own process; resolves to its URL, pid and a stop function. */
export function startBareExpress() {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(REPO_ROOT, 'scripts', 'bench', 'bare-express.mjs')], { stdio: ['ignore', 'pipe', 'inherit'] });
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`bare-express.mjs exited with ${code} before it listened`)));
    child.stdout.once('data', (chunk) => {
      const port = Number(String(chunk).trim());
      const exited = new Promise((r) => child.once('exit', r));
      resolve({ baseUrl: `http://127.0.0.1:${port}`, pid: child.pid, stop: () => (child.kill('SIGTERM'), exited) });
    });
  });
}

/**
 * Starts the real service (`node bin/remediator.js serve`) as a child process, its logs going to a file as they
 * would in production, and waits until /-/ready answers 200.
 */
export async function startService(dir, runbooks, extraConfig = '', storePath = undefined) {
  const { configPath, port } = await writeService(dir, runbooks, extraConfig, storePath);
  const logPath = path.join(dir, 'service.log');
  const logFd = fs.openSync(logPath, 'a');
  const env = { ...process.env };
  delete env.NODE_OPTIONS;
  const child = spawn(process.execPath, [path.join(REPO_ROOT, 'bin', 'remediator.js'), 'serve', '--config', configPath], {
    cwd: dir,
    env,
    stdio: ['ignore', logFd, logFd],
  });
  fs.closeSync(logFd);
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  let gone = null;
  void exited.then((e) => {
    gone = e;
  });
  const baseUrl = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (gone) throw new Error(`service exited at start-up (${JSON.stringify(gone)}):\n${fs.readFileSync(logPath, 'utf8').slice(-2000)}`);
    if (await answers200(`${baseUrl}/-/ready`)) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`service not ready in 30 s:\n${fs.readFileSync(logPath, 'utf8').slice(-2000)}`);
    }
    await delay(50);
  }
  return {
    baseUrl,
    pid: child.pid,
    dbPath: storePath ?? path.join(dir, 'data', 'remediator.db'),
    logPath,
    /** SIGTERM, then SIGKILL after graceMs; resolves when the process has exited. */
    async stop(graceMs = 10_000) {
      if (gone) return gone;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      const e = await exited;
      clearTimeout(timer);
      return e;
    },
  };
}

async function answers200(url) {
  try {
    const res = await fetch(url);
    await res.arrayBuffer();
    return res.status === 200;
  } catch {
    return false;
  }
}

/** Runs a node script as a child process with a JSON argument; resolves to the JSON it prints last on stdout. */
export function runNodeJson(script, arg) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, JSON.stringify(arg)], { stdio: ['ignore', 'pipe', 'inherit'] });
    const chunks = [];
    child.stdout.on('data', (c) => chunks.push(c));
    child.once('error', reject);
    child.once('exit', (code) => {
      const text = Buffer.concat(chunks).toString('utf8').trim();
      if (code !== 0) return reject(new Error(`${path.basename(script)} exited with ${code}: ${text.slice(-500)}`));
      try {
        resolve(JSON.parse(text.split('\n').pop() ?? ''));
      } catch (err) {
        reject(new Error(`${path.basename(script)} printed no JSON: ${text.slice(-500)} (${err})`));
      }
    });
  });
}

/** CPU seconds (user + system) a process has used so far, its reaped children apart, from /proc/PID/stat. */
export function cpuSeconds(pid) {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // Fields 14 and 15 of proc(5) (utime, stime), counted from field 3 after the command name, in clock ticks.
  return (Number(fields[11]) + Number(fields[12])) / 100;
}
