/** The rehearsal's fleet: hosts on loopback addresses, one model with three replicas, free ports. */
import { freePort } from '../../../test/support/free-port.js';

/** A host of fleet.json. */
export interface HostSpec {
  readonly name: string;
  readonly ip: string;
  readonly dcgmPort: number;
  readonly gpus: number;
}

/** A replica of a model: an engine on a host's GPU. */
export interface ReplicaSpec {
  readonly host: string;
  readonly gpu: number;
  readonly port: number;
}

/** A model of fleet.json. */
export interface ModelSpec {
  readonly name: string;
  readonly version: string;
  readonly loadSeconds: number;
  readonly tokensPerSecond: number;
  readonly maxNumSeqs: number;
  readonly gpuMemoryUtilization: number;
  readonly replicas: readonly ReplicaSpec[];
}

/** fleet.json (deploy/demo/README.md). */
export interface FleetSpec {
  readonly stateDir: string;
  readonly controlPort: number;
  readonly timeScale: number;
  readonly hosts: readonly HostSpec[];
  readonly models: readonly ModelSpec[];
  readonly gateway: {
    readonly port: number;
    readonly checkEvery: string;
    readonly canaryEvery: string;
    readonly ttftTimeout: string;
    readonly retries: number;
    readonly breaker: { readonly failures: number; readonly openFor: string };
  };
}

/** The model every fault is rehearsed on. */
export const MODEL = 'llama-3-8b';
/** The version its fleet runs. */
export const FLEET_VERSION = '0.11.0';

/** Host N's loopback address (127.0.10.N: clear of 127.0.1.1, which Debian gives the host name). */
export function hostIp(n: number): string {
  return `127.0.10.${n}`;
}

/** A fleet of `replicas` hosts with one GPU each, serving one model, on free ports. */
export async function makeFleetSpec(stateDir: string, timeScale: number, replicas = 3): Promise<FleetSpec> {
  const hosts: HostSpec[] = [];
  const reps: ReplicaSpec[] = [];
  for (let n = 1; n <= replicas; n++) {
    hosts.push({ name: `gpu-${n}`, ip: hostIp(n), dcgmPort: await freePort(), gpus: 1 });
    reps.push({ host: `gpu-${n}`, gpu: 0, port: await freePort() });
  }
  return {
    stateDir,
    controlPort: await freePort(),
    timeScale,
    hosts,
    models: [
      { name: MODEL, version: FLEET_VERSION, loadSeconds: 3, tokensPerSecond: 50, maxNumSeqs: 8, gpuMemoryUtilization: 0.9, replicas: reps },
    ],
    gateway: {
      port: await freePort(),
      checkEvery: '500ms',
      canaryEvery: '1s',
      ttftTimeout: '2s',
      retries: 2,
      breaker: { failures: 3, openFor: '3s' },
    },
  };
}

/** `IP:PORT` of a replica, as the gateway and the vllm scrape job name it. */
export function replicaAddress(fleet: FleetSpec, r: ReplicaSpec): string {
  const host = fleet.hosts.find((h) => h.name === r.host);
  if (!host) throw new Error(`replica on unknown host ${r.host}`);
  return `${host.ip}:${r.port}`;
}

/** Prometheus scrape jobs for the fleet: engines, dcgm exporters, the gateway, remediator. */
export function scrapeConfigs(fleet: FleetSpec, remediatorHostPort: string): Record<string, unknown>[] {
  const servedBy = (host: string): string => fleet.models.find((m) => m.replicas.some((r) => r.host === host))?.name ?? 'none';
  return [
    {
      job_name: 'vllm',
      static_configs: fleet.models.map((m) => ({ targets: m.replicas.map((r) => replicaAddress(fleet, r)), labels: { model_name: m.name } })),
    },
    {
      job_name: 'dcgm',
      static_configs: fleet.hosts.map((h) => ({ targets: [`${h.ip}:${h.dcgmPort}`], labels: { model_name: servedBy(h.name) } })),
    },
    { job_name: 'llm-gateway', static_configs: [{ targets: [`127.0.0.1:${fleet.gateway.port}`] }] },
    { job_name: 'remediator', static_configs: [{ targets: [remediatorHostPort] }] },
  ];
}
