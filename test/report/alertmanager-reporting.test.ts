import { describe, it, expect, beforeAll, afterAll, beforeEach, afterEach } from '@jest/globals';
import type { RunDetail } from '../../src/core/run.js';
import { createAlertStateOracle } from '../../src/verify/alert-state.js';
import { createPrometheusClient } from '../../src/verify/prometheus-client.js';
import { createAlertmanagerClient } from '../../src/report/alertmanager-client.js';
import { createReporter, type Reporter, type ReporterOptions } from '../../src/report/reporter.js';
import { stopAll } from '../support/child.js';
import { listAlerts, listSilences, postAlerts, startAlertmanager, type AlertmanagerHandle } from '../support/alertmanager.js';
import { waitFor } from '../support/wait-for.js';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver.js';
import { startStandIn, type StandIn } from '../prometheus/stand-in-server.js';
import { alertWithLabels, openReportHarness, timed, type ReportHarness } from './report-harness.js';

const PUBLIC_URL = 'http://remediator.example:9095';
const RETRY = { attempts: 3, initialDelayMs: 50, maxDelayMs: 100, budgetMs: 1500 };
let sequence = 0;

/** Labels unique to one test, so tests sharing one Alertmanager never see each other's alerts. */
function freshLabels(): Record<string, string> {
  sequence++;
  return { alertname: 'VllmQueueBacklog', instance: `gpu-${sequence}:8000`, severity: 'page', cluster: 'prod-eu' };
}

