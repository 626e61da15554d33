/** startGateway, which runs the gateway process for a rehearsal or a test, and typed calls to its admin API. */
import { spawn } from 'node:child_process';
import type { AdmissionView, GatewayEvent, GatewayReplica } from './gateway-types.js';
import { compiled } from './paths.js';

export type { AdmissionView, BreakerState, GatewayEvent, GatewayEventKind, GatewayReplica } from './gateway-types.js';

async function call<T>(url: string, init: RequestInit = {}, okStatuses: readonly number[] = []): Promise<T> {
  const res = await fetch(url, { ...init, signal: init.signal ?? AbortSignal.timeout(10_000) });
  const text = await res.text();
  if (!res.ok && !okStatuses.includes(res.status)) throw new Error(`${init.method ?? 'GET'} ${url} answered ${res.status}: ${text}`);
  return JSON.parse(text) as T;
}

const OUTPUT_LIMIT = 256 * 1024;

const post = (body?: unknown): RequestInit => ({ method: 'POST', headers: { 'content-type': 'application/json' }, body: body === undefined ? '' : JSON.stringify(body) });
// "IP:PORT" → "IP/PORT", the admin API's path form.
const replicaPath = (replica: string): string => {
  const at = replica.lastIndexOf(':');
  return `${encodeURIComponent(replica.slice(0, at))}/${encodeURIComponent(replica.slice(at + 1))}`;
};

/** GET /admin/replicas. */
export function gatewayReplicas(gatewayUrl: string): Promise<GatewayReplica[]> {
  return call(`${gatewayUrl}/admin/replicas`);
}

/** GET /admin/events, after sequence number `after` when given. */
export function gatewayEvents(gatewayUrl: string, after = 0): Promise<GatewayEvent[]> {
  return call(`${gatewayUrl}/admin/events${after > 0 ? `?after=${after}` : ''}`);
}

/** POST /admin/replicas/IP/PORT/drain for a replica named IP:PORT. */
export function drainReplica(gatewayUrl: string, replica: string): Promise<{ replica: string; drained: boolean }> {
  return call(`${gatewayUrl}/admin/replicas/${replicaPath(replica)}/drain`, post());
}

/** POST /admin/replicas/IP/PORT/undrain for a replica named IP:PORT. */
export function undrainReplica(gatewayUrl: string, replica: string): Promise<{ replica: string; drained: boolean }> {
  return call(`${gatewayUrl}/admin/replicas/${replicaPath(replica)}/undrain`, post());
}

/** POST /admin/gpus/IP/GPU/drain or /undrain: every replica on that GPU. */
export function drainGpu(gatewayUrl: string, host: string, gpu: number, drained = true): Promise<{ replicas: { replica: string; drained: boolean }[] }> {
  return call(`${gatewayUrl}/admin/gpus/${encodeURIComponent(host)}/${gpu}/${drained ? 'drain' : 'undrain'}`, post());
}

/** GET /admin/replicas/IP/PORT/idle or /ready: whether it passes, and the gateway's answer. */
export async function replicaProbe(gatewayUrl: string, replica: string, probe: 'idle' | 'ready'): Promise<{ pass: boolean; body: Record<string, unknown> }> {
  const res = await fetch(`${gatewayUrl}/admin/replicas/${replicaPath(replica)}/${probe}`, { signal: AbortSignal.timeout(10_000) });
  const body = (await res.json()) as Record<string, unknown>;
  if (res.status !== 200 && res.status !== 409) throw new Error(`${probe} of ${replica} answered ${res.status}: ${JSON.stringify(body)}`);
  return { pass: res.status === 200, body };
}

/** POST /admin/models/M/admission: batch requests beyond `batchInflight` in flight get 429 for `ttl`. */
export function setAdmission(gatewayUrl: string, model: string, batchInflight: number, ttl = '30m'): Promise<AdmissionView> {
  return call(`${gatewayUrl}/admin/models/${encodeURIComponent(model)}/admission`, post({ batchInflight, ttl }));
}

/** DELETE /admin/models/M/admission; `lifted` is false when no limit was set. */
export function liftAdmission(gatewayUrl: string, model: string): Promise<{ model: string; lifted: boolean }> {
  return call(`${gatewayUrl}/admin/models/${encodeURIComponent(model)}/admission`, { method: 'DELETE' });
}

/** Short names for the same calls. */
export const replicas = gatewayReplicas;
/** The same as gatewayEvents. */
export const events = gatewayEvents;
/** The same as drainReplica. */
export const drain = drainReplica;
/** The same as undrainReplica. */
export const undrain = undrainReplica;

/** A running gateway process. */
export interface GatewayHandle {
  readonly pid: number;
  readonly url: string;
  /** Its stdout and stderr so far (one JSON line per event). */
  output(): string;
  /** SIGTERM, SIGKILL after `graceMs`; resolves once it has exited. */
  stop(graceMs?: number): Promise<void>;
}

/** The compiled gateway, found from this module whether it runs compiled (build/demo/...) or as TypeScript. */
export function gatewayScript(): string {
  return compiled(import.meta.url, 'deploy/demo/fleet/gateway.js');
}

/** Spawns the gateway on `configPath` and resolves when it prints `gateway ready`; rejects with its output if it exits or times out first. */
export async function startGateway(configPath: string, options: { readyTimeoutMs?: number } = {}): Promise<GatewayHandle> {
  const env = { ...process.env };
  delete env.NODE_OPTIONS; // jest's --experimental-vm-modules is not for children
  const child = spawn(process.execPath, [gatewayScript(), '--config', configPath], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  let url = '';
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const timeoutMs = options.readyTimeoutMs ?? 30_000;
  let timer: NodeJS.Timeout | undefined;
  await new Promise<void>((resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`the gateway was not ready within ${timeoutMs} ms:\n${output}`)), timeoutMs);
    const onData = (chunk: Buffer): void => {
      output += chunk.toString('utf8');
      // Every event is a line: keep the recent part only, the gateway may run for an hour.
      if (output.length > OUTPUT_LIMIT) output = output.slice(-OUTPUT_LIMIT);
      // Complete lines only: a chunk may end mid-line.
      const ready = url === '' ? output.split('\n').slice(0, -1).find((l) => l.includes('"gateway ready"')) : undefined;
      if (!ready) return;
      url = (JSON.parse(ready) as { url: string }).url;
      clearTimeout(timer);
      resolve();
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('error', (err) => reject(err));
    void exited.then(() => reject(new Error(`the gateway exited before it was ready:\n${output}`)));
  }).catch(async (thrown: unknown) => {
    clearTimeout(timer);
    child.kill('SIGKILL');
    await exited;
    throw thrown;
  });
  return {
    pid: child.pid ?? 0,
    url,
    output: () => output,
    stop: async (graceMs = 5_000) => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}
