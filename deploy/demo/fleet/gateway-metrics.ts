/** The gateway's /metrics: request outcomes, and per-replica and per-model gauges read from the state at scrape time. */
import { Counter, Gauge, Registry } from 'prom-client';
import type { Outcome } from './gateway-proxy.js';
import type { GatewayState, Replica } from './gateway-state.js';

const REPLICA_LABELS = ['model_name', 'replica', 'host', 'gpu'] as const;

function labels(r: Replica): Record<(typeof REPLICA_LABELS)[number], string> {
  return { model_name: r.target.model, replica: r.address, host: r.target.ip, gpu: String(r.target.gpu) };
}

/** The gateway's registry and the one metric that is counted as requests end. */
export interface GatewayMetrics {
  readonly registry: Registry;
  count(model: string, outcome: Outcome): void;
}

/** Registers every gateway metric on a registry of its own (several gateways may share a test process). */
export function createGatewayMetrics(state: GatewayState): GatewayMetrics {
  const registry = new Registry();
  const requests = new Counter({
    name: 'llm_gateway_requests_total',
    help: 'Client completion requests by how they ended: ok, error, fallback or shed (429).',
    labelNames: ['model_name', 'outcome'],
    registers: [registry],
  });
  // Every (model, outcome) pair exists from the start, so rate() sees the first fallback.
  for (const model of state.models.keys()) for (const outcome of ['ok', 'error', 'fallback', 'shed'] as const) requests.labels({ model_name: model, outcome }).inc(0);

  const perReplica = (name: string, help: string, value: (r: Replica) => number): void => {
    new Gauge({
      name,
      help,
      labelNames: REPLICA_LABELS,
      registers: [registry],
      collect() {
        for (const r of state.replicas) this.set(labels(r), value(r));
      },
    });
  };
  perReplica('llm_gateway_replica_up', '1 when the replica answers GET /health with 200.', (r) => (r.up ? 1 : 0));
  perReplica('llm_gateway_replica_drained', '1 when the replica is drained (out of routing).', (r) => (r.drained ? 1 : 0));
  perReplica('llm_gateway_replica_breaker_open', '1 when the replica\'s circuit breaker is open or half-open.', (r) => (r.breaker.state === 'closed' ? 0 : 1));
  perReplica('llm_gateway_replica_inflight', 'Client requests in flight on the replica.', (r) => r.inflight);
  perReplica('llm_gateway_replica_canary_success', '1 when the last canary completion answered with tokens.', (r) => (r.canary ? 1 : 0));

  new Gauge({
    name: 'llm_gateway_replica_info',
    help: 'The vLLM version the replica reported on GET /version when it last became ready.',
    labelNames: [...REPLICA_LABELS, 'vllm_version'],
    registers: [registry],
    collect() {
      // Reset first: a replica that changed version must not keep its old series.
      this.reset();
      for (const r of state.replicas) if (r.version !== null) this.set({ ...labels(r), vllm_version: r.version }, 1);
    },
  });
  new Gauge({
    name: 'llm_gateway_model_ready_replicas',
    help: 'Replicas of the model that client traffic is routed to now (ready, undrained, breaker not open).',
    labelNames: ['model_name'],
    registers: [registry],
    collect() {
      for (const m of state.models.values()) this.set({ model_name: m.name }, m.replicas.filter((r) => r.up && !r.drained && r.breaker.state !== 'open').length);
    },
  });
  new Gauge({
    name: 'llm_gateway_model_admission_batch_inflight',
    help: 'The batch in-flight limit in force for the model (-1 when none).',
    labelNames: ['model_name'],
    registers: [registry],
    collect() {
      for (const m of state.models.values()) this.set({ model_name: m.name }, m.admission ? m.admission.limit : -1);
    },
  });
  return { registry, count: (model, outcome) => requests.labels({ model_name: model, outcome }).inc() };
}
