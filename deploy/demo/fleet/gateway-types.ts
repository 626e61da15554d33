/** The JSON shapes of the gateway's admin API, shared by the gateway and gateway-client. */

/** A replica's circuit breaker: closed routes, open refuses, half-open lets one probe request through. */
export type BreakerState = 'closed' | 'open' | 'half-open';

/** One replica as GET /admin/replicas shows it. */
export interface GatewayReplica {
  /** IP:PORT, as the vllm scrape job and the runbooks name it. */
  readonly replica: string;
  readonly model: string;
  /** The host's IP (what the runbooks call the host). */
  readonly host: string;
  /** The host's name in fleet.json (gpu-N). */
  readonly hostName: string;
  readonly port: number;
  readonly gpu: number;
  /** ready: /health answers 200; unready: it does not (or has not been checked yet). */
  readonly state: 'ready' | 'unready';
  /** The same as state === 'ready' (the llm_gateway_replica_up gauge). */
  readonly up: boolean;
  readonly drained: boolean;
  readonly breaker: BreakerState;
  /** Client requests (pinned ones included, canaries not) now waiting on this replica. */
  readonly inflight: number;
  /** From GET /version when it last became ready; null until read. */
  readonly version: string | null;
  /** True when the last canary completion answered with tokens. */
  readonly canary: boolean;
  /** When the last canary ended (ms ISO), null before the first. */
  readonly canaryAt: string | null;
  /** Whether client traffic may be routed to it now (up, undrained, breaker letting requests through). */
  readonly routable: boolean;
}

/** The kinds of event the gateway records. */
export type GatewayEventKind =
  | 'drain'
  | 'undrain'
  | 'replica-ready'
  | 'replica-unready'
  | 'replica-version'
  | 'breaker-open'
  | 'breaker-half-open'
  | 'breaker-close'
  | 'fallback-start'
  | 'fallback-end'
  | 'admission-set'
  | 'admission-lifted';

/** One entry of GET /admin/events, in the order things happened. */
export interface GatewayEvent {
  readonly seq: number;
  /** Millisecond ISO timestamp. */
  readonly at: string;
  readonly kind: GatewayEventKind;
  /** IP:PORT for replica events, null for model events (fallback, admission). */
  readonly replica: string | null;
  readonly model: string;
  readonly detail: Readonly<Record<string, unknown>>;
}

/** A model's batch admission limit as the admin API answers it. */
export interface AdmissionView {
  readonly model: string;
  readonly batchInflight: number;
  readonly expiresAt: string;
}