describe('the reporter with a real Alertmanager 0.25', () => {
  let receiver: WebhookReceiver;
  let am: AlertmanagerHandle;
  let h: ReportHarness;
  let prometheus: StandIn;
  /** Whether the stand-in Prometheus says the original alert fires. */
  let firing: boolean;
  let reporter: Reporter;

  const make = (over: Partial<ReporterOptions> = {}): Reporter =>
    createReporter({
      publicURL: PUBLIC_URL,
      alertmanager: createAlertmanagerClient({ url: am.url, timeoutMs: 1000 }),
      grafana: null,
      alertState: null,
      store: h.store,
      logger: h.logger,
      onReportError: h.onReportError,
      retry: RETRY,
      faultClassOf: (runbook) => (runbook === 'llm-queue-backlog' ? 'queue-backlog' : null),
      outbox: { repostEveryMs: 0 },
      ...over,
    });

  const startRun = (labels: Record<string, string>): Promise<RunDetail> =>
    h.startRun({ runbook: 'llm-queue-backlog', faultClass: 'queue-backlog', target: labels.instance ?? 'x', alert: alertWithLabels(labels) });

  beforeAll(async () => {
    receiver = await startWebhookReceiver();
    am = await startAlertmanager({ webhookUrl: `${receiver.url}/hook` });
    prometheus = await startStandIn((body, res) => {
      const query = new URLSearchParams(body).get('query') ?? '';
      const series = firing && query.includes('VllmQueueBacklog') ? [{ metric: { __name__: 'ALERTS', alertname: 'VllmQueueBacklog', alertstate: 'firing' }, value: [Date.now() / 1000, '1'] }] : [];
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ status: 'success', data: { resultType: 'vector', result: series } }));
    });
  });

  afterAll(async () => {
    await am?.stop();
    await receiver?.close();
    await prometheus?.close();
    await stopAll();
  });

  beforeEach(async () => {
    h = await openReportHarness();
    firing = true;
    reporter = make();
  });

  afterEach(async () => {
    await reporter.stop();
    await h.close();
  });

  it('silences the alert while the run is active, extends the silence under the same id, and expires it at the end', async () => {
    const labels = freshLabels();
    await postAlerts(am.url, [{ labels }]);
    const run = await startRun(labels);
    await reporter.runStarted(run, { silence: true });

    const silenceId = (await h.reload(run.id)).silenceId;
    expect(silenceId).toEqual(expect.any(String));
    const silence = (await listSilences(am.url)).find((s) => s.id === silenceId);
    expect(silence).toMatchObject({ status: { state: 'active' }, createdBy: 'remediator' });
    expect(silence?.comment).toContain(`${PUBLIC_URL}/runs/${run.id}`);
    expect(silence?.matchers).toEqual(Object.keys(labels).sort().map((name) => ({ name, value: labels[name], isRegex: false, isEqual: true })));
    expect(Date.parse(silence?.endsAt ?? '') - Date.now()).toBeLessThanOrEqual(5 * 60_000);
    const suppressed = await waitFor(async () => (await listAlerts(am.url, labels)).find((a) => a.status.state === 'suppressed'), { description: 'the alert suppressed' });
    expect(suppressed.status.silencedBy).toEqual([silenceId]);

    await reporter.runHeartbeat(run);
    const extended = (await listSilences(am.url)).find((s) => s.id === silenceId);
    expect((await h.reload(run.id)).silenceId).toBe(silenceId);
    expect(Date.parse(extended?.endsAt ?? '')).toBeGreaterThan(Date.parse(silence?.endsAt ?? ''));
    expect((await listSilences(am.url)).filter((s) => s.comment.includes(run.id))).toHaveLength(1);

    await reporter.runEnded(await h.endRun(run, 'failed'), 'failed', 'steps_failed');
    expect((await listSilences(am.url)).find((s) => s.id === silenceId)?.status.state).toBe('expired');
    const after = await h.reload(run.id);
    expect(after.silenceId).toBe(silenceId);
    expect(after.escalation).toMatchObject({ configured: true, silence: { id: silenceId, expiredAt: expect.any(String), error: null } });
    expect(h.reportErrors).toEqual([]);
  });

  it('replaces a silence that someone expired when the run heartbeats, and stores the new id', async () => {
    const labels = freshLabels();
    const run = await startRun(labels);
    await reporter.runStarted(run, { silence: true });
    const first = (await h.reload(run.id)).silenceId ?? '';
    await createAlertmanagerClient({ url: am.url }).expireSilence(first);
    await reporter.runHeartbeat(run);
    const second = (await h.reload(run.id)).silenceId;
    expect(second).not.toBe(first);
    expect((await listSilences(am.url)).find((s) => s.id === second)?.status.state).toBe('active');
    await reporter.runEnded(await h.endRun(run, 'succeeded'), 'succeeded', 'verified');
  });

  it('sets no silence when the runbook does not ask for one', async () => {
    const run = await startRun(freshLabels());
    await reporter.runStarted(run, { silence: false });
    expect(await h.reload(run.id)).toMatchObject({ silenceId: null, escalation: { configured: true, silence: null } });
    expect((await listSilences(am.url)).filter((s) => s.comment.includes(run.id))).toEqual([]);
  });

  it('posts RemediationFailed for a failed run with the SPEC labels and a run_url, and marks the escalation posted', async () => {
    const labels = freshLabels();
    const run = await h.endRun(await startRun(labels), 'failed');
    await h.store.recordEscalation({ runbook: run.runbook, runId: run.id, reason: 'failed', alert: run.alert, target: run.target });
    await reporter.flushEscalations();

    const [posted, ...others] = await listAlerts(am.url, { alertname: 'RemediationFailed', instance: labels.instance ?? '' });
    expect(others).toEqual([]);
    expect(posted?.labels).toEqual({
      ...labels,
      alertname: 'RemediationFailed',
      original_alertname: 'VllmQueueBacklog',
      runbook: 'llm-queue-backlog',
      fault_class: 'queue-backlog',
      target: labels.instance,
      reason: 'failed',
    });
    expect(posted?.annotations).toEqual({ summary: expect.stringContaining('failed'), run_url: `${PUBLIC_URL}/runs/${run.id}` });
    expect(await h.store.pendingEscalations(10)).toEqual([]);
    expect((await h.store.listEscalations({ runId: run.id }, { limit: 10, cursor: null })).items[0]).toMatchObject({ postedAt: expect.any(String), attempts: 1 });
    expect((await h.reload(run.id)).escalation).toMatchObject({ remediationFailed: { alertname: 'RemediationFailed', reason: 'failed', postedAt: expect.any(String), error: null } });
  });

  it('posts a guard escalation that has no run with the runbook link and the fault class it is told', async () => {
    const labels = freshLabels();
    await h.store.recordEscalation({ runbook: 'llm-queue-backlog', runId: null, reason: 'attempts_exhausted', alert: alertWithLabels(labels), target: 'gpu-x' });
    await reporter.flushEscalations();
    const [posted] = await listAlerts(am.url, { alertname: 'RemediationFailed', instance: labels.instance ?? '' });
    expect(posted?.labels).toMatchObject({ fault_class: 'queue-backlog', target: 'gpu-x', reason: 'attempts_exhausted', original_alertname: 'VllmQueueBacklog' });
    expect(posted?.annotations).toEqual({ summary: expect.stringContaining('attempts_exhausted'), runbook_url: `${PUBLIC_URL}/runbooks/llm-queue-backlog` });
  });

  it('re-posts RemediationFailed while Prometheus says the alert fires, and resolves it once it stops', async () => {
    await reporter.stop();
    reporter = make({
      alertState: createAlertStateOracle({ store: h.store, alertmanager: null, prometheus: createPrometheusClient({ url: prometheus.url, timeoutMs: 1000 }), logger: h.logger }),
    });
    const labels = freshLabels();
    const run = await h.endRun(await startRun(labels), 'failed');
    await h.store.recordEscalation({ runbook: run.runbook, runId: run.id, reason: 'failed', alert: run.alert, target: run.target });
    const find = async (): Promise<{ endsAt: string } | undefined> => (await listAlerts(am.url, { alertname: 'RemediationFailed', instance: labels.instance ?? '' }))[0];

    await reporter.flushEscalations();
    const first = await find();
    await new Promise((resolve) => setTimeout(resolve, 20));
    await reporter.flushEscalations();
    expect(Date.parse((await find())?.endsAt ?? '')).toBeGreaterThan(Date.parse(first?.endsAt ?? ''));

    firing = false;
    await reporter.flushEscalations();
    expect(await find()).toBeUndefined();
    expect((await h.reload(run.id)).escalation).toMatchObject({ remediationFailed: { resolvedAt: expect.any(String) } });
  });

  it('without Prometheus, stops re-posting once the escalation is older than maxAgeMs', async () => {
    await reporter.stop();
    reporter = make({ outbox: { repostEveryMs: 0, maxAgeMs: 0 } });
    const labels = freshLabels();
    const run = await h.endRun(await startRun(labels), 'failed');
    await h.store.recordEscalation({ runbook: run.runbook, runId: run.id, reason: 'failed', alert: run.alert, target: run.target });
    const find = async (): Promise<{ endsAt: string } | undefined> => (await listAlerts(am.url, { alertname: 'RemediationFailed', instance: labels.instance ?? '' }))[0];
    await reporter.flushEscalations();
    const first = await find();
    await new Promise((resolve) => setTimeout(resolve, 20));
    await reporter.flushEscalations();
    expect((await find())?.endsAt).toBe(first?.endsAt);
  });

  it('keeps an escalation pending with its error while Alertmanager is down, and posts it once it is back', async () => {
    const down = make({ alertmanager: createAlertmanagerClient({ url: 'http://127.0.0.1:1', timeoutMs: 300 }), outbox: { intervalMs: 0 } });
    const labels = freshLabels();
    const run = await h.endRun(await startRun(labels), 'failed');
    await h.store.recordEscalation({ runbook: run.runbook, runId: run.id, reason: 'failed', alert: run.alert, target: run.target });
    expect(await timed(down.flushEscalations())).toBeLessThan(RETRY.budgetMs + 500);
    expect(await h.store.pendingEscalations(10)).toMatchObject([{ attempts: 1, lastError: expect.stringContaining('unavailable') }]);
    expect(h.reportErrors).toEqual(['escalation']);
    expect((await h.reload(run.id)).escalation).toMatchObject({ remediationFailed: { postedAt: null, error: expect.stringContaining('unavailable') } });

    await reporter.flushEscalations();
    expect(await h.store.pendingEscalations(10)).toEqual([]);
    expect(await listAlerts(am.url, { alertname: 'RemediationFailed', instance: labels.instance ?? '' })).toHaveLength(1);
  });

  it('posts RemediationAwaitingApproval and carries the silence until the approval deadline, and resolves the alert once the run is approved', async () => {
    const labels = freshLabels();
    const run = { ...(await startRun(labels)), approvalTier: 1, approvalDeadline: new Date(Date.now() + 600_000).toISOString() };
    await reporter.runStarted(run, { silence: true });
    await reporter.awaitingApproval(run);
    const [posted] = await listAlerts(am.url, { alertname: 'RemediationAwaitingApproval', instance: labels.instance ?? '' });
    expect(posted?.labels).toEqual({ ...labels, alertname: 'RemediationAwaitingApproval', original_alertname: 'VllmQueueBacklog', runbook: 'llm-queue-backlog', fault_class: 'queue-backlog', target: labels.instance, reason: 'awaiting_approval' });
    expect(posted?.annotations?.run_url).toBe(`${PUBLIC_URL}/runs/${run.id}`);
    expect(Date.parse(posted?.endsAt ?? '')).toBe(Date.parse(run.approvalDeadline));
    const silenceEnd = Date.parse((await listSilences(am.url)).find((s) => s.comment.includes(run.id))?.endsAt ?? '');
    expect(Math.abs(silenceEnd - Date.parse(run.approvalDeadline))).toBeLessThan(1000);

    await reporter.approvalSettled(run);
    expect(await listAlerts(am.url, { alertname: 'RemediationAwaitingApproval', instance: labels.instance ?? '' })).toEqual([]);
    expect((await h.reload(run.id)).escalation).toMatchObject({ awaitingApproval: { postedAt: expect.any(String), resolvedAt: expect.any(String) } });
  });

  it('runs the outbox loop on its own once started, and stops it', async () => {
    await reporter.stop();
    reporter = make({ outbox: { intervalMs: 50 } });
    reporter.start();
    const labels = freshLabels();
    const run = await h.endRun(await startRun(labels), 'failed');
    await h.store.recordEscalation({ runbook: run.runbook, runId: run.id, reason: 'failed', alert: run.alert, target: run.target });
    await waitFor(async () => ((await h.store.pendingEscalations(10)).length === 0 ? true : undefined), { description: 'the escalation posted by the loop', timeoutMs: 5000 });
    expect(await timed(reporter.stop())).toBeLessThan(1000);
  });
});
