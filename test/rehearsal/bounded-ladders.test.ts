/**
 * The ladders when nothing holds: a whole model down with engines that cannot start, an engine
 * that dies again right after every restart, and an out-of-memory crash that lowered settings do
 * not cure. Real Prometheus, Alertmanager, sshd and the simulated fleet; shipped runbooks, enforced.
 */
import { afterEach, describe, expect, it } from '@jest/globals';
import { listAlerts } from '../support/alertmanager.js';
import { stopAll } from '../support/child.js';
import { waitFor } from '../support/wait-for.js';
import { rehearseFault } from '../../deploy/demo/rehearsal/episode.js';
import { fleetEvents, injectFault } from '../../deploy/demo/fleet/fleet-client.js';
import type { RunDetail } from '../../deploy/demo/rehearsal/remediator-api.js';
import { TERMINAL } from '../../deploy/demo/rehearsal/remediator-api.js';
import { startStack, type Stack } from '../../deploy/demo/rehearsal/stack.js';
import { MODEL } from '../../deploy/demo/rehearsal/topology.js';

// A fresh stack per case: budgets, cooldowns and env files left by one case must not decide the next.
let stack: Stack | undefined;
const start = async (timeScale = 0.1, budgetWindowScale?: number): Promise<Stack> => {
  stack = await startStack({ runbooks: ['llm-server-down', 'gpu-oom'], timeScale, budgetWindowScale });
  return stack;
};

afterEach(async () => {
  await stack?.stop();
  stack = undefined;
  await stopAll();
}, 60_000);

async function endedRuns(stack: Stack, runbook: string, since: number, count: number, timeoutMs: number): Promise<RunDetail[]> {
  return waitFor(
    async () => {
      const list = await stack.api.runs({ runbook, since: new Date(since).toISOString() });
      const done = list.filter((r) => TERMINAL.has(r.state));
      return done.length >= count && done.length === list.length ? Promise.all(done.map((r) => stack.api.run(r.id))) : undefined;
    },
    { description: `${count} ended ${runbook} runs`, timeoutMs, intervalMs: 1000 },
  );
}

async function remediationFailed(stack: Stack, runbook: string): Promise<Record<string, string>[]> {
  const alerts = await listAlerts(stack.alertmanager.url, { alertname: 'RemediationFailed', runbook });
  return alerts.map((a) => a.labels);
}

