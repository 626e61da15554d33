import { describe, expect, it } from '@jest/globals';
import { labelSet } from '../core/alert.js';
import type { Plan, PlannedStep, Runbook } from '../core/runbook.js';
import { loadCatalog } from './catalog.js';
import { extractParams } from './params.js';
import { renderPlan, renderPool, renderTarget } from './plan.js';
import { formatIssue } from './runbook-issue.js';

/** Labels as the shipped rules (deploy/rules/llm-serving.yml) put them on each alert. */
const ALERTS: Record<string, Record<string, string>> = {
  'llm-server-down': { alertname: 'LLMServerDown', instance: 'gpu-node-7:8000', job: 'vllm', model_name: 'llama-3-8b' },
  'llm-hung-server': { alertname: 'LLMHungServer', instance: 'gpu-node-7:8000', model_name: 'llama-3-8b' },
  'llm-queue-backlog': { alertname: 'LLMQueueBacklog', model_name: 'llama-3-8b' },
  'gpu-oom': { alertname: 'GPUMemoryNearFull', instance: 'gpu-node-7:9400', gpu: '3', Hostname: 'gpu-node-7', model_name: 'llama-3-8b' },
  'gpu-xid': { alertname: 'GPUXidError', instance: 'gpu-node-7:9400', gpu: '3', err_code: '79', model_name: 'llama-3-8b' },
  'model-version-mismatch': {
    alertname: 'ModelVersionSkew',
    model_name: 'llama-3-8b',
    replica: 'gpu-node-7:8000',
    host: 'gpu-node-7',
    vllm_version: '0.10.2',
    fleet_version: '0.11.0',
  },
};

/** The runbooks whose steps take a serving replica out of routing and put it back. */
const REPLICA_LADDERS = ['llm-server-down', 'llm-hung-server', 'gpu-oom', 'model-version-mismatch'];

async function plans(): Promise<Map<string, { runbook: Runbook; target: string; pool: string | null; plan: Plan }>> {
  const r = await loadCatalog('runbooks');
  if (!r.ok) throw new Error(r.errors.map(formatIssue).join('\n'));
  const out = new Map<string, { runbook: Runbook; target: string; pool: string | null; plan: Plan }>();
  for (const [name, labels] of Object.entries(ALERTS)) {
    const alert = { labels: labelSet(Object.entries(labels)), annotations: labelSet([]), fingerprint: 'f00d' };
    const [runbook] = r.catalog.match(alert);
    if (runbook?.name !== name) throw new Error(`${name} did not match its alert`);
    const params = extractParams(runbook, alert);
    if (!params.ok) throw new Error(params.message);
    const target = renderTarget(runbook, params.params);
    if (!target.ok) throw new Error(target.message);
    const pool = renderPool(runbook, params.params, target.value);
    if (!pool.ok) throw new Error(pool.message);
    const plan = renderPlan(runbook, { params: params.params, target: target.value, pool: pool.value, runId: 'R1', runUrl: 'http://x/runs/R1', alert });
    if (!plan.ok) throw new Error(plan.message);
    out.set(name, { runbook, target: target.value, pool: pool.value, plan: plan.plan });
  }
  return out;
}

function steps(plan: Plan | undefined): PlannedStep[] {
  return plan?.tiers.flatMap((t) => [...t.steps, ...t.onFailure]) ?? [];
}

