/**
 * One rehearsed fault: inject it through the supervisor, follow remediator's run of the fault
 * class to its end (approving where the rehearsal stands in for a person), wait until the
 * client sees healthy service, and measure the episode.
 */
import { clearFaults, fleetEvents, injectFault, type FleetEvent } from '../fleet/fleet-client.js';
import { gatewayEvents, gatewayReplicas, type GatewayEvent, type GatewayReplica } from '../fleet/gateway-client.js';
import type { LoadRecord } from '../fleet/load.js';
import { TERMINAL, type EscalationRow, type RunDetail } from './remediator-api.js';
import type { Stack } from './stack.js';

/** A fault class as the rehearsal injects it. */
export interface FaultClassSpec {
  readonly faultClass: string;
  readonly runbook: string;
  /** The body of the supervisor's POST /faults. */
  readonly fault: Record<string, unknown>;
  /** Approve every approval wait of the run through the API (a person would). */
  readonly approve?: boolean;
  /** How long the whole episode may take (ms). */
  readonly timeoutMs?: number;
}

/** One row of the rehearsal's table and JSON (the keys the issue names). */
export interface RehearsalRow {
  readonly faultClass: string;
  readonly runbook: string;
  readonly runId: string | null;
  readonly runState: string | null;
  readonly verified: boolean;
  readonly escalated: boolean;
  readonly detectSeconds: number | null;
  readonly remediateSeconds: number | null;
  readonly mttrSeconds: number | null;
  readonly remediatorSeconds: number | null;
  readonly clientRequests: number;
  readonly clientFailures: number;
  readonly fallbacks: number;
  readonly restarts: number;
}

/** Everything an episode saw, for tests that look closer than the row. */
export interface Episode {
  readonly row: RehearsalRow;
  readonly run: RunDetail | null;
  /** Every run of the fault class's runbook created during the episode. */
  readonly runs: readonly RunDetail[];
  readonly injectedAt: number;
  readonly endedAt: number;
  readonly fleetEvents: readonly FleetEvent[];
  readonly gatewayEvents: readonly GatewayEvent[];
  readonly load: readonly LoadRecord[];
  /** The gateway's view of every replica when the episode ended, before the fleet is restored. */
  readonly replicasAfter: readonly GatewayReplica[];
}

const POLL_MS = 500;
const HEALTHY_WINDOW = 5;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const ms = (iso: string | null | undefined): number | null => (iso ? Date.parse(iso) : null);
const seconds = (from: number | null, to: number | null): number | null => (from === null || to === null ? null : Math.round((to - from) / 100) / 10);

async function runsSince(stack: Stack, runbook: string, since: number): Promise<RunDetail[]> {
  const list = await stack.api.runs({ runbook, since: new Date(since).toISOString() });
  return Promise.all(list.reverse().map((r) => stack.api.run(r.id)));
}

/** Follows the first run of the runbook made after `since` until it ends, approving waits when asked to. */
export async function followRun(stack: Stack, spec: FaultClassSpec, since: number, deadline: number): Promise<RunDetail | null> {
  const approved = new Set<string>();
  while (Date.now() < deadline) {
    const [run] = await runsSince(stack, spec.runbook, since);
    if (run && TERMINAL.has(run.state)) return run;
    if (run?.state === 'awaiting_approval' && spec.approve) {
      const tier = run.tiers.find((t) => t.state === 'awaiting_approval')?.name ?? String(run.tiers.length);
      if (!approved.has(tier)) {
        approved.add(tier);
        stack.log(`  approving tier ${tier} of run ${run.id} through the API`);
        await stack.api.approve(run.id, 'approved by the rehearsal');
      }
    }
    await sleep(POLL_MS);
  }
  return null;
}

function stepSeconds(run: RunDetail): number {
  let total = 0;
  for (const tier of run.tiers) {
    for (const step of tier.steps) {
      const start = ms(step.startedAt);
      const end = ms(step.endedAt);
      if (start !== null && end !== null) total += end - start;
    }
  }
  return total;
}

/** When the client saw healthy service again: the first of HEALTHY_WINDOW good requests after the last bad one. */
export function clientHealthyAt(records: readonly LoadRecord[], from: number, sloMs: number): number | null {
  const inWindow = records.filter((r) => r.sentAt >= from).sort((a, b) => a.sentAt - b.sentAt);
  const good = (r: LoadRecord): boolean => r.ok && !r.fallback && r.latencyMs <= sloMs;
  let lastBad = -1;
  inWindow.forEach((r, i) => {
    if (!good(r)) lastBad = i;
  });
  const after = inWindow.slice(lastBad + 1);
  if (after.length < HEALTHY_WINDOW) return null;
  return lastBad === -1 ? from : (after[0]?.sentAt ?? null);
}