describe('a ladder that cannot fix the fault', () => {
  it('serves the fallback, never errors, while every replica of a model is down, and escalates when the restarts fail', async () => {
    const stack = await start();
    const since = Date.now();
    for (const host of ['gpu-1', 'gpu-2', 'gpu-3']) await injectFault(stack.controlUrl, { kind: 'down', host, model: MODEL, failStarts: true });
    const replicas = stack.fleet.models[0]?.replicas.map((r) => `${stack.fleet.hosts.find((h) => h.name === r.host)?.ip}:${r.port}`) ?? [];
    // each replica's first run fails; the alert then comes back as new episodes, each a run, until the budget is spent
    const runs = await waitFor(
      async () => {
        const list = await Promise.all((await stack.api.runs({ runbook: 'llm-server-down', since: new Date(since).toISOString() })).map((r) => stack.api.run(r.id)));
        const ended = list.filter((r) => TERMINAL.has(r.state));
        return replicas.every((t) => ended.some((r) => r.target === t)) ? list : undefined;
      },
      { description: 'an ended llm-server-down run for every replica', timeoutMs: 240_000, intervalMs: 1000 },
    );
    expect(new Set(runs.filter((r) => TERMINAL.has(r.state)).map((r) => r.state))).toEqual(new Set(['failed']));
    for (const t of replicas) expect(runs.filter((r) => r.target === t).length).toBeLessThanOrEqual(3);
    await waitFor(
      async () => (new Set((await remediationFailed(stack, 'llm-server-down')).map((l) => l.target)).size === 3 ? true : undefined),
      { description: 'RemediationFailed for each of the three replicas', timeoutMs: 30_000 },
    );
    const during = stack.load.summary(since + 2_000, Date.now());
    expect(during.fallbacks).toBeGreaterThan(10);
    expect(during.failures).toBe(0);
    // one replica at a time: the pool limit serialises the runs
    const spans = runs.filter((r) => r.startedAt && r.endedAt).map((r) => [Date.parse(r.startedAt ?? ''), Date.parse(r.endedAt ?? '')] as const).sort((x, y) => x[0] - y[0]);
    for (let i = 1; i < spans.length; i++) expect(spans[i]?.[0]).toBeGreaterThanOrEqual(spans[i - 1]?.[1] ?? Infinity);
  }, 330_000);

  it('bounds a restart loop by the attempt budget, then escalates, and the history says why', async () => {
    // at half the usual time scale: the doubling cooldowns between the budget's runs are most of this case.
    // Scaled alike, the budget's hour would be 180 s, of which the cooldowns alone take 105 s: on a loaded
    // machine the runs' unscaled real time pushed the first run out of the window before the fourth came,
    // and the budget never ran out. The window keeps the usual scale (6 min), more than enough either way.
    const stack = await start(0.05, 0.1);
    const since = Date.now();
    await injectFault(stack.controlUrl, { kind: 'crash-loop', host: 'gpu-2', model: MODEL });
    const exhausted = await waitFor(
      async () => {
        const d = await stack.api.decisions({ runbook: 'llm-server-down', since: new Date(since).toISOString(), reason: 'attempts_exhausted' });
        return d.length > 0 ? d : undefined;
      },
      { description: 'an attempts_exhausted decision', timeoutMs: 360_000, intervalMs: 1000 },
    );
    expect(exhausted[0]?.decision).toBe('skip');
    const runs = await endedRuns(stack, 'llm-server-down', since, 3, 90_000);
    // the budget's three runs acted and failed their verification; a run claimed while the engine was up is skipped (precheck)
    const acted = runs.filter((r) => r.state !== 'skipped');
    expect(acted.map((r) => [r.state, r.tiers[0]?.verified])).toEqual([['failed', false], ['failed', false], ['failed', false]]);
    const starts = (await fleetEvents(stack.controlUrl)).filter((e) => e.kind === 'unit-start' && e.host === 'gpu-2' && Date.parse(e.at) >= since);
    // at most one restart per run in the budget (the second tier has no previous configuration to restore)
    expect(starts.length).toBeLessThanOrEqual(3);
    const escalations = await stack.api.escalations({ runbook: 'llm-server-down' });
    expect(escalations.some((e) => e.reason === 'attempts_exhausted')).toBe(true);
  }, 480_000);

  it('stops an out-of-memory crash that lowered settings do not cure after the budget, with RemediationFailed posted', async () => {
    const stack = await start();
    const episode = await rehearseFault(stack, {
      faultClass: 'oom',
      runbook: 'gpu-oom',
      fault: { kind: 'oom', host: 'gpu-1', model: MODEL, recurring: true, fixedAtOrBelow: 0, rampSeconds: 4, holdSeconds: 30 },
    });
    expect(episode.run?.tiers.map((t) => [t.name, t.verified])).toEqual([['graceful-restart', false], ['lower-memory', false]]);
    expect([episode.row.runState, episode.row.escalated]).toEqual(['failed', true]);
    const restartsByOom = episode.run?.tiers.flatMap((t) => t.steps).filter((s) => s.name === 'restart' && s.state === 'succeeded').length;
    expect(restartsByOom).toBe(2);
    expect((await remediationFailed(stack, 'gpu-oom')).map((l) => l.original_alertname)).toEqual([expect.stringMatching(/^GPUMemory(NearFull|ExhaustionPredicted)$/)]);
  }, 360_000);
});
