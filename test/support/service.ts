/** The real remediator service as a child process (`node bin/remediator.js serve`), built from dist/. */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import YAML from 'yaml';
import { defaultChildEnv, startChild } from './child.js';
import type { ChildExit, ChildHandle } from './child.js';
import { freePort, isAddressInUse } from './free-port.js';
import { answers200 } from './http.js';
import { makeTempDir } from './temp-dir.js';
import { waitFor } from './wait-for.js';

/** The repository root: the nearest folder above this file with a package.json (this file also runs compiled, from build/demo/). */
export const REPO_ROOT = findRoot(path.dirname(fileURLToPath(import.meta.url)));

function findRoot(from: string): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, 'package.json'))) return dir;
    if (path.dirname(dir) === dir) throw new Error(`no package.json above ${from}`);
  }
}

/** Options for startService. */
export interface ServiceOptions {
  /** The config (SPEC §5) written as YAML; `listen` and `publicURL` default to a free loopback port. Use absolute paths: relative ones resolve against the config file's temp folder. */
  config: Record<string, unknown>;
  cwd?: string;
  /** Added to the service's environment (this process's, less NODE_OPTIONS). */
  env?: NodeJS.ProcessEnv;
  /** Folder for the config file; a fresh temp folder by default. */
  dir?: string;
}

/** A running remediator service; `pid`, `url` and `exited` follow restarts. */
export interface ServiceHandle {
  readonly url: string;
  readonly baseUrl: string;
  readonly pid: number;
  readonly configPath: string;
  readonly dir: string;
  readonly exited: Promise<ChildExit>;
  /** Polls GET /-/ready until 200; fails early with the logs if the process exits. */
  waitReady(timeoutMs?: number): Promise<void>;
  /** Sends a signal to the service process only (its steps' process groups are left alone). */
  kill(signal?: NodeJS.Signals): void;
  /** SIGTERM, then SIGKILL after `graceMs`; waits for exit. */
  stop(graceMs?: number): Promise<ChildExit>;
  /** Starts the service again with the same config file (after kill or stop). */
  restart(): Promise<void>;
  /** Everything the service wrote to stdout and stderr, over all restarts. */
  logs(): string;
  /** The log lines that are JSON objects (pino), parsed. */
  logRecords(): Record<string, unknown>[];
}

/** Starts the service without waiting for it; call waitReady() (or await exited, for start-up failures). */
export async function startService(options: ServiceOptions): Promise<ServiceHandle> {
  assertBuilt();
  const dir = options.dir ?? makeTempDir('service');
  const configPath = path.join(dir, 'remediator.yaml');
  const autoPort = options.config.listen === undefined;
  const config = { ...options.config };
  const writeConfig = async (): Promise<void> => {
    if (autoPort) {
      const port = await freePort();
      config.listen = `127.0.0.1:${port}`;
      if (options.config.publicURL === undefined) config.publicURL = `http://127.0.0.1:${port}`;
    }
    fs.writeFileSync(configPath, YAML.stringify(config));
  };
  await writeConfig();

  const earlier: string[] = [];
  let child: ChildHandle = await spawnService(configPath, options);
  const respawn = async (): Promise<void> => {
    earlier.push(child.output());
    child = await spawnService(configPath, options);
  };
  const baseUrl = (): string => `http://${String(config.listen).replace(/^0\.0\.0\.0:/, '127.0.0.1:')}`;

  const waitReady = async (timeoutMs = 30_000): Promise<void> => {
    for (let attempt = 1; ; attempt++) {
      try {
        await waitFor(() => answers200(`${baseUrl()}/-/ready`), {
          description: `remediator ${baseUrl()}/-/ready`,
          timeoutMs,
          abortIf: () => (child.exitStatus() ? 'the service exited' : undefined),
        });
        return;
      } catch (thrown) {
        if (autoPort && attempt < 4 && child.exitStatus() && isAddressInUse(child.output())) {
          await writeConfig();
          await respawn();
          continue;
        }
        await child.stop();
        throw new Error(`${(thrown as Error).message}\n${child.describe()}`, { cause: thrown });
      }
    }
  };

  return {
    get url() {
      return baseUrl();
    },
    get baseUrl() {
      return baseUrl();
    },
    get pid() {
      return child.pid;
    },
    get exited() {
      return child.exited;
    },
    configPath,
    dir,
    waitReady,
    kill: (signal = 'SIGTERM') => child.kill(signal),
    stop: (graceMs = 15_000) => child.stop(graceMs),
    restart: async () => {
      if (!child.exitStatus()) throw new Error(`restart: the service [pid ${child.pid}] is still running; stop or kill it first`);
      await respawn();
    },
    logs: () => [...earlier, child.output()].join(''),
    logRecords: () => parseJsonLines([...earlier, child.output()].join('')),
  };
}

/** Writes a bearer token (with a trailing newline, as `echo` would) to a 0600 file in `dir`; returns its path. */
export function writeTokenFile(dir: string, token: string, name = 'token'): string {
  const file = path.join(dir, `${name}-${Math.random().toString(36).slice(2, 8)}.token`);
  fs.writeFileSync(file, `${token}\n`, { mode: 0o600 });
  return file;
}

function spawnService(configPath: string, options: ServiceOptions): Promise<ChildHandle> {
  return startChild(process.execPath, [path.join(REPO_ROOT, 'bin', 'remediator.js'), 'serve', '--config', configPath], {
    cwd: options.cwd ?? path.dirname(configPath),
    env: defaultChildEnv(options.env),
    name: 'remediator',
    logFile: path.join(path.dirname(configPath), 'remediator.log'),
  });
}

function parseJsonLines(text: string): Record<string, unknown>[] {
  const records: Record<string, unknown>[] = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      const value: unknown = JSON.parse(line);
      if (typeof value === 'object' && value !== null && !Array.isArray(value)) records.push(value as Record<string, unknown>);
    } catch {
      // a line cut by the output cap or a non-JSON line that happens to start with "{"
    }
  }
  return records;
}

let builtChecked = false;

function assertBuilt(): void {
  if (builtChecked) return;
  const bin = path.join(REPO_ROOT, 'bin', 'remediator.js');
  const entry = path.join(REPO_ROOT, 'dist', 'cli', 'main.js');
  for (const file of [bin, entry]) {
    if (!fs.existsSync(file)) throw new Error(`${file} is missing: run \`npm run build\` first (npm test does)`);
  }
  if (newestMtime(path.join(REPO_ROOT, 'src'), '.ts') > newestMtime(path.join(REPO_ROOT, 'dist'), '.js')) {
    // A warning, not a failure: in a shared checkout someone may save a file while the suite runs.
    process.stderr.write('warning: dist/ is older than src/; run `npm run build` (npm test does) or the service under test is stale\n');
  }
  builtChecked = true;
}

function newestMtime(dir: string, suffix: string): number {
  let newest = 0;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestMtime(full, suffix));
    else if (entry.name.endsWith(suffix) && !entry.name.endsWith(`.test${suffix}`)) newest = Math.max(newest, fs.statSync(full).mtimeMs);
  }
  return newest;
}
