/** Shared by the demo fleet's tests: the compiled demo, a fleet.json on free ports, and the host stand-ins run as sshd would run them. */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../support/free-port.js';

/** The repository root. */
export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
/** The stand-ins sshd puts first on PATH. */
export const HOST_BIN = path.join(REPO, 'deploy', 'demo', 'host-bin');
/** The real-host helpers (vllm-env). */
export const HOST_HELPERS = path.join(REPO, 'deploy', 'host');

const LOCK = path.join(REPO, 'build', '.demo-build.lock');

function tscErrorsInFleet(output: string): string[] {
  // Only the fleet core's own files fail these tests; the gateway, load and rehearsal files are others' and may be mid-edit.
  return output.split('\n').filter((l) => /^deploy\/demo\/(fleet|host)\/(?!gateway|load).*error TS/.test(l));
}

function runTsc(): Promise<string> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [path.join(REPO, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.demo.json'], { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    child.on('exit', () => resolve(out));
  });
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Compiles tsconfig.demo.json into build/demo once at a time across jest workers (incremental, so a second run is quick). */
export async function ensureDemoBuild(): Promise<void> {
  fs.mkdirSync(path.dirname(LOCK), { recursive: true });
  for (let waited = 0; ; waited += 100) {
    try {
      fs.mkdirSync(LOCK);
      break;
    } catch {
      // Another worker builds; a lock older than a minute is left from a killed run.
      const age = Date.now() - (fs.statSync(LOCK, { throwIfNoEntry: false })?.mtimeMs ?? Date.now());
      if (age > 60_000) fs.rmSync(LOCK, { recursive: true, force: true });
      if (waited > 90_000) throw new Error('timed out waiting for another worker to build the demo');
      await sleep(100);
    }
  }
  try {
    const errors = tscErrorsInFleet(await runTsc());
    if (errors.length > 0) throw new Error(`tsc -p tsconfig.demo.json failed:\n${errors.join('\n')}`);
  } finally {
    fs.rmSync(LOCK, { recursive: true, force: true });
  }
}

/** The compiled JS of a demo module, e.g. compiledDemo('fleet/engine.js'). */
export function compiledDemo(relative: string): string {
  return path.join(REPO, 'build', 'demo', 'deploy', 'demo', relative);
}

/** What a test fleet looks like: `hosts` hosts on 127.0.N.x with one GPU each unless given, one model with a replica per host. */
export interface TestFleetSpec {
  readonly subnet: number;
  readonly hosts: number;
  readonly gpusPerHost?: number;
  readonly loadSeconds?: number;
  readonly tokensPerSecond?: number;
  readonly maxNumSeqs?: number;
  readonly model?: string;
}

/** Writes fleet.json under `dir` with free ports and returns its path, the control URL and the config. */
export async function writeFleet(dir: string, spec: TestFleetSpec): Promise<{ file: string; controlUrl: string; config: Record<string, unknown> & { hosts: { name: string; ip: string; dcgmPort: number }[]; models: { replicas: { host: string; port: number }[] }[] } }> {
  const hosts = [];
  const replicas = [];
  for (let n = 1; n <= spec.hosts; n++) {
    hosts.push({ name: `gpu-${n}`, ip: `127.0.${spec.subnet}.${n}`, dcgmPort: await freePort(), gpus: spec.gpusPerHost ?? 1 });
    replicas.push({ host: `gpu-${n}`, gpu: 0, port: await freePort() });
  }
  const config = {
    stateDir: path.join(dir, 'state'),
    controlPort: await freePort(),
    timeScale: 1,
    hosts,
    models: [
      { name: spec.model ?? 'llama-3-8b', version: '0.11.0', loadSeconds: spec.loadSeconds ?? 0.3, tokensPerSecond: spec.tokensPerSecond ?? 50, maxNumSeqs: spec.maxNumSeqs ?? 4, gpuMemoryUtilization: 0.9, replicas },
    ],
  };
  const file = path.join(dir, 'fleet.json');
  fs.writeFileSync(file, JSON.stringify(config, null, 2));
  return { file, controlUrl: `http://127.0.0.1:${config.controlPort}`, config };
}

/** How a stand-in ended. */
export interface ToolRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a command with the environment the rehearsal's sshd gives host `host`: stand-ins first on PATH. */
export function onHost(host: string, controlUrl: string, command: string, args: readonly string[], extraEnv: Record<string, string> = {}): Promise<ToolRun> {
  const env: NodeJS.ProcessEnv = { ...process.env, FLEET_HOST: host, FLEET_CONTROL_URL: controlUrl, PATH: `${HOST_BIN}:${HOST_HELPERS}:/usr/local/bin:/usr/bin:/bin`, ...extraEnv };
  delete env.NODE_OPTIONS;
  delete env.FLEET_AS_ROOT;
  return new Promise((resolve, reject) => {
    const child = spawn(command, [...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('error', reject);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}
