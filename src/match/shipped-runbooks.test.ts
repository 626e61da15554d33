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
  'llm-queue-backlog': { alertname: 'LLMQueueBacklog', instance: 'gpu-node-7:8000', model_name: 'llama-3-8b' },
  'gpu-oom': { alertname: 'GPUMemoryNearFull', instance: 'gpu-node-7:9400', gpu: '3', Hostname: 'gpu-node-7' },
  'gpu-xid': { alertname: 'GPUXidError', instance: 'gpu-node-7:9400', gpu: '3', err_code: '79' },
  'model-version-mismatch': { alertname: 'ModelVersionMismatch', model_name: 'llama-3-8b' },
};

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

  it('run host commands over SSH on the target, except the model-wide version runbook, which has no host', async () => {
    for (const [name, { target, plan }] of await plans()) {
      const remote = steps(plan).filter((s) => s.kind === 'run' || s.kind === 'script' || s.kind === 'capture');
      const want = name === 'model-version-mismatch' ? null : { host: target };
      expect(remote.map((s) => [s.name, s.ssh])).toEqual(remote.map((s) => [s.name, want]));
    }
  });

  it('keep parsed GPU evidence, and never let a failed capture stop the fix', async () => {
    const all = await plans();
    for (const name of ['llm-server-down', 'llm-hung-server', 'gpu-oom', 'gpu-xid']) {
      const captures = steps(all.get(name)?.plan).filter((s) => s.kind === 'capture');
      expect(captures.map((s) => [s.capture, s.continueOnError])).toEqual([['gpu', true]]);
    }
  });

  it('restart one replica of a model at a time and probe vLLM /health on port 8000', async () => {
    const all = await plans();
    for (const name of ['llm-server-down', 'llm-hung-server', 'llm-queue-backlog']) {
      const x = all.get(name);
      expect([x?.pool, x?.runbook.safety.maxConcurrentPerPool]).toEqual(['llama-3-8b', 1]);
      const ready = steps(x?.plan).find((s) => s.name === 'wait-ready');
      expect(ready?.http).toEqual({ method: 'GET', url: 'http://gpu-node-7:8000/health', headers: {}, body: null, expectStatus: [200] });
      expect(ready?.until).toEqual({ everyMs: 10_000, withinMs: 600_000 });
    }
  });

  it('check at claim time that the fault is still there', async () => {
    const all = await plans();
    expect(all.get('llm-server-down')?.plan.precheck).toBe('up{job="vllm", instance="gpu-node-7:8000"} == 0');
    expect(all.get('llm-hung-server')?.plan.precheck).toContain('vllm:generation_tokens_total{instance="gpu-node-7:8000"}');
    expect(all.get('gpu-oom')?.plan.precheck).toContain('DCGM_FI_DEV_FB_FREE{instance="gpu-node-7:9400", gpu="3"}');
    expect(all.get('model-version-mismatch')?.plan.precheck).toContain('vllm:cache_config_info{model_name="llama-3-8b"}');
    expect(all.get('llm-queue-backlog')?.runbook.safety.waitForMs).toBe(120_000);
    expect(all.get('gpu-xid')?.runbook.safety.fleetBreaker).toEqual({ maxTargets: 2, perMs: 1_800_000 });
  });
});

describe('the verification of the shipped runbooks', () => {
  it('check every tier in Prometheus, with the alert labels escaped into the query', async () => {
    const all = await plans();
    const verify = (name: string) => all.get(name)?.plan.tiers.map((t) => t.verify);
    expect(verify('llm-server-down')).toEqual([
      { kind: 'promql', query: 'up{job="vllm", instance="gpu-node-7:8000"} == 1', everyMs: 15_000, withinMs: 600_000, stableForMs: 30_000 },
    ]);
    expect(verify('gpu-xid')).toEqual([{ kind: 'alertResolved', everyMs: 15_000, withinMs: 600_000, stableForMs: 120_000 }]);
    expect(verify('gpu-oom')?.[0]).toMatchObject({ kind: 'promql', query: expect.stringContaining('DCGM_FI_DEV_FB_FREE{instance="gpu-node-7:9400", gpu="3"}, 1) < 0.9') });
    expect(verify('llm-hung-server')?.[0]).toMatchObject({ query: expect.stringContaining('vllm:num_requests_running{instance="gpu-node-7:8000"}) == 0') });
    expect(verify('llm-queue-backlog')?.[0]).toMatchObject({ query: expect.stringContaining('model_name="llama-3-8b"}) <= 50'), stableForMs: 120_000 });
    expect(verify('model-version-mismatch')?.[0]).toMatchObject({ query: expect.stringContaining('{model_name="llama-3-8b"})) == 1') });
    for (const { plan } of all.values()) for (const t of plan.tiers) expect(t.approvalTimeoutMs).toBeNull();
  });

  it('leave the probe runbook without verify, so that it works on a machine with no Prometheus', async () => {
    const r = await loadCatalog('runbooks');
    if (!r.ok) throw new Error(r.errors.map(formatIssue).join('\n'));
    const probe = r.catalog.runbooks.find((rb) => rb.name === 'probe-flag');
    expect(probe?.mode).toBe('enforce');
    expect(probe?.tiers.map((t) => t.verify)).toEqual([null]);
  });
});
