import { describe, expect, it } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, writeFileSync, mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { labelSet, type LabelSet } from '../core/alert.js';
import type { Runbook } from '../core/runbook.js';
import { createCatalog, loadCatalog, runbookSummary } from './catalog.js';
import { compileRunbook } from './load-runbook.js';
import { extractParams } from './params.js';
import { renderPlan, renderTarget } from './plan.js';
import { formatIssue } from './runbook-issue.js';

const FIXTURES = 'test/fixtures/runbooks';

function rb(name: string, match: string[]): Runbook {
  const text = `name: ${name}\nfaultClass: test\nmatch: ${JSON.stringify(match)}\ntarget: t\ntiers: [{ name: a, steps: [{ name: s, run: [echo] }] }]\n`;
  const r = compileRunbook(`${name}.yaml`, text);
  if (!r.runbook) throw new Error(r.errors.map(formatIssue).join('\n'));
  return r.runbook;
}

function labels(entries: Record<string, string>): { labels: LabelSet } {
  return { labels: labelSet(Object.entries(entries)) };
}

describe('loadCatalog', () => {
  it('loads the shipped runbooks, all but the probe in shadow mode', async () => {
    const r = await loadCatalog('runbooks');
    if (!r.ok) throw new Error(r.errors.map(formatIssue).join('\n'));
    const byMode = Object.fromEntries(r.catalog.runbooks.map((x) => [x.name, x.mode]));
    expect(byMode).toEqual({
      'gpu-oom': 'shadow',
      'gpu-xid': 'shadow',
      'llm-hung-server': 'shadow',
      'llm-queue-backlog': 'shadow',
      'llm-server-down': 'shadow',
      'model-version-mismatch': 'shadow',
      'probe-flag': 'enforce',
    });
    expect(new Set(r.catalog.runbooks.map((x) => x.faultClass))).toEqual(
      new Set(['oom', 'gpu-xid', 'hung', 'queue-backlog', 'down', 'version-mismatch', 'probe']),
    );
  });

  it('matches the recorded Alertmanager alert to probe-flag and renders its plan', async () => {
    const r = await loadCatalog('runbooks');
    if (!r.ok) throw new Error('shipped runbooks must load');
    // The alert of the recorded Alertmanager 0.25 body (shared/fixtures/alertmanager/alertmanager-0.25-firing.json).
    const a = {
      labels: { alertname: 'ProbeFlagHigh', instance: '127.0.0.1:39100', job: 'probe', runbook: 'restart-service', severity: 'critical' },
      annotations: { summary: 'probe_flag is 1 on 127.0.0.1:39100' },
      fingerprint: '3585a2431cd692f1',
    };
    const alert = { labels: labelSet(Object.entries(a.labels)), annotations: labelSet(Object.entries(a.annotations)), fingerprint: a.fingerprint };
    const matched = r.catalog.match(alert);
    expect(matched.map((x) => x.name)).toEqual(['probe-flag']);
    const probe = matched[0] as Runbook;
    const params = extractParams(probe, alert);
    expect(params).toEqual({ ok: true, params: { instance: '127.0.0.1' } });
    if (!params.ok) return;
    expect(renderTarget(probe, params.params)).toEqual({ ok: true, value: '127.0.0.1' });
    const plan = renderPlan(probe, { params: params.params, target: '127.0.0.1', pool: null, runId: 'R1', runUrl: 'http://x/runs/R1', alert });
    if (!plan.ok) throw new Error(plan.message);
    expect(plan.plan.tiers[0]?.steps.map((s) => s.argv?.[0])).toEqual(['uname', 'date', 'echo', 'printenv']);
    expect(plan.plan.tiers[0]?.steps[2]?.argv).toEqual(['echo', 'probe flag raised on 127.0.0.1 (run R1)']);
    // The probe must succeed on a bare machine: run each step for real with only the plan's environment and PATH.
    const env = { ...plan.plan.env, PATH: '/usr/local/bin:/usr/bin:/bin' };
    const outputs = (plan.plan.tiers[0]?.steps ?? []).map((s) => {
      const [program = '', ...args] = s.argv ?? [];
      return execFileSync(program, args, { env, encoding: 'utf8', timeout: s.timeoutMs });
    });
    expect(outputs[2]).toBe('probe flag raised on 127.0.0.1 (run R1)\n');
    expect(outputs[3]).toBe(`127.0.0.1\nProbeFlagHigh\n${a.fingerprint}\nR1\n`);
  });

  it('refuses a folder where two files name the same runbook, naming both files', async () => {
    const r = await loadCatalog(path.join(FIXTURES, 'duplicate'));
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.errors.map(formatIssue)).toEqual([
      `${FIXTURES}/duplicate/b.yaml:2:7: duplicate runbook name "same-name" (also in ${FIXTURES}/duplicate/a.yaml)`,
    ]);
  });

  it('refuses the whole folder when one file is bad, and reads .yml but not other files', async () => {
    const r = await loadCatalog(path.join(FIXTURES, 'mixed'));
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.errors.map(formatIssue)).toEqual([`${FIXTURES}/mixed/b-bad.yml:11:9: unknown key "retries"`]);
  });

  it('reports every bad file, not only the first', async () => {
    const r = await loadCatalog(path.join(FIXTURES, 'bad'));
    expect(r.ok).toBe(false);
    if (!r.ok) expect(new Set(r.errors.map((e) => e.file)).size).toBe(readdirSync(path.join(FIXTURES, 'bad')).length);
  });

  it('does not descend into sub-folders', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'catalog-'));
    writeFileSync(path.join(dir, 'a.yaml'), readFileSync(path.join(FIXTURES, 'good/minimal.yaml')));
    mkdirSync(path.join(dir, 'nested.yaml'));
    writeFileSync(path.join(dir, 'nested.yaml', 'b.yaml'), 'not: [valid');
    const r = await loadCatalog(dir);
    expect(r.ok && r.catalog.runbooks.map((x) => x.name)).toEqual(['minimal']);
  });

  it('reports a missing folder as an error', async () => {
    const r = await loadCatalog(path.join(FIXTURES, 'no-such-folder'));
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.errors[0]?.message).toMatch(/^cannot read runbooks folder/);
  });
});