async function firstDelivery(stack: Stack, runbook: string, since: number): Promise<number | null> {
  const decisions = await stack.api.decisions({ runbook, since: new Date(since).toISOString() });
  const times = decisions.map((d) => Date.parse(d.receivedAt));
  return times.length > 0 ? Math.min(...times) : null;
}

/** The run's escalations once posted: a failed run's RemediationFailed leaves through the outbox, shortly after the run ends. */
async function postedEscalations(stack: Stack, run: RunDetail, deadline: number): Promise<EscalationRow[]> {
  const until = Math.min(deadline, Date.now() + 20_000);
  for (;;) {
    const rows = await stack.api.escalations({ runId: run.id });
    if (run.state === 'succeeded' || rows.some((e) => e.postedAt !== null) || Date.now() >= until) return rows;
    await sleep(POLL_MS);
  }
}

/** Injects the fault, follows the run and measures; the fault is cleared before it returns. */
export async function rehearseFault(stack: Stack, spec: FaultClassSpec): Promise<Episode> {
  const injectedAt = Date.now();
  const deadline = injectedAt + (spec.timeoutMs ?? 240_000);
  stack.log(`${spec.faultClass}: injecting ${JSON.stringify(spec.fault)}`);
  await injectFault(stack.controlUrl, spec.fault);
  const run = await followRun(stack, spec, injectedAt, deadline);
  stack.log(`${spec.faultClass}: run ${run?.id ?? '(none)'} ended ${run?.state ?? 'never'} (${run?.reason ?? ''})`);
  await clearFaults(stack.controlUrl);
  const runEnd = ms(run?.endedAt);
  let healthyAt: number | null = null;
  const healthyDeadline = Math.min(deadline, Date.now() + 30_000);
  while (Date.now() < healthyDeadline) {
    healthyAt = clientHealthyAt(stack.load.records(), injectedAt, 2_000);
    if (healthyAt !== null) break;
    await sleep(POLL_MS);
  }
  const endedAt = Date.now();
  const deliveredAt = await firstDelivery(stack, spec.runbook, injectedAt);
  const runs = await runsSince(stack, spec.runbook, injectedAt);
  const escalations = run ? await postedEscalations(stack, run, deadline) : [];
  const fleet = (await fleetEvents(stack.controlUrl)).filter((e) => Date.parse(e.at) >= injectedAt && Date.parse(e.at) <= endedAt);
  const summary = stack.load.summary(injectedAt, endedAt);
  const recoveredAt = runEnd === null ? null : Math.max(runEnd, healthyAt ?? runEnd);
  const row: RehearsalRow = {
    faultClass: spec.faultClass,
    runbook: spec.runbook,
    runId: run?.id ?? null,
    runState: run?.state ?? null,
    verified: run?.state === 'succeeded' && run.tiers.some((t) => t.verified),
    escalated: escalations.some((e) => e.postedAt !== null),
    detectSeconds: seconds(injectedAt, deliveredAt),
    remediateSeconds: run ? seconds(ms(run.createdAt), runEnd) : null,
    mttrSeconds: healthyAt === null ? null : seconds(injectedAt, recoveredAt),
    remediatorSeconds: run && deliveredAt !== null && runEnd !== null ? Math.round((runEnd - deliveredAt - stepSeconds(run)) / 100) / 10 : null,
    clientRequests: summary.requests,
    clientFailures: summary.failures,
    fallbacks: summary.fallbacks,
    // engine starts from the alert's delivery on: the fault's own (a rollout's restart) are not remediation
    restarts: fleet.filter((e) => e.kind === 'unit-start' && Date.parse(e.at) >= (deliveredAt ?? injectedAt)).length,
  };
  return {
    row,
    run,
    runs,
    injectedAt,
    endedAt,
    fleetEvents: fleet,
    gatewayEvents: (await gatewayEvents(stack.gatewayUrl)).filter((e) => Date.parse(e.at) >= injectedAt),
    load: stack.load.records().filter((r) => r.sentAt >= injectedAt && r.sentAt <= endedAt),
    replicasAfter: await gatewayReplicas(stack.gatewayUrl),
  };
}
