/**
 * deploy/grafana/remediator-dashboard.json against the real thing: a remediator service that received alerts and ended
 * runs, scraped by a real Prometheus. Every panel query must parse there and find series, and name only metrics the service
 * exports; the annotation queries must find the run regions the service wrote to Grafana (a fake with Grafana's API).
 */

import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import YAML from 'yaml';
import type { RunDetail } from '../../src/core/run.js';
import { FINAL_STATES } from '../../src/core/run.js';
import { runTags } from '../../src/report/run-annotation.js';
import { webhookBody } from '../acceptance/in-process.js';
import { stopAll } from '../support/child.js';
import { fetchJson } from '../support/http.js';
import { query, startPrometheus, type PrometheusHandle } from '../support/prometheus.js';
import { REPO_ROOT, startService, writeTokenFile, type ServiceHandle } from '../support/service.js';
import { makeTempDir } from '../support/temp-dir.js';
import { waitFor } from '../support/wait-for.js';
import { startFakeGrafana, type FakeGrafana } from './fake-grafana.js';

interface Target {
  readonly refId: string;
  readonly expr: string;
  readonly datasource?: { readonly type: string; readonly uid: string };
}
interface Panel {
  readonly id: number;
  readonly type: string;
  readonly title: string;
  readonly gridPos: { readonly x: number; readonly y: number; readonly w: number; readonly h: number };
  readonly datasource?: { readonly type: string; readonly uid: string };
  readonly targets?: readonly Target[];
}
interface AnnotationQuery {
  readonly name: string;
  readonly builtIn?: number;
  readonly enable: boolean;
  readonly datasource: { readonly type: string; readonly uid: string };
  readonly target?: { readonly type: string; readonly tags: readonly string[]; readonly matchAny?: boolean; readonly limit?: number };
}
interface Variable {
  readonly name: string;
  readonly type: string;
  readonly query: unknown;
  readonly current?: { readonly value?: string };
}
interface Dashboard {
  readonly id?: number | null;
  readonly uid: string;
  readonly title: string;
  readonly schemaVersion: number;
  readonly panels: readonly Panel[];
  readonly annotations: { readonly list: readonly AnnotationQuery[] };
  readonly templating: { readonly list: readonly Variable[] };
}

const DASHBOARD_FILE = path.join(REPO_ROOT, 'deploy', 'grafana', 'remediator-dashboard.json');
const dashboard = JSON.parse(fs.readFileSync(DASHBOARD_FILE, 'utf8')) as Dashboard;
const queryPanels = dashboard.panels.filter((p) => p.type !== 'row');
const targets = queryPanels.flatMap((p) => (p.targets ?? []).map((t) => ({ panel: p.title, refId: t.refId, expr: t.expr })));
const JOB = 'remediator';
const TOKEN = 'dashboard-test-token';

/** The range and interval Grafana would put in for the dashboard's variables (Prometheus durations), and the job. */
function substitute(expr: string, range: string): string {
  return expr
    .replaceAll('$__rate_interval', '1m')
    .replaceAll('$__interval', '15s')
    .replaceAll('$__range', range)
    .replaceAll('${job}', JOB)
    .replaceAll('$job', JOB);
}

/** The remediator_ metric names an expression reads. */
function metricNames(expr: string): string[] {
  return [...new Set([...expr.matchAll(/(?<![A-Za-z0-9_:])remediator_[A-Za-z0-9_:]*/g)].map((m) => m[0]))].sort();
}

/** The metric families of a Prometheus text exposition, by name, with their type. */
function exportedTypes(text: string): Map<string, string> {
  return new Map([...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => [m[1] as string, m[2] as string]));
}

/** A name as exported: a family itself, or a histogram's (or summary's) _bucket, _sum or _count series. */
function isExported(name: string, types: ReadonlyMap<string, string>): boolean {
  if (types.has(name)) return true;
  const suffix = /_(bucket|sum|count)$/.exec(name);
  if (suffix === null) return false;
  const family = types.get(name.slice(0, -suffix[0].length));
  return family === 'histogram' || (family === 'summary' && suffix[1] !== 'bucket');
}

/** The metrics named in the self-monitoring rules. */
function ruleMetricNames(): string[] {
  const file = YAML.parse(fs.readFileSync(path.join(REPO_ROOT, 'deploy', 'rules', 'remediator.yml'), 'utf8')) as { groups: { rules: { expr: string }[] }[] };
  return [...new Set(file.groups.flatMap((g) => g.rules.flatMap((r) => metricNames(r.expr))))].sort();
}

