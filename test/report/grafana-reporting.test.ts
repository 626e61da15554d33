import { describe, it, expect, beforeEach, afterEach } from '@jest/globals';
import { createGrafanaClient } from '../../src/report/grafana-client.js';
import { createReporter, type Reporter } from '../../src/report/reporter.js';
import { startFakeGrafana, type FakeGrafana, type GrafanaMode } from '../grafana/fake-grafana.js';
import { openReportHarness, timed, type ReportHarness } from './report-harness.js';

const PUBLIC_URL = 'http://remediator.example:9095';
/** Each call 300 ms, 3 tries 50 ms then 100 ms apart, 1.2 s in all: the reporter's whole deadline. */
const RETRY = { attempts: 3, initialDelayMs: 50, maxDelayMs: 100, budgetMs: 1200 };

describe('the reporter with Grafana', () => {
  let h: ReportHarness;
  let grafana: FakeGrafana;
  let reporter: Reporter;

  beforeEach(async () => {
    h = await openReportHarness();
    grafana = await startFakeGrafana();
    reporter = createReporter({
      publicURL: PUBLIC_URL,
      alertmanager: null,
      grafana: createGrafanaClient({ url: grafana.url, token: grafana.token, timeoutMs: 300 }),
      alertState: null,
      store: h.store,
      logger: h.logger,
      onReportError: h.onReportError,
      retry: RETRY,
    });
  });

  afterEach(async () => {
    await grafana.close();
    await h.close();
  });

  it('creates one annotation when a run starts and turns it into a region with the outcome tag at its end', async () => {
    const run = await h.startRun({ runbook: 'llm-queue-backlog', faultClass: 'queue-backlog', target: 'gpu-7' });
    await reporter.runStarted(run, { silence: false });
    const [started] = [...grafana.annotations.values()];
    const tags = ['remediator', 'runbook:llm-queue-backlog', 'fault:queue-backlog', 'target:gpu-7'];
    expect(started).toMatchObject({ tags, time: Date.parse(run.startedAt ?? ''), dashboardUID: null });
    expect(started?.timeEnd).toBe(started?.time);

    const ended = await h.endRun(run, 'failed');
    await reporter.runEnded(ended, 'failed', 'steps_failed');

    expect(grafana.annotations.size).toBe(1);
    const region = grafana.annotations.get(started?.id ?? -1);
    expect(region?.tags).toEqual([...tags, 'outcome:failed']);
    expect(region?.timeEnd).toBeGreaterThan(region?.time ?? Infinity);
    expect(region?.text).toContain(`${PUBLIC_URL}/runs/${run.id}`);
    expect(grafana.requests.map((r) => `${r.method} ${r.path} ${r.status}`)).toEqual(['POST /api/annotations 200', `PATCH /api/annotations/${started?.id} 200`]);
    expect((await h.reload(run.id)).annotations).toEqual({ configured: true, id: started?.id, time: region?.time, timeEnd: region?.timeEnd, outcome: 'failed', error: null });
    expect(h.reportErrors).toEqual([]);
  });

  it('records Alertmanager as not configured and sets no silence even when the runbook asks for one', async () => {
    const run = await h.startRun();
    await reporter.runStarted(run, { silence: true });
    expect(await h.reload(run.id)).toMatchObject({ silenceId: null, escalation: { configured: false } });
  });

  it('does not create a second annotation when a resumed run starts again', async () => {
    const run = await h.startRun();
    await reporter.runStarted(run, { silence: false });
    await reporter.runStarted(await h.reload(run.id), { silence: false });
    expect(grafana.annotations.size).toBe(1);
  });

  it('creates the whole region at the end when Grafana was down at the start', async () => {
    const run = await h.startRun();
    await grafana.setMode('error500');
    await reporter.runStarted(run, { silence: false });
    expect((await h.reload(run.id)).annotations).toMatchObject({ configured: true, id: null, error: expect.stringContaining('HTTP 500') });

    await grafana.setMode('up');
    await reporter.runEnded(await h.endRun(run, 'succeeded'), 'succeeded', 'verified');
    const annotations = [...grafana.annotations.values()];
    expect(annotations).toHaveLength(1);
    expect(annotations[0]?.tags).toContain('outcome:succeeded');
    expect(annotations[0]?.timeEnd).toBeGreaterThan(annotations[0]?.time ?? Infinity);
    expect((await h.reload(run.id)).annotations).toMatchObject({ id: annotations[0]?.id, outcome: 'succeeded', error: null });
    expect(h.reportErrors).toEqual(['annotation']);
  });

  it.each<[string, GrafanaMode, RegExp]>([
    ['refuses connections', 'refuse', /unavailable/],
    ['answers 500', 'error500', /HTTP 500/],
    ['hangs', 'hang', /did not answer within 300 ms/],
  ])('returns within its deadline and records the failure in the run when Grafana %s', async (_what, mode, error) => {
    const run = await h.startRun();
    await grafana.setMode(mode);
    expect(await timed(reporter.runStarted(run, { silence: false }))).toBeLessThan(RETRY.budgetMs + 500);
    expect(await timed(reporter.runEnded(await h.endRun(run, 'failed'), 'failed', 'steps_failed'))).toBeLessThan(RETRY.budgetMs + 500);
    const record = (await h.reload(run.id)).annotations as { error: string | null; id: number | null };
    expect(record).toMatchObject({ configured: true, id: null, outcome: null });
    expect(record.error).toMatch(error);
    expect(h.reportErrors).toEqual(['annotation', 'annotation']);
    if (mode !== 'refuse') expect(grafana.requests.length).toBeGreaterThanOrEqual(2);
  });

  it('does not retry a request Grafana refused as bad', async () => {
    const bad = createReporter({
      publicURL: PUBLIC_URL,
      alertmanager: null,
      grafana: createGrafanaClient({ url: grafana.url, token: 'wrong-token', timeoutMs: 300 }),
      alertState: null,
      store: h.store,
      logger: h.logger,
      onReportError: h.onReportError,
      retry: RETRY,
    });
    const run = await h.startRun();
    await bad.runStarted(run, { silence: false });
    expect(grafana.requests.map((r) => r.status)).toEqual([401]);
    expect((await h.reload(run.id)).annotations).toMatchObject({ error: expect.stringContaining('HTTP 401') });
  });
});

describe('the reporter without Grafana', () => {
  it('records the annotation as not configured', async () => {
    const h = await openReportHarness();
    try {
      const reporter = createReporter({ publicURL: PUBLIC_URL, alertmanager: null, grafana: null, alertState: null, store: h.store, logger: h.logger });
      const run = await h.startRun();
      await reporter.runStarted(run, { silence: false });
      await reporter.runEnded(await h.endRun(run, 'succeeded'), 'succeeded', 'verified');
      expect(await h.reload(run.id)).toMatchObject({ annotations: { configured: false }, escalation: { configured: false }, silenceId: null });
    } finally {
      await h.close();
    }
  });
});
