/** startGateway, which runs the gateway process for a rehearsal or a test, and typed calls to its admin API. */
import type { AdmissionView, GatewayEvent, GatewayReplica } from './gateway-types.js';
import { callJson, post, startReadyChild } from './child-process.js';
import { compiled } from './paths.js';

export type { AdmissionView, BreakerState, GatewayEvent, GatewayEventKind, GatewayReplica } from './gateway-types.js';

const call = <T>(url: string, init: RequestInit = {}, okStatuses: readonly number[] = []): Promise<T> => callJson<T>(url, init, okStatuses, 10_000);

const OUTPUT_LIMIT = 256 * 1024;

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
  const child = await startReadyChild({
    script: gatewayScript(),
    args: ['--config', configPath],
    readyMessage: 'gateway ready',
    what: 'the gateway',
    timeoutMs: options.readyTimeoutMs ?? 30_000,
    outputLimit: OUTPUT_LIMIT,
  });
  return { pid: child.pid, url: String(child.ready.url), output: child.output, stop: (graceMs = 5_000) => child.stop(graceMs) };
}