function runbook(name: string, faultClass: string, alertname: string, tiers: string): string {
  return [
    `name: ${name}`,
    `faultClass: ${faultClass}`,
    'match:',
    `  - alertname = "${alertname}"`,
    'params:',
    "  host: { from: labels.instance, pattern: '[a-z0-9-]+' }",
    'target: "{{ params.host }}"',
    'tiers:',
    tiers,
  ].join('\n');
}

const tier = (name: string, program: string): string => `  - name: ${name}\n    steps:\n      - name: ${name}-step\n        run: ["${program}"]`;

describe('the remediator Grafana dashboard', () => {
  it('is provisioning-ready: a uid, the title, a recent schema and no numeric id', () => {
    expect({ uid: dashboard.uid, title: dashboard.title, id: dashboard.id ?? null }).toEqual({ uid: 'remediator', title: 'remediator', id: null });
    expect(dashboard.schemaVersion).toBeGreaterThanOrEqual(36);
    expect(dashboard.schemaVersion).toBeLessThanOrEqual(41);
  });

  it('has unique panel ids and refIds, and panels inside 24 columns that do not overlap', () => {
    const ids = dashboard.panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids.every((id) => Number.isInteger(id) && id > 0)).toBe(true);
    for (const p of queryPanels) expect({ panel: p.title, refIds: new Set((p.targets ?? []).map((t) => t.refId)).size }).toEqual({ panel: p.title, refIds: (p.targets ?? []).length });
    const cells = new Map<string, string>();
    for (const p of dashboard.panels) {
      expect({ panel: p.title, inside: p.gridPos.x >= 0 && p.gridPos.w > 0 && p.gridPos.x + p.gridPos.w <= 24 }).toEqual({ panel: p.title, inside: true });
      for (let x = p.gridPos.x; x < p.gridPos.x + p.gridPos.w; x++) {
        for (let y = p.gridPos.y; y < p.gridPos.y + p.gridPos.h; y++) {
          expect({ cell: `${x},${y}`, taken: cells.get(`${x},${y}`) ?? null, by: p.title }).toEqual({ cell: `${x},${y}`, taken: null, by: p.title });
          cells.set(`${x},${y}`, p.title);
        }
      }
    }
  });

  it('queries the ${datasource} Prometheus variable in every panel and target, and scopes every query to the job variable', () => {
    const datasource = dashboard.templating.list.find((v) => v.name === 'datasource');
    expect(datasource).toMatchObject({ type: 'datasource', query: 'prometheus' });
    const wanted = { type: 'prometheus', uid: '${datasource}' };
    expect(queryPanels.filter((p) => p.datasource?.uid !== wanted.uid || p.datasource.type !== wanted.type).map((p) => p.title)).toEqual([]);
    expect(queryPanels.flatMap((p) => (p.targets ?? []).filter((t) => t.datasource !== undefined && t.datasource.uid !== wanted.uid).map((t) => `${p.title} ${t.refId}`))).toEqual([]);
    expect(queryPanels.filter((p) => (p.targets ?? []).length === 0).map((p) => p.title)).toEqual([]);
    expect(targets.filter((t) => !t.expr.includes('job="$job"')).map((t) => `${t.panel} ${t.refId}`)).toEqual([]);
  });

  it("selects by default the job deploy/prometheus.yml scrapes remediator as, which the self-monitoring rules read", () => {
    const job = dashboard.templating.list.find((v) => v.name === 'job');
    expect(job?.current?.value).toBe(JOB);
    const prometheus = YAML.parse(fs.readFileSync(path.join(REPO_ROOT, 'deploy', 'prometheus.yml'), 'utf8')) as { scrape_configs: { job_name: string }[] };
    expect(prometheus.scrape_configs.map((c) => c.job_name)).toContain(JOB);
    expect(fs.readFileSync(path.join(REPO_ROOT, 'deploy', 'rules', 'remediator.yml'), 'utf8')).toContain(`job="${JOB}"`);
  });

  it('shows run regions by the tags remediator puts on its annotations (SPEC §7)', () => {
    const queries = dashboard.annotations.list.filter((a) => a.builtIn !== 1);
    expect(queries.length).toBeGreaterThan(0);
    const run = { runbook: 'gpu-oom', faultClass: 'oom', target: 'gpu-1' } as RunDetail;
    const written = FINAL_STATES.map((state) => [...runTags(run), `outcome:${state}`]);
    for (const q of queries) {
      expect({ name: q.name, datasource: q.datasource, type: q.target?.type }).toEqual({ name: q.name, datasource: { type: 'grafana', uid: '-- Grafana --' }, type: 'tags' });
      expect(q.target?.tags).toContain('remediator');
      // Every tag the query asks for (ANDed) is one that a run's region carries at its end.
      expect({ name: q.name, found: written.some((tags) => (q.target?.tags ?? []).every((t) => tags.includes(t))) }).toEqual({ name: q.name, found: true });
    }
    expect(queries.find((q) => q.enable && q.target?.tags.length === 1)?.target?.tags).toEqual(['remediator']);
  });
});

