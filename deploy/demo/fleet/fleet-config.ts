/** The topology file (fleet.json) the rehearsal writes: hosts, models and their replicas. */
import fs from 'node:fs';
import { z } from 'zod';

const name = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/, 'a name of letters, digits, dot, dash and underscore');
const port = z.number().int().min(1).max(65535);

const hostSchema = z.object({
  name: z.string().regex(/^gpu-[0-9]{1,3}$/, 'a host is named gpu-N'),
  ip: z.ipv4(), // 127.0.10.N in the rehearsal (127.0.1.1 is Debian's own host name)
  dcgmPort: port,
  gpus: z.number().int().min(1).max(16),
});

const replicaSchema = z.object({ host: z.string(), gpu: z.number().int().min(0), port });

const modelSchema = z.object({
  name,
  version: z.string().min(1),
  loadSeconds: z.number().min(0),
  tokensPerSecond: z.number().positive(),
  maxNumSeqs: z.number().int().positive(),
  gpuMemoryUtilization: z.number().gt(0).max(1),
  maxModelLen: z.number().int().positive().default(8192),
  replicas: z.array(replicaSchema).min(1),
});

// The gateway's own section belongs to the gateway; it is kept as written.
const fleetSchema = z
  .object({
    stateDir: z.string().min(1),
    controlPort: port,
    timeScale: z.number().positive().default(1),
    hosts: z.array(hostSchema).min(1),
    models: z.array(modelSchema).min(1),
    gateway: z.record(z.string(), z.unknown()).optional(),
  })
  .superRefine((fleet, ctx) => {
    const hosts = new Map(fleet.hosts.map((h) => [h.name, h]));
    if (hosts.size !== fleet.hosts.length) ctx.addIssue({ code: 'custom', path: ['hosts'], message: 'two hosts share a name' });
    const units = new Set<string>();
    fleet.models.forEach((m, mi) =>
      m.replicas.forEach((r, ri) => {
        const at = ['models', mi, 'replicas', ri];
        const host = hosts.get(r.host);
        if (!host) return ctx.addIssue({ code: 'custom', path: [...at, 'host'], message: `unknown host ${r.host}` });
        if (r.gpu >= host.gpus) ctx.addIssue({ code: 'custom', path: [...at, 'gpu'], message: `${r.host} has ${host.gpus} GPU(s)` });
        const unit = `${r.host}/${m.name}`;
        if (units.has(unit)) ctx.addIssue({ code: 'custom', path: at, message: `two replicas of ${m.name} on ${r.host} (one vllm@${m.name} unit per host)` });
        units.add(unit);
      }),
    );
  });

/** A parsed fleet.json. */
export type FleetConfig = z.infer<typeof fleetSchema>;
/** One host of the fleet. */
export type HostConfig = FleetConfig['hosts'][number];
/** One served model and where its replicas run. */
export type ModelConfig = FleetConfig['models'][number];
/** One replica: a vllm@MODEL unit on a host. */
export type ReplicaConfig = ModelConfig['replicas'][number];

/** Parses a fleet.json text (comments are not JSON: the README's example is annotated, the file is not). */
export function parseFleetConfig(text: string): FleetConfig {
  const parsed = fleetSchema.safeParse(JSON.parse(text));
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new Error(`fleet config is invalid:\n${lines.join('\n')}`);
  }
  return parsed.data;
}

/** Reads and parses fleet.json. */
export function loadFleetConfig(file: string): FleetConfig {
  return parseFleetConfig(fs.readFileSync(file, 'utf8'));
}