describe('the shipped fault-class runbooks', () => {
  it('each render a plan from the alert its rule sends, in shadow mode', async () => {
    const all = await plans();
    expect([...all.keys()].sort()).toEqual(Object.keys(ALERTS).sort());
    for (const { runbook } of all.values()) expect(runbook.mode).toBe('shadow');
  });

  it('run host commands over SSH on the alert host, and the backlog ladder none at all', async () => {
    for (const [name, { plan }] of await plans()) {
      const remote = steps(plan).filter((s) => s.kind === 'run' || s.kind === 'script' || s.kind === 'capture');
      if (name === 'llm-queue-backlog') expect(remote).toEqual([]);
      else expect(new Set(remote.map((s) => s.ssh?.host))).toEqual(new Set(['gpu-node-7']));
    }
  });

  it('are ladders of at least two tiers, each verified', async () => {
    for (const { plan } of (await plans()).values()) {
      expect(plan.tiers.length).toBeGreaterThanOrEqual(2);
      for (const t of plan.tiers) expect(t.verify).not.toBeNull();
    }
  });

  it('restart only a drained replica, and undrain it only after its warm-up answered', async () => {
    const all = await plans();
    for (const name of REPLICA_LADDERS) {
      for (const tier of all.get(name)?.plan.tiers ?? []) {
        const names = tier.steps.map((s) => s.name);
        const drain = names.indexOf('drain');
        const start = names.findIndex((n) => n === 'restart' || n === 'start');
        const warmUp = names.indexOf('warm-up');
        const undrain = names.indexOf('undrain');
        expect([name, tier.name, drain >= 0, drain < start, start < warmUp, warmUp < undrain]).toEqual([name, tier.name, true, true, true, true]);
        expect(tier.steps[drain]?.http?.url).toMatch(/^http:\/\/llm-gateway:8080\/admin\/(replicas|gpus)\/gpu-node-7\/(8000|3)\/drain$/);
      }
    }
  });

  it('verify with the gateway canary, not only with metrics', async () => {
    for (const [name, { plan }] of await plans()) {
      for (const t of plan.tiers) expect([name, t.verify?.kind === 'promql' && t.verify.query.includes('llm_gateway_replica_canary_success')]).toEqual([name, true]);
    }
  });

  it('never restart an engine for a backlog: they shed batch load at the gateway', async () => {
    const backlog = (await plans()).get('llm-queue-backlog');
    expect(steps(backlog?.plan).some((s) => s.argv?.includes('systemctl'))).toBe(false);
    expect(steps(backlog?.plan).filter((s) => s.http).map((s) => s.http?.body)).toEqual(['{"batchInflight":2,"ttl":"30m"}', '{"batchInflight":0,"ttl":"30m"}']);
  });

  it('lower the memory settings when an out-of-memory crash comes back, and roll the odd replica to the fleet version', async () => {
    const all = await plans();
    expect(all.get('gpu-oom')?.plan.tiers[1]?.steps.find((s) => s.name === 'lower-memory-settings')?.argv).toEqual([
      'sudo', '-n', 'vllm-env', 'set', 'llama-3-8b', 'GPU_MEMORY_UTILIZATION=0.80',
    ]);
    expect(all.get('model-version-mismatch')?.plan.tiers[0]?.steps.find((s) => s.name === 'pin-fleet-version')?.argv).toEqual([
      'sudo', '-n', 'vllm-env', 'set', 'llama-3-8b', 'VLLM_VERSION=0.11.0',
    ]);
  });

  it('cordon a GPU with a hardware Xid, reset it only after approval, and never undo the cordon on failure', async () => {
    const r = await loadCatalog('runbooks');
    if (!r.ok) throw new Error(r.errors.map(formatIssue).join('\n'));
    const appXid = { labels: labelSet(Object.entries({ ...ALERTS['gpu-xid'], err_code: '31' })), annotations: labelSet([]), fingerprint: 'f00d' };
    expect(r.catalog.match(appXid).map((rb) => rb.name)).toEqual([]);
    const xid = (await plans()).get('gpu-xid');
    expect(xid?.plan.tiers.map((t) => [t.name, t.approvalTimeoutMs])).toEqual([['cordon', null], ['reset-gpu', 1_800_000]]);
    expect(xid?.plan.tiers[0]?.steps.some((s) => s.argv?.includes('restart'))).toBe(false);
    expect(xid?.plan.tiers.flatMap((t) => t.onFailure)).toEqual([]);
    expect(xid?.runbook.safety.maxAttempts).toEqual({ count: 1, perMs: 86_400_000 });
  });

  it('check at claim time that the fault is still there', async () => {
    const all = await plans();
    expect(all.get('llm-server-down')?.plan.precheck).toBe('up{job="vllm", instance="gpu-node-7:8000"} == 0');
    expect(all.get('llm-hung-server')?.plan.precheck).toContain('vllm:generation_tokens_total{instance="gpu-node-7:8000"}');
    expect(all.get('gpu-oom')?.plan.precheck).toContain('DCGM_FI_DEV_FB_FREE{instance="gpu-node-7:9400", gpu="3"}');
    expect(all.get('model-version-mismatch')?.plan.precheck).toBe('llm_gateway_replica_info{replica="gpu-node-7:8000", vllm_version!="0.11.0"}');
    expect(all.get('llm-queue-backlog')?.runbook.safety.waitForMs).toBe(60_000);
    expect(all.get('gpu-xid')?.runbook.safety.fleetBreaker).toEqual({ maxTargets: 2, perMs: 1_800_000 });
  });

  it('verify the probe runbook in Prometheus, where its alert comes from', async () => {
    const r = await loadCatalog('runbooks');
    if (!r.ok) throw new Error(r.errors.map(formatIssue).join('\n'));
    const probe = r.catalog.runbooks.find((rb) => rb.name === 'probe-flag');
    expect(probe?.mode).toBe('enforce');
    expect(probe?.tiers.map((t) => t.verify?.kind)).toEqual(['promql']);
  });
});