describe('the dashboard against a running remediator scraped by Prometheus', () => {
  let grafana: FakeGrafana;
  let service: ServiceHandle;
  let prometheus: PrometheusHandle;
  let metricsText = '';
  const runIds: Record<string, string> = {};

  beforeAll(async () => {
    grafana = await startFakeGrafana({ dashboards: ['remediator'] });
    const dir = makeTempDir('dashboard');
    const runbooks = path.join(dir, 'runbooks');
    fs.mkdirSync(runbooks);
    fs.writeFileSync(path.join(runbooks, 'second-try.yaml'), runbook('second-try', 'test-fixed', 'DashboardFixed', [tier('first', 'false'), tier('second', 'true')].join('\n')));
    fs.writeFileSync(path.join(runbooks, 'gives-up.yaml'), runbook('gives-up', 'test-failing', 'DashboardFailing', tier('only', 'false')));
    const tokenFile = writeTokenFile(dir, TOKEN);
    const grafanaToken = writeTokenFile(dir, grafana.token, 'grafana');
    const auth = { bearerTokenFile: tokenFile };
    service = await startService({
      dir,
      config: {
        runbooks,
        store: { url: `sqlite:${path.join(dir, 'data', 'remediator.db')}` },
        auth: { webhook: auth, read: auth, operate: auth },
        grafana: { url: grafana.url, tokenFile: grafanaToken, dashboardUID: 'remediator' },
      },
    });
    await service.waitReady();
    prometheus = await startPrometheus({ scrapeTargets: [new URL(service.url).host], jobName: JOB, scrapeInterval: '1s' });
    // Scraped before the alerts arrive, so the counters move inside what Prometheus saw.
    await waitFor(async () => ((await query(prometheus.url, `up{job="${JOB}"} == 1`)).length === 1 ? true : undefined), { description: 'the first scrape', timeoutMs: 30_000 });
    // The alerts began 150 s ago: each run ends inside the (120, 300] bucket of remediator_recovery_seconds.
    const startsAt = new Date(Date.now() - 150_000).toISOString();
    const res = await fetchJson<{ runs: string[] }>(`${service.url}/api/v1/alerts`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify(
        webhookBody([
          { labels: { alertname: 'DashboardFixed', instance: 'node-a' }, startsAt, fingerprint: '00000000000000a1' },
          { labels: { alertname: 'DashboardFailing', instance: 'node-b' }, startsAt, fingerprint: '00000000000000b2' },
        ]),
      ),
    });
    expect(res.runs).toHaveLength(2);
    for (const id of res.runs) {
      const run = await waitFor(
        async () => {
          const r = await fetchJson<{ state: string; runbook: string }>(`${service.url}/api/v1/runs/${id}`, { headers: { authorization: `Bearer ${TOKEN}` } });
          return ['succeeded', 'failed'].includes(r.state) ? r : undefined;
        },
        { description: `run ${id} to end`, timeoutMs: 30_000 },
      );
      runIds[run.runbook] = id;
    }
    // Prometheus has seen both ends and at least four scrapes since (the 1m rate windows then hold the change).
    await waitFor(async () => ((await query(prometheus.url, `sum(remediator_runs_total{job="${JOB}"}) == 2`)).length === 1 ? true : undefined), {
      description: 'Prometheus to scrape both runs ended',
      timeoutMs: 30_000,
    });
    await new Promise((r) => setTimeout(r, 4_000));
    metricsText = await (await fetch(`${service.url}/metrics`)).text();
  }, 120_000);

  afterAll(async () => {
    await prometheus?.stop();
    await service?.stop();
    await grafana?.close();
    await stopAll();
  });

  it('ended one run succeeded and one failed, as the runbooks say', () => {
    expect(Object.keys(runIds).sort()).toEqual(['gives-up', 'second-try']);
  });

  it('exports every remediator_ metric a panel reads (histograms by their _bucket, _sum and _count series)', () => {
    const types = exportedTypes(metricsText);
    const named = [...new Set(targets.flatMap((t) => metricNames(t.expr)))];
    expect(named.length).toBeGreaterThan(10);
    expect(named.filter((n) => !isExported(n, types))).toEqual([]);
  });

  it('exports every remediator_ metric the self-monitoring rules and the job variable read', () => {
    const types = exportedTypes(metricsText);
    const variableQueries = dashboard.templating.list.filter((v) => v.type === 'query').map((v) => JSON.stringify(v.query));
    const named = [...ruleMetricNames(), ...variableQueries.flatMap(metricNames)];
    expect(named.length).toBeGreaterThan(5);
    expect(named.filter((n) => !isExported(n, types))).toEqual([]);
  });

  it('refuses a panel that names a metric the service does not export', () => {
    const types = exportedTypes(metricsText);
    expect(metricNames('sum(rate(remediator_recovery_seconds_bucket[5m])) / sum(remediator_not_a_metric_total)').map((n) => [n, isExported(n, types)])).toEqual([
      ['remediator_not_a_metric_total', false],
      ['remediator_recovery_seconds_bucket', true],
    ]);
    expect(isExported('remediator_runs_total_bucket', types)).toBe(false);
  });

  it.each(targets.map((t) => [`${t.panel} ${t.refId}`, t.expr]))('%s parses in Prometheus and finds series', async (_name, expr) => {
    const body = await fetchJson<{ status: string; data: { result: unknown[] } }>(`${prometheus.url}/api/v1/query?${new URLSearchParams({ query: substitute(expr, '10m') })}`);
    expect(body.status).toBe('success');
    expect(body.data.result.length).toBeGreaterThan(0);
  });

  it('finds the job variable’s values with the label values query Grafana makes', async () => {
    const job = dashboard.templating.list.find((v) => v.name === 'job');
    const parsed = /^label_values\((\w+),\s*(\w+)\)$/.exec(String((job?.query as { query?: string } | undefined)?.query ?? ''));
    expect(parsed).not.toBeNull();
    const values = await fetchJson<{ data: string[] }>(`${prometheus.url}/api/v1/label/${parsed?.[2] ?? ''}/values?${new URLSearchParams({ 'match[]': parsed?.[1] ?? '' })}`);
    expect(values.data).toContain(JOB);
  });

  it('puts the recovery time of the fixed fault class in the bucket its run ended in', async () => {
    const panel = queryPanels.find((p) => p.targets?.some((t) => t.expr.includes('remediator_recovery_seconds_bucket')));
    for (const t of panel?.targets ?? []) {
      const seen = await query(prometheus.url, substitute(t.expr, '10m'));
      const fixed = Number(seen.find((s) => s.metric.fault_class === 'test-fixed')?.value[1]);
      expect({ refId: t.refId, inBucket: fixed > 120 && fixed <= 300 }).toEqual({ refId: t.refId, inBucket: true });
    }
  });

  it("counts each runbook's tiers by outcome in the tier outcomes panel", async () => {
    const panel = queryPanels.find((p) => p.targets?.some((t) => t.expr.includes('remediator_tier_outcomes_total')));
    const seen = await query(prometheus.url, substitute(panel?.targets?.[0]?.expr ?? '', '10m'));
    expect(seen.map((s) => `${s.metric.runbook}/${s.metric.tier}/${s.metric.outcome}`).sort()).toEqual(['gives-up/only/failed', 'second-try/first/failed', 'second-try/second/unverified']);
  });

  it('finds the run regions the service annotated in Grafana with each annotation query', async () => {
    const regions = await waitFor(() => ([...grafana.annotations.values()].filter((a) => a.timeEnd > a.time).length === 2 ? [...grafana.annotations.values()] : undefined), {
      description: 'both runs annotated as regions',
    });
    expect(regions.map((r) => r.dashboardUID)).toEqual(['remediator', 'remediator']);
    const byQuery: Record<string, string[]> = {};
    for (const q of dashboard.annotations.list.filter((a) => a.builtIn !== 1)) {
      const params = new URLSearchParams({ from: '0', to: String(Date.now() + 60_000), limit: String(q.target?.limit ?? 100), matchAny: String(q.target?.matchAny ?? false) });
      for (const tag of q.target?.tags ?? []) params.append('tags', tag);
      const found = await fetchJson<{ text: string; time: number; timeEnd: number }[]>(`${grafana.url}/api/annotations?${params}`, { headers: { authorization: `Bearer ${grafana.token}` } });
      byQuery[q.name] = found.filter((a) => a.timeEnd > a.time).map((a) => Object.entries(runIds).find(([, id]) => a.text.includes(`/runs/${id}`))?.[0] ?? a.text).sort();
    }
    expect(byQuery).toEqual({ 'remediator runs': ['gives-up', 'second-try'], 'remediator runs that failed': ['gives-up'] });
  });
});
