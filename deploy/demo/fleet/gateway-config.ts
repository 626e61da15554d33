/** The gateway's view of fleet.json: its own settings (durations in ms) and every replica with its host's IP. */
import { z } from 'zod';
import { parseDuration } from '../../../src/core/duration.js';
import { loadFleetConfig, type FleetConfig } from './fleet-config.js';

const duration = z.string().refine((s) => parseDuration(s) !== null, { message: 'must be a Prometheus duration such as 500ms, 2s or 30m' });
const ms = (text: string): number => parseDuration(text) ?? 0;

const settingsSchema = z.object({
  host: z.ipv4().default('127.0.0.1'),
  port: z.number().int().min(0).max(65535),
  checkEvery: duration.default('500ms'),
  canaryEvery: duration.default('1s'),
  ttftTimeout: duration.default('2s'),
  retries: z.number().int().min(0).max(10).default(2),
  breaker: z.object({ failures: z.number().int().min(1).default(3), openFor: duration.default('3s') }).prefault({}),
});

/** The gateway section of fleet.json, resolved. */
export interface GatewaySettings {
  readonly host: string;
  readonly port: number;
  readonly checkEveryMs: number;
  readonly canaryEveryMs: number;
  readonly ttftTimeoutMs: number;
  readonly retries: number;
  readonly breaker: { readonly failures: number; readonly openForMs: number };
}

/** One replica the gateway routes to. */
export interface ReplicaTarget {
  readonly model: string;
  readonly ip: string;
  readonly port: number;
  readonly hostName: string;
  readonly gpu: number;
  /** The engine's --max-num-seqs: how many requests it runs at once, the rest wait in its queue. */
  readonly maxNumSeqs: number;
}

/** Everything createGateway needs. */
export interface GatewayConfig {
  readonly settings: GatewaySettings;
  /** Model name → its replicas, in fleet.json's order. */
  readonly models: ReadonlyMap<string, readonly ReplicaTarget[]>;
}

/** Resolves the gateway section (absent fields take the README's defaults); throws naming the bad field. */
export function parseGatewaySettings(section: unknown): GatewaySettings {
  const parsed = settingsSchema.safeParse(section ?? {});
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `gateway.${i.path.join('.')}: ${i.message}`);
    throw new Error(`fleet config is invalid:\n${lines.join('\n')}`);
  }
  const s = parsed.data;
  return {
    host: s.host,
    port: s.port,
    checkEveryMs: ms(s.checkEvery),
    canaryEveryMs: ms(s.canaryEvery),
    ttftTimeoutMs: ms(s.ttftTimeout),
    retries: s.retries,
    breaker: { failures: s.breaker.failures, openForMs: ms(s.breaker.openFor) },
  };
}

/** The gateway's config from a parsed fleet.json: each replica's host name mapped to the host's IP. */
export function gatewayConfigFromFleet(fleet: FleetConfig): GatewayConfig {
  const ipOf = new Map(fleet.hosts.map((h) => [h.name, h.ip]));
  const models = new Map<string, ReplicaTarget[]>();
  for (const m of fleet.models) {
    models.set(
      m.name,
      m.replicas.map((r) => ({ model: m.name, ip: ipOf.get(r.host) ?? r.host, port: r.port, hostName: r.host, gpu: r.gpu, maxNumSeqs: m.maxNumSeqs })),
    );
  }
  return { settings: parseGatewaySettings(fleet.gateway), models };
}

/** Reads fleet.json into the gateway's config. */
export function loadGatewayConfig(file: string): GatewayConfig {
  return gatewayConfigFromFleet(loadFleetConfig(file));
}
