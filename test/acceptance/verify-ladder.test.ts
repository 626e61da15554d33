/** The escalation ladder, verified in a real Prometheus: tier 1 changes nothing and times out; tier 2 fixes the metric and verifies. */

import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from '@jest/globals';
import { listAlerts, startAlertmanager, type AlertmanagerHandle } from '../support/alertmanager.js';
import { stopAll } from '../support/child.js';
import { startExporter, type ExporterHandle } from '../support/exporter.js';
import { freePort } from '../support/free-port.js';
import { query, startPrometheus, type PrometheusHandle } from '../support/prometheus.js';
import { makeTempDir } from '../support/temp-dir.js';
import { eventually, startInProcess, TOKEN, type InProcess } from './in-process.js';

let exporter: ExporterHandle | null = null;
let prometheus: PrometheusHandle | null = null;
let am: AlertmanagerHandle | null = null;
let env: InProcess | null = null;
let control: http.Server | null = null;

afterAll(async () => {
  await env?.close();
  await prometheus?.stop();
  await am?.stop();
  await exporter?.close();
  await new Promise<void>((resolve) => (control ? control.close(() => resolve()) : resolve()));
  await stopAll();
});

interface RunJson {
  id: string;
  state: string;
  reason: string | null;
  tiers: { name: string; state: string; verified: boolean; verify: { outcome: string; checks: number } | null }[];
}

describe('verification and the escalation ladder', () => {
  it('moves past a tier whose verification times out and ends succeeded at the tier that fixes it; the alert resolves', async () => {
    exporter = await startExporter();
    exporter.set('ladder_broken', 1);
    const ex = exporter;
    control = http.createServer((req, res) => {
      if (req.method === 'POST' && req.url === '/fix') ex.set('ladder_broken', 0);
      res.writeHead(204).end();
    });
    await new Promise<void>((resolve) => control?.listen(0, '127.0.0.1', resolve));
    const controlPort = (control.address() as AddressInfo).port;

    const port = await freePort();
    const dir = makeTempDir('ladder');
    const token = path.join(dir, 'token');
    writeFileSync(token, `${TOKEN}\n`);
    am = await startAlertmanager({ webhookUrl: `http://127.0.0.1:${port}/api/v1/alerts`, credentialsFile: token });
    prometheus = await startPrometheus({
      scrapeTargets: [ex.hostPort],
      alertmanagerUrl: am.url,
      rules: 'groups:\n- name: ladder\n  rules:\n  - alert: LadderBroken\n    expr: ladder_broken == 1\n    labels: { severity: page }\n',
    });
    env = await startInProcess(
      {
        'ladder.yaml': `name: ladder
faultClass: test
description: two tiers; only the second fixes it
match:
  - alertname = "LadderBroken"
params:
  host: { from: labels.instance, transform: host, pattern: '[0-9.]+' }
target: "{{ params.host }}"
tiers:
  - name: changes-nothing
    steps:
      - name: noop
        run: ["true"]
    verify: { promql: 'ladder_broken{instance="{{ labels.instance }}"} == 0', every: 500ms, within: 3s, stableFor: 1s }
  - name: fixes-it
    steps:
      - name: fix
        http: { method: POST, url: "http://127.0.0.1:${controlPort}/fix", expectStatus: [204] }
    verify: { alertResolved: true, every: 500ms, within: 30s, stableFor: 2s }
`,
      },
      [`prometheus: { url: "${prometheus.url}" }`, 'http: { allowHosts: ["127.0.0.1/32"] }'].join('\n'),
      dir,
      process.env,
      port,
    );
    const e = env;
    const run = await eventually(async () => {
      const { runs } = (await e.api('GET', '/api/v1/runs?runbook=ladder')).json as { runs: { id: string; state: string }[] };
      const id = runs[0]?.id;
      if (id === undefined) return undefined;
      const r = (await e.api('GET', `/api/v1/runs/${id}`)).json as RunJson;
      return ['succeeded', 'failed', 'canceled', 'interrupted'].includes(r.state) ? r : undefined;
    }, 90_000, 'the ladder run to end');

    expect(run).toMatchObject({ state: 'succeeded', reason: 'verified' });
    expect(run.tiers.map((t) => [t.name, t.state, t.verified])).toEqual([
      ['changes-nothing', 'failed', false],
      ['fixes-it', 'succeeded', true],
    ]);
    expect(run.tiers[0]?.verify).toMatchObject({ outcome: 'timed_out' });
    expect(run.tiers[1]?.verify).toMatchObject({ outcome: 'verified' });
    expect(await query(prometheus.url, 'ALERTS{alertname="LadderBroken"}')).toEqual([]);
    await eventually(async () => ((await listAlerts(am?.url ?? '', { alertname: 'LadderBroken' })).length === 0 ? true : undefined), 20_000, 'the alert resolved in Alertmanager');
  }, 150_000);
});
