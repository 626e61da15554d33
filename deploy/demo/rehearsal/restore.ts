/**
 * Between two rehearsed faults the fleet is put back as a person would leave it: every fault
 * cleared, a cordoned GPU reset (a replaced board), every engine running, every replica back in
 * routing, no load limit left, and no fleet alert still firing in Prometheus.
 */
import { query } from '../../../test/support/prometheus.js';
import { clearFaults, fleetState, gpuReset, unitAction } from '../fleet/fleet-client.js';
import { gatewayReplicas, liftAdmission, undrainReplica } from '../fleet/gateway-client.js';
import type { Stack } from './stack.js';

const FLEET_ALERTS = 'LLMServerDown|LLMHungServer|LLMQueueBacklog|GPUMemoryNearFull|GPUMemoryExhaustionPredicted|GPUXidError|ModelVersionSkew';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function until(what: string, probe: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`restoring the fleet: ${what} did not happen within ${timeoutMs / 1000}s`);
    await sleep(500);
  }
}

/** Puts the fleet back in service and waits until Prometheus sees it healthy. */
export async function restoreFleet(stack: Stack): Promise<void> {
  await clearFaults(stack.controlUrl);
  const state = await fleetState(stack.controlUrl);
  for (const gpu of state.gpus.filter((g) => g.xid !== 0)) {
    for (const unit of state.units.filter((u) => u.host === gpu.host)) await unitAction(stack.controlUrl, unit.host, unit.unit, 'stop');
    await gpuReset(stack.controlUrl, gpu.host, gpu.index);
  }
  for (const unit of (await fleetState(stack.controlUrl)).units.filter((u) => u.state !== 'active')) {
    await unitAction(stack.controlUrl, unit.host, unit.unit, 'start');
  }
  for (const model of stack.fleet.models) await liftAdmission(stack.gatewayUrl, model.name);
  for (const r of await gatewayReplicas(stack.gatewayUrl)) if (r.drained) await undrainReplica(stack.gatewayUrl, r.replica);
  await until('every replica routed and answering canaries', async () => (await gatewayReplicas(stack.gatewayUrl)).every((r) => r.up && r.canary), 60_000);
  await until(
    'no fleet alert firing in Prometheus',
    async () => (await query(stack.prometheus.url, `ALERTS{alertname=~"${FLEET_ALERTS}", alertstate="firing"}`)).length === 0,
    90_000,
  );
}