describe('Catalog.match', () => {
  const catalog = createCatalog([
    rb('by-name', ['alertname = "A"']),
    rb('regex', ['alertname =~ "A|B"']),
    rb('by-name-critical', ['alertname = "A"', 'severity = "critical"']),
    rb('not-test', ['env != "test"']),
  ]);

  it.each<[Record<string, string>, string[]]>([
    [{ alertname: 'A', env: 'test' }, ['by-name', 'regex']],
    [{ alertname: 'A', severity: 'critical' }, ['by-name', 'regex', 'by-name-critical', 'not-test']],
    [{ alertname: 'B', env: 'prod' }, ['regex', 'not-test']],
    [{ alertname: 'AB', env: 'test' }, []],
    [{ env: 'test' }, []],
  ])('matches %j to %j in catalog order', (l, names) => {
    expect(catalog.match(labels(l)).map((x) => x.name)).toEqual(names);
  });

  it('finds runbooks by name and summarises them', () => {
    const found = catalog.get('regex');
    expect(found && runbookSummary(found)).toMatchObject({ name: 'regex', faultClass: 'test', mode: 'enforce', file: 'regex.yaml' });
    expect(catalog.get('nope')).toBeUndefined();
    expect(Object.isFrozen(catalog.runbooks)).toBe(true);
  });

  it('matches 10,000 alerts against 1,000 runbooks exactly as testing every matcher would (speed: npm run bench)', () => {
    const many: Runbook[] = [];
    for (let i = 0; i < 1000; i++) {
      many.push(i % 10 === 0 ? rb(`rx-${i}`, [`alertname =~ "Alert${i}|Other${i}"`, 'severity = "critical"']) : rb(`rb-${i}`, [`alertname = "Alert${i}"`, 'severity =~ "critical|page"']));
    }
    const alerts = Array.from({ length: 10_000 }, (_, i) => labels({ alertname: `Alert${i % 1500}`, severity: i % 2 ? 'critical' : 'warning', instance: `h${i}:9100` }));
    const big = createCatalog(many);
    for (const a of alerts) {
      const expected = many.filter((r) => r.matchers.every((m) => m.matches(a.labels))).map((r) => r.name);
      expect(big.match(a).map((r) => r.name)).toEqual(expected);
    }
    expect(alerts.reduce((n, a) => n + big.match(a).length, 0)).toBe(3500);
  });
});
